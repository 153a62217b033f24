/* test_relay.c: unit tests (no root) for userspace/relay.c, the relay between a flow's
 * two endpoints, driven with fake endpoints: bytes go both ways, prepended bytes go
 * first, a direction's end is forwarded only after its last byte was sent (also when
 * sends are partial and bytes keep arriving), each direction ends on its own, the flow
 * is done once both have and not before, and a failure ends it once with the side that
 * failed. The fake endpoint, like the real ones, never calls back from inside an op:
 * its "completions" run when the test pumps them, as the loop would. Exit 0 when every
 * check passes, 1 otherwise. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "ep.h"
#include "relay.h"

struct fake {
	struct ep e;
	char in[4096];              /* received, not passed on: in[in_off..in_len) */
	size_t in_off, in_len;
	char out[4096];             /* what was sent to it */
	size_t out_len;
	size_t chunk;               /* a send takes at most this much (0: all) */
	bool send_done_pending;     /* a send completed: the loop reports it */
	bool fin_pending;           /* shutdown asked for: the loop completes it */
	size_t out_len_at_shut;     /* bytes sent when the write side ended */
	int shutdowns;
	bool started;
};

#define FK(e) ((struct fake *)(void *)(e))

static int fk_start(struct ep *e)
{
	FK(e)->started = true;
	return 0;
}

static void fk_peek(const struct ep *e, const uint8_t **p, size_t *n)
{
	*p = (const uint8_t *)FK(e)->in + FK(e)->in_off;
	*n = FK(e)->in_len - FK(e)->in_off;
}

static size_t fk_avail(const struct ep *e)
{
	return FK(e)->in_len - FK(e)->in_off;
}

static void fk_consume(struct ep *e, size_t n)
{
	FK(e)->in_off += n;
}

/* A send: takes what the source has (at most chunk), completes later. */
static void fk_kick(struct ep *e)
{
	struct fake *f = FK(e);
	const uint8_t *p;
	size_t n;

	if (f->send_done_pending || !f->started)
		return;
	ep_peek(e->src, &p, &n);
	if (!n)
		return;
	if (f->chunk && n > f->chunk)
		n = f->chunk;
	memcpy(f->out + f->out_len, p, n);
	f->out_len += n;
	ep_consume(e->src, n);
	f->send_done_pending = true;
}

static void fk_shutdown(struct ep *e)
{
	FK(e)->shutdowns++;
	FK(e)->fin_pending = true;
}

static void fk_close(struct ep *e, enum ep_end how, bool orphan)
{
	(void)e;
	(void)how;
	(void)orphan;
}

static bool fk_busy(const struct ep *e)
{
	(void)e;
	return false;
}

static void fk_free(struct ep *e)
{
	ep_release(e);
}

static int fk_sock(const struct ep *e)
{
	(void)e;
	return -1;
}

static const struct ep_ops fake_ops = {
	.kind = "fake", .start = fk_start, .peek = fk_peek, .avail = fk_avail, .consume = fk_consume,
	.kick = fk_kick, .shutdown = fk_shutdown, .close = fk_close, .busy = fk_busy, .free = fk_free,
	.sock = fk_sock,
};

/* The owner: passes what the endpoints say on to the relay, as conn.c does. */
static struct relay *the_relay;
static int n_done, n_failed, failed_side, failed_err;

static void own_data(struct ep *e)
{
	relay_data(the_relay, e);
}

static void own_drained(struct ep *e)
{
	relay_drained(the_relay, e);
}

static void own_error(struct ep *e, int err)
{
	relay_error(the_relay, e, err);
}

static void own_up(struct ep *e)
{
	(void)e;
}

static const struct ep_owner_ops owner = {
	.up = own_up, .data = own_data, .drained = own_drained, .error = own_error,
};

static void on_done(struct relay *r)
{
	(void)r;
	n_done++;
}

static void on_failed(struct relay *r, int side, int err)
{
	(void)r;
	n_failed++;
	failed_side = side;
	failed_err = err;
}

static const struct relay_owner_ops relay_owner = { .done = on_done, .failed = on_failed };

static struct fake A, B;
static struct relay R;

static void setup(size_t chunk_a, size_t chunk_b)
{
	memset(&A, 0, sizeof(A));
	memset(&B, 0, sizeof(B));
	memset(&R, 0, sizeof(R));
	ep_init(&A.e, &fake_ops, &owner, NULL, 0);
	ep_init(&B.e, &fake_ops, &owner, NULL, 1);
	A.chunk = chunk_a;
	B.chunk = chunk_b;
	R.ep[0] = &A.e;
	R.ep[1] = &B.e;
	R.own = &relay_owner;
	the_relay = &R;
	n_done = n_failed = failed_side = failed_err = 0;
}

/* Bytes arrive on f (a recv completed). */
static void arrive(struct fake *f, const char *s)
{
	memcpy(f->in + f->in_len, s, strlen(s));
	f->in_len += strlen(s);
	f->e.bytes += strlen(s);
	ep_data(&f->e);
}

static void arrive_eof(struct fake *f)
{
	f->e.eof = true;
	ep_data(&f->e);
}

/* Runs the pending completions until none is left, as the loop does between waits. */
static void pump(void)
{
	for (int guard = 0; guard < 10000; guard++) {
		struct fake *f = A.send_done_pending || A.fin_pending ? &A : B.send_done_pending || B.fin_pending ? &B : NULL;

		if (!f)
			return;
		if (f->send_done_pending) {
			f->send_done_pending = false;
			fk_kick(&f->e); /* a socket sends the next run at once */
			ep_drained(&f->e);
		} else {
			f->fin_pending = false;
			f->e.shut = true;
			f->out_len_at_shut = f->out_len;
			ep_drained(&f->e);
		}
	}
}

