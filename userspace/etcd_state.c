/* etcd_state.c: the etcd state file's first line, written after each applied document and
 * read back at a start without etcd (etcd_state.h). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "etcd_state.h"

void etcd_src_state_header(char *line, size_t len, const char *key, int64_t rev)
{
	snprintf(line, len, "# hermes etcd state: key %s revision %" PRId64 "\n", key, rev);
}

int etcd_src_state_parse(const char *line, char *key, size_t keylen, int64_t *rev)
{
	static const char head[] = "# hermes etcd state: key ";
	const char *k = line + sizeof(head) - 1, *sp;
	char *end;

	if (strncmp(line, head, sizeof(head) - 1) || !(sp = strchr(k, ' ')) || strncmp(sp, " revision ", 10) ||
	    (size_t)(sp - k) >= keylen)
		return -EINVAL;
	/* digits only, as the header writes them: strtoll would skip white space (a
	 * newline, then read the document's next line), take a sign, and clamp an overflow */
	if (sp[10] < '0' || sp[10] > '9')
		return -EINVAL;
	errno = 0;
	*rev = strtoll(sp + 10, &end, 10);
	if (errno == ERANGE || (*end && *end != '\n'))
		return -EINVAL;
	memcpy(key, k, (size_t)(sp - k));
	key[sp - k] = 0;
	return 0;
}
