/* test_authz.c: tunnel_access (userspace/authz.c) on the targets the tunnel listener
 * must not reach by default: hermesd's own listeners and loopback, refused unless the
 * first matching rule allows them and names them; and the rules as before elsewhere. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "authz.h"
#include "check.h"
#include "config.h"
#include "http1.h"

static int load_yaml(const char *text, struct hermes_config *cfg)
{
	char path[64], err[512];
	size_t len = strlen(text);
	int fd = memfd_create("hermes-test-authz", MFD_CLOEXEC), ret;

	if (fd < 0 || write(fd, text, len) != (ssize_t)len)
		return -EIO;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	ret = config_load(path, cfg, err, sizeof(err));
	if (ret)
		fprintf(stderr, "  cannot load \"%s\": %s\n", text, err);
	close(fd);
	return ret;
}

/* tunnel_access for a CONNECT from 10.0.1.1 to IP:PORT under the file text. */
static int access_to(const char *yaml, const char *ip, unsigned port)
{
	static const char head[] = "CONNECT x HTTP/1.1\r\n\r\n";
	struct hermes_config cfg;
	struct hermes_addr peer = { .family = HERMES_FAMILY_V4 }, dst = { 0 };
	struct h1_request req;
	char why[96];
	int ret;

	if (load_yaml(yaml, &cfg) || h1_parse_request(head, sizeof(head) - 1, NULL, &req) <= 0)
		return 1;
	memcpy(peer.addr, "\x0a\x00\x01\x01", 4);
	dst.family = strchr(ip, ':') ? HERMES_FAMILY_V6 : HERMES_FAMILY_V4;
	inet_pton(dst.family == HERMES_FAMILY_V4 ? AF_INET : AF_INET6, ip, dst.addr);
	dst.port = htons((uint16_t)port);
	ret = tunnel_access(&cfg, &peer, &dst, &req, NULL, 0, why, sizeof(why));
	config_free(&cfg);
	return ret;
}

static bool test_self_and_loopback(void)
{
	static const char *const lst = "listeners: {tunnel: 10.0.0.1:15008, admin: 127.0.0.1:15000}\n";
	char y[512];
	bool ok = true;

	ok &= ASSERT_EQ(access_to(lst, "10.0.0.2", 80), 0, "no rules: another host served");
	ok &= ASSERT_EQ(access_to(lst, "10.0.0.1", 15008), AUTHZ_SELF, "its own tunnel listener");
	ok &= ASSERT_EQ(access_to(lst, "10.0.0.1", 80), 0, "its host's other ports are not its listeners");
	ok &= ASSERT_EQ(access_to(lst, "127.0.0.1", 15000), AUTHZ_SELF, "its admin port");
	ok &= ASSERT_EQ(access_to(lst, "127.0.0.5", 8080), AUTHZ_LOOPBACK, "127.0.0.0/8");
	ok &= ASSERT_EQ(access_to(lst, "0.0.0.0", 80), AUTHZ_LOOPBACK, "0.0.0.0");
	ok &= ASSERT_EQ(access_to(lst, "::1", 80), AUTHZ_LOOPBACK, "::1");
	ok &= ASSERT_EQ(access_to(lst, "::", 80), AUTHZ_LOOPBACK, "::");
	ok &= ASSERT_EQ(access_to("listeners: {tunnel: \"[::]:15008\"}\n", "127.0.0.1", 15008), AUTHZ_SELF,
			"a wildcard listener through loopback");
	snprintf(y, sizeof(y), "%stunnel_access: [{match: 0.0.0.0/0, action: allow}]\n", lst);
	ok &= ASSERT_EQ(access_to(y, "127.0.0.1", 15000), AUTHZ_SELF, "a catch-all allow does not name a listener");
	ok &= ASSERT_EQ(access_to(y, "127.0.0.5", 8080), AUTHZ_LOOPBACK, "nor loopback");
	ok &= ASSERT_EQ(access_to(y, "10.0.0.2", 80), 0, "it allows the rest");
	snprintf(y, sizeof(y), "%stunnel_access: [{match: 10.0.0.1/32:15008, action: allow}, "
		 "{match: 127.0.0.0/8, action: allow}]\n", lst);
	ok &= ASSERT_EQ(access_to(y, "10.0.0.1", 15008), 0, "a rule naming the listener's port allows it");
	ok &= ASSERT_EQ(access_to(y, "127.0.0.5", 8080), 0, "a rule naming loopback allows it");
	ok &= ASSERT_EQ(access_to(y, "127.0.0.1", 15000), AUTHZ_SELF, "a listener on loopback needs its port named");
	ok &= ASSERT_EQ(access_to(y, "10.0.0.2", 80), -EACCES, "no rule for the rest: denied as before");
	snprintf(y, sizeof(y), "%stunnel_access: [{match: 127.0.0.0/8, action: deny}]\n", lst);
	ok &= ASSERT_EQ(access_to(y, "127.0.0.5", 8080), AUTHZ_LOOPBACK, "a deny rule refuses it too");
	return ok;
}

int main(void)
{
	RUN(test_self_and_loopback);
	return check_summary("test_authz");
}
