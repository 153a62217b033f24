/* cppcheck.h: macros cppcheck must know to parse Hermes (make lint passes it with
 * --include). cppcheck is not given the system headers (they would only slow it down),
 * so a library macro that changes the syntax around it (a declaration, a section
 * attribute) is spelt here as its header defines it, or as what it reduces to. */
#define DECLARE_LIBBPF_OPTS(TYPE, NAME, ...) struct TYPE NAME = { .sz = sizeof(struct TYPE), __VA_ARGS__ }
#define LIBBPF_OPTS(TYPE, NAME, ...) struct TYPE NAME = { .sz = sizeof(struct TYPE), __VA_ARGS__ }
#ifdef __BPF__
/* bpf_helpers.h */
#define SEC(name)
#define __uint(name, val) int(*name)[val]
#define __type(name, val) typeof(val) *name
#define __array(name, val) typeof(val) *name[]
#define __always_inline inline
#define __hidden
#endif
/* cppcheck does not read GNU statement expressions ({ ... }); code that uses one for
 * another analyzer's sake (tests/unit/check.h's ASSERT_TRUE) gives cppcheck a plain form
 * under this name (cppcheck defines __CPPCHECK__ only when given no -D). */
#define HERMES_CPPCHECK 1