static bool out_is(const struct fake *f, const char *want)
{
	return f->out_len == strlen(want) && !memcmp(f->out, want, f->out_len);
}

static bool test_both_ways_prepended_first(void)
{
	char *pre = malloc(16);

	setup(0, 0);
	memcpy(pre, "xxHEAD-", 7);
	ep_prepend(&A.e, pre, 2, 5); /* "HEAD-": read with a tunnel's head */
	memcpy(A.in, "hello", 5);
	A.in_len = 5;
	ASSERT_EQ(relay_start(&R), 0, "relay_start(&R)");
	arrive(&B, "world");
	pump();
	ASSERT_TRUE(out_is(&B, "HEAD-hello"), "held");
	ASSERT_TRUE(out_is(&A, "world"), "held");
	ASSERT_EQ(A.e.bytes, 5, "A.e.bytes");  /* the prepended bytes count as received */
	ASSERT_TRUE(!(A.e.shut || B.e.shut), "held");
	ASSERT_EQ(n_done, 0, "n_done");
	ep_release(&A.e);
	return true;
}

static bool test_end_after_last_byte(void)
{
	setup(0, 3); /* B takes 3 bytes per send */
	ASSERT_EQ(relay_start(&R), 0, "relay_start(&R)");
	arrive(&A, "0123456789");
	arrive_eof(&A);
	/* nothing went out yet beyond the first send: no end either */
	ASSERT_EQ(B.shutdowns, 0, "B.shutdowns");
	pump();
	ASSERT_TRUE(out_is(&B, "0123456789"), "held");
	ASSERT_EQ(B.shutdowns, 1, "B.shutdowns");
	ASSERT_EQ(B.out_len_at_shut, 10, "B.out_len_at_shut");
	ASSERT_TRUE(B.e.shut, "held");
	/* the other direction is still open */
	ASSERT_TRUE(!(A.e.shut), "held");
	ASSERT_EQ(n_done, 0, "n_done");
	arrive(&B, "late reply");
	pump();
	ASSERT_TRUE(out_is(&A, "late reply"), "held");
	ASSERT_EQ(n_done, 0, "n_done");
	arrive_eof(&B);
	pump();
	ASSERT_TRUE(A.e.shut, "held");
	ASSERT_EQ(A.out_len_at_shut, 10, "A.out_len_at_shut");
	ASSERT_EQ(n_done, 1, "n_done");
	ASSERT_EQ(A.shutdowns, 1, "A.shutdowns");
	ASSERT_EQ(B.shutdowns, 1, "B.shutdowns");
	return true;
}

static bool test_bytes_arriving_while_ending(void)
{
	setup(4, 4);
	ASSERT_EQ(relay_start(&R), 0, "relay_start(&R)");
	arrive(&A, "abcdef");
	/* the send of "abcd" is in flight; more comes, then the end */
	arrive(&A, "ghij");
	arrive_eof(&A);
	ASSERT_EQ(B.shutdowns, 0, "B.shutdowns");
	pump();
	ASSERT_TRUE(out_is(&B, "abcdefghij"), "held");
	ASSERT_EQ(B.out_len_at_shut, 10, "B.out_len_at_shut");
	ASSERT_EQ(B.shutdowns, 1, "B.shutdowns");
	return true;
}

static bool test_empty_end_both_ways(void)
{
	setup(0, 0);
	ASSERT_EQ(relay_start(&R), 0, "relay_start(&R)");
	arrive_eof(&B);
	pump();
	ASSERT_TRUE(A.e.shut, "held");
	ASSERT_TRUE(!(B.e.shut), "held");
	ASSERT_EQ(n_done, 0, "n_done");
	arrive_eof(&A);
	pump();
	ASSERT_TRUE(B.e.shut, "held");
	ASSERT_EQ(n_done, 1, "n_done");
	return true;
}

static bool test_failure_ends_once(void)
{
	setup(0, 0);
	ASSERT_EQ(relay_start(&R), 0, "relay_start(&R)");
	arrive(&A, "data");
	ep_error(&B.e, -ECONNRESET);
	ASSERT_EQ(n_failed, 1, "n_failed");
	ASSERT_EQ(failed_side, 1, "failed_side");
	ASSERT_EQ(failed_err, -ECONNRESET, "failed_err");
	/* whatever completes afterwards is not the relay's any more */
	arrive_eof(&A);
	pump();
	ep_error(&A.e, -EPIPE);
	ASSERT_EQ(n_failed, 1, "n_failed");
	ASSERT_EQ(n_done, 0, "n_done");
	ASSERT_EQ(B.shutdowns, 0, "B.shutdowns");
	return true;
}

static bool test_closed_endpoint_is_silent(void)
{
	setup(0, 0);
	ASSERT_EQ(relay_start(&R), 0, "relay_start(&R)");
	A.e.closed = true; /* the owner let go: no callback reaches it */
	arrive(&A, "x");
	ASSERT_EQ(B.out_len, 0, "B.out_len");
	return true;
}

int main(void)
{
	RUN(test_both_ways_prepended_first);
	RUN(test_end_after_last_byte);
	RUN(test_bytes_arriving_while_ending);
	RUN(test_empty_end_both_ways);
	RUN(test_failure_ends_once);
	RUN(test_closed_endpoint_is_silent);
	return check_summary("test_relay");
}
