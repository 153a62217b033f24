/* wandelay.c: TEST-ONLY delay line, a wide-area link between two test network namespaces for
 * the tests and the benchmarks. This kernel has neither netem nor fq, so the link is made in
 * user space: one TUN device in each namespace (it is the hosts' link), and this process
 * moving every IP packet from one to the other after a fixed one-way delay, with optional
 * random loss (seeded) and a rate limit (token bucket) per direction. Packets keep their
 * order (one FIFO per direction: every packet waits the same delay, and the rate limit
 * only ever holds the ones behind it), so one timerfd armed at the earliest due packet is
 * all the scheduling there is. Memory is bounded: a ring of --limit slots of MTU bytes per
 * direction, touched only as it fills. Counters (packets, bytes, drops by cause, how late
 * packets left) go to stdout on SIGUSR1 and on exit. tests/lib/common.sh's wan_up runs it;
 * see its --help. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <linux/if_tun.h>

#define MAX_MTU 65535
/* lateness histogram: 10 µs buckets up to 20 ms, the last one "20 ms or more" */
#define LATE_BUCKET_NS 10000ull
#define LATE_BUCKETS 2001
/* reads per device per loop turn: the other direction and the timer get their turn */
#define READ_BATCH 64

static const char usage_text[] =
	"Usage: wandelay [OPTIONS] NETNS_A NETNS_B\n"
	"\n"
	"TEST-ONLY delay line: a wide-area link between two test network namespaces. It creates\n"
	"a TUN device (--dev, default wan0) in NETNS_A and in NETNS_B, sets their MTU and brings\n"
	"them up, then carries every IP packet written to one out of the other after a fixed\n"
	"one-way delay, with optional random loss and a rate limit, in each direction. The\n"
	"devices go away when wandelay exits. Addresses and routes are the caller's (ip addr add\n"
	"... dev wan0 in each namespace: point-to-point, no ARP or neighbour discovery).\n"
	"tests/lib/common.sh's wan_up does all of that for the test topology.\n"
	"\n"
	"NETNS is the name of a network namespace under /run/netns (as `ip netns add` makes).\n"
	"wandelay refuses init's network namespace.\n"
	"\n"
	"Where an option takes X[,Y], X applies to the direction A->B and Y to B->A; a single\n"
	"value applies to both.\n"
	"\n"
	"Options:\n"
	"  -d, --delay MS[,MS]    one-way delay in milliseconds (decimals allowed: 0.25), added to\n"
	"                         every packet; default 0\n"
	"  -R, --rtt MS           the same as --delay MS/2 both ways (a ping then takes MS plus\n"
	"                         the base round trip)\n"
	"  -l, --loss PCT[,PCT]   drop this percentage of the packets at random (0-100, decimals\n"
	"                         allowed), independently in each direction; default 0\n"
	"  -r, --rate RATE[,RATE] rate limit: packets leave at most at RATE, as through a link of\n"
	"                         that speed (a token bucket filled at RATE, --burst deep), then\n"
	"                         wait the delay. RATE is bytes per second with an optional k, M\n"
	"                         or G (x1000) and an optional unit B (bytes, the default) or bit:\n"
	"                         12.5M, 100Mbit and 12500000 are the same. 0 (the default): none\n"
	"  -b, --burst BYTES      depth of the token bucket: how much may leave at once after an\n"
	"                         idle time; default the larger of 1 ms at the rate and 2 packets\n"
	"                         of --mtu\n"
	"  -q, --queue PKTS       packets that may wait for the rate limit (the bottleneck's\n"
	"                         buffer); one more is dropped and counted as drop_queue;\n"
	"                         default 1000\n"
	"  -L, --limit PKTS       packets held per direction in all (in flight for the delay and\n"
	"                         waiting for the rate), the memory bound: limit x mtu bytes per\n"
	"                         direction at most; one more is dropped and counted as\n"
	"                         drop_limit; default 16384 (enough for 1 Gbit/s at 100 ms RTT\n"
	"                         with a 1500-byte MTU)\n"
	"  -s, --seed N           seed of the loss draws (the same seed and traffic drop the same\n"
	"                         packets); default 1\n"
	"      --dev NAME         name of the TUN device in both namespaces; default wan0\n"
	"  -m, --mtu BYTES        MTU of both TUN devices (576-65535); default 1500, as a veth's\n"
	"      --txqueuelen PKTS  transmit queue length of the TUN devices (packets the kernel\n"
	"                         holds for wandelay to read before it drops); default 5000\n"
	"      --rt-prio N        run with SCHED_FIFO priority N (1-99) so that packets leave on\n"
	"                         time on a busy machine (where that is not allowed, it says so\n"
	"                         and goes on without); default 0 (the normal scheduler)\n"
	"  -h, --help             this text\n"
	"\n"
	"Output (stdout, one line each):\n"
	"  wandelay: ready a=NETNS_A:DEV b=NETNS_B:DEV ...   once both devices are up\n"
	"  wandelay: stats DIR rx_packets= rx_bytes= tx_packets= tx_bytes= drop_loss= drop_queue=\n"
	"            drop_limit= drop_oversize= drop_write= held= late_avg_us= late_p99_us=\n"
	"            late_max_us=\n"
	"      one line per direction (DIR a->b or b->a) on SIGUSR1; on exit (SIGTERM, SIGINT,\n"
	"      SIGHUP) the same with \"final\" in place of \"stats\". rx counts what was read\n"
	"      from the sending side, tx what was written to the other; held is what is still\n"
	"      queued (on exit: dropped). A packet is drawn for loss before the rate limit (a\n"
	"      lost packet takes no tokens).\n"
	"      late_* is how long after its due time a packet was written (the precision of the\n"
	"      delay; the p99 to 10 us).\n"
	"\n"
	"What it does not do: no jitter, reordering, duplication or corruption; no AQM or ECN\n"
	"marking (a full queue drops the newest packet); IP only (a TUN device carries no\n"
	"Ethernet frames). The TUN devices take one packet per read, at most the MTU, since\n"
	"they offer the kernel no segmentation offload: TCP's large segments are cut to the MTU\n"
	"before they reach wandelay.\n"
	"\n"
	"Example:\n"
	"  ip netns add a; ip netns add b\n"
	"  wandelay --rtt 50 --loss 1 --rate 100Mbit a b > wan.log &\n"
	"  ip -n a addr add 10.9.0.1/24 dev wan0; ip -n b addr add 10.9.0.2/24 dev wan0\n"
	"  ip netns exec a ping -c 3 10.9.0.2         # about 50 ms\n"
	"  kill -USR1 %1; kill %1; cat wan.log        # counters; the devices go with it\n"
	"\n"
	"Exit status: 0 after a signal, 1 on a setup or run-time error (the message names it),\n"
	"2 on a usage error.\n";

struct slot {
	uint64_t due_ns; /* when it is written out */
	uint64_t depart_ns; /* when it left the rate limit (arrival when there is none) */
	uint32_t len;
};

struct dir {
	const char *name;
	int in_fd, out_fd;
	/* configuration */
	uint64_t delay_ns;
	double loss; /* probability */
	double rate; /* bytes/s, 0: none */
	double burst; /* bytes */
	/* token bucket: tb_tokens at tb_ns (the last departure) */
	double tb_tokens;
	uint64_t tb_ns;
	uint64_t rng;
	/* the FIFO: sequence numbers, slot = seq % limit; rhead: first that may still wait
	 * for the rate limit (lazily advanced) */
	struct slot *q;
	unsigned char *data;
	uint64_t head, tail, rhead;
	/* counters */
	uint64_t rx_pkts, rx_bytes, tx_pkts, tx_bytes;
	uint64_t drop_loss, drop_queue, drop_limit, drop_oversize, drop_write;
	uint64_t late_sum_ns, late_max_ns;
	uint64_t late_hist[LATE_BUCKETS];
};

static struct {
	uint32_t limit, queue, mtu, txqlen;
	int rt_prio;
	uint64_t seed;
	const char *dev;
} cfg = { .limit = 16384, .queue = 1000, .mtu = 1500, .txqlen = 5000, .seed = 1, .dev = "wan0" };

static unsigned char scratch[MAX_MTU + 1];

/* (no libm: the generic tests/bin link rule links none) */
static double dmin(double a, double b)
{
	return a < b ? a : b;
}

static double dmax(double a, double b)
{
	return a > b ? a : b;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* splitmix64: small, fast and good enough for loss draws; seeded per direction */
static uint64_t next_rand(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static int usage_error(const char *fmt, const char *arg)
{
	fprintf(stderr, "wandelay: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\n(wandelay --help for the options)\n");
	return 2;
}

/* A non-negative decimal number, all of s (with an optional suffix accepted by the caller
 * through *end); -1 when it is not one. */
static double parse_num(const char *s, char **end)
{
	double v;

	errno = 0;
	v = strtod(s, end);
	if (errno || *end == s || !(v >= 0 && v <= 1e18))
		return -1;
	return v;
}

/* "X" or "X,Y" into two strings (each at most 63 characters) */
static int split_pair(const char *arg, char a[64], char b[64])
{
	const char *comma = strchr(arg, ',');
	size_t n = comma ? (size_t)(comma - arg) : strlen(arg);

	if (n == 0 || n >= 64 || (comma && (strlen(comma + 1) == 0 || strlen(comma + 1) >= 64)))
		return -1;
	memcpy(a, arg, n);
	a[n] = 0;
	snprintf(b, 64, "%s", comma ? comma + 1 : a);
	return 0;
}

static double parse_ms(const char *s)
{
	char *end;
	double v = parse_num(s, &end);

	return *end || v > 3600000 ? -1 : v;
}

static double parse_pct(const char *s)
{
	char *end;
	double v = parse_num(s, &end);

	return *end || v > 100 ? -1 : v;
}

/* RATE: bytes/s with an optional k, M, G and an optional B or bit */
static double parse_rate(const char *s)
{
	char *end;
	double v = parse_num(s, &end);

	if (v < 0)
		return -1;
	switch (*end) {
	case 'k': case 'K': v *= 1e3; end++; break;
	case 'M': v *= 1e6; end++; break;
	case 'G': v *= 1e9; end++; break;
	}
	if (!strcmp(end, "bit"))
		v /= 8;
	else if (*end && strcmp(end, "B"))
		return -1;
	return v;
}

static long parse_int(const char *s, long min, long max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max)
		return -1;
	return v;
}

/* init's network namespace has this inode on kernels that number it fixed (6.18 does;
 * older ones are caught by comparing with PID 1's, which some sandboxes do not let root
 * read) */
#define INIT_NET_INO 0xEFFFFFF9ull

/* /run/netns/NETNS (a name as `ip netns add` makes), opened; refuses init's namespace,
 * where test devices must never go. */
static int open_netns(const char *netns)
{
	char path[PATH_MAX];
	struct stat st, init;
	int fd;

	if (!*netns || strchr(netns, '/') || !strcmp(netns, ".") || !strcmp(netns, "..")) {
		fprintf(stderr, "wandelay: %s: expected the name of a network namespace under /run/netns\n", netns);
		return -1;
	}
	snprintf(path, sizeof(path), "/run/netns/%s", netns);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "wandelay: network namespace %s: %s (make it with ip netns add %s)\n", path,
			strerror(errno), netns);
		return -1;
	}
	if (fstat(fd, &st) || st.st_ino == INIT_NET_INO ||
	    (!stat("/proc/1/ns/net", &init) && st.st_ino == init.st_ino && st.st_dev == init.st_dev)) {
		fprintf(stderr, "wandelay: %s is the root network namespace: refusing to put test devices there\n",
			path);
		close(fd);
		return -1;
	}
	return fd;
}

/* Entered NETNS, make the TUN device there, set its MTU and queue length, bring it up,
 * come back to HOME. The fd (non-blocking), or -1. */
static int make_tun(const char *netns, int home)
{
	struct ifreq ifr = {};
	int nsfd, fd = -1, s = -1;

	nsfd = open_netns(netns);
	if (nsfd < 0)
		return -1;
	if (setns(nsfd, CLONE_NEWNET)) {
		fprintf(stderr, "wandelay: cannot enter network namespace %s: %s (run as root)\n", netns,
			strerror(errno));
		close(nsfd);
		return -1;
	}
	close(nsfd);
	fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "wandelay: /dev/net/tun: %s (modprobe tun)\n", strerror(errno));
		goto fail;
	}
	/* no IFF_VNET_HDR: the device then offers no segmentation offload, and every read is
	 * one IP packet of at most the MTU */
	ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", cfg.dev);
	if (ioctl(fd, TUNSETIFF, &ifr)) {
		fprintf(stderr, "wandelay: cannot create TUN device %s in %s: %s%s\n", cfg.dev, netns, strerror(errno),
			errno == EBUSY || errno == EINVAL ? " (is another wandelay or device using the name?)" : "");
		goto fail;
	}
	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0) {
		fprintf(stderr, "wandelay: socket in %s: %s\n", netns, strerror(errno));
		goto fail;
	}
	ifr.ifr_mtu = (int)cfg.mtu;
	if (ioctl(s, SIOCSIFMTU, &ifr)) {
		fprintf(stderr, "wandelay: cannot set the MTU of %s in %s to %u: %s\n", cfg.dev, netns, cfg.mtu,
			strerror(errno));
		goto fail;
	}
	ifr.ifr_qlen = (int)cfg.txqlen;
	if (ioctl(s, SIOCSIFTXQLEN, &ifr)) {
		fprintf(stderr, "wandelay: cannot set the queue length of %s in %s: %s\n", cfg.dev, netns,
			strerror(errno));
		goto fail;
	}
	if (ioctl(s, SIOCGIFFLAGS, &ifr) == 0) {
		ifr.ifr_flags |= IFF_UP;
		if (ioctl(s, SIOCSIFFLAGS, &ifr) == 0)
			goto done;
	}
	fprintf(stderr, "wandelay: cannot bring %s up in %s: %s\n", cfg.dev, netns, strerror(errno));
fail:
	if (fd >= 0)
		close(fd);
	fd = -1;
done:
	if (s >= 0)
		close(s);
	if (setns(home, CLONE_NEWNET)) {
		fprintf(stderr, "wandelay: cannot return to the starting network namespace: %s\n", strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

static int dir_init(struct dir *d, const char *name, int in_fd, int out_fd, uint64_t salt)
{
	d->name = name;
	d->in_fd = in_fd;
	d->out_fd = out_fd;
	d->rng = cfg.seed ^ salt;
	if (d->rate > 0 && d->burst <= 0)
		d->burst = dmax(d->rate / 1000, 2.0 * cfg.mtu);
	d->tb_tokens = d->burst;
	d->q = calloc(cfg.limit, sizeof(*d->q));
	/* untouched pages cost nothing: the ring's memory grows with what is held */
	d->data = mmap(NULL, (size_t)cfg.limit * cfg.mtu, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
		       -1, 0);
	if (!d->q || d->data == MAP_FAILED) {
		fprintf(stderr, "wandelay: cannot allocate a queue of %u packets of %u bytes: %s (lower --limit)\n",
			cfg.limit, cfg.mtu, strerror(errno));
		return -1;
	}
	return 0;
}

/* Read what the sending side has (up to READ_BATCH packets) and queue it with its due time. */
static int pump_in(struct dir *d)
{
	for (int i = 0; i < READ_BATCH; i++) {
		bool full = d->tail - d->head >= cfg.limit;
		size_t idx = (size_t)(d->tail % cfg.limit);
		unsigned char *buf = d->data + idx * cfg.mtu;
		struct iovec iov[2] = { { buf, cfg.mtu }, { scratch, sizeof(scratch) } };
		struct slot *s = &d->q[idx];
		uint64_t t, depart;
		ssize_t n;

		n = full ? readv(d->in_fd, &iov[1], 1) : readv(d->in_fd, iov, 2);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return 0;
			fprintf(stderr, "wandelay: %s: read: %s\n", d->name, strerror(errno));
			return -1;
		}
		t = now_ns();
		d->rx_pkts++;
		d->rx_bytes += (uint64_t)n;
		if (full) {
			d->drop_limit++;
			continue;
		}
		if ((size_t)n > cfg.mtu) {
			d->drop_oversize++;
			continue;
		}
		if (d->loss > 0 && (double)(next_rand(&d->rng) >> 11) * 0x1.0p-53 < d->loss) {
			d->drop_loss++;
			continue;
		}
		depart = t;
		if (d->rate > 0) {
			uint64_t start = t > d->tb_ns ? t : d->tb_ns;
			double tokens = dmin(d->burst, d->tb_tokens + (double)(start - d->tb_ns) * 1e-9 * d->rate);

			if (d->rhead < d->head)
				d->rhead = d->head;
			while (d->rhead < d->tail && d->q[d->rhead % cfg.limit].depart_ns <= t)
				d->rhead++;
			if (d->tail - d->rhead >= cfg.queue) {
				d->drop_queue++;
				continue;
			}
			depart = start;
			if (tokens >= (double)n) {
				tokens -= (double)n;
			} else {
				depart += (uint64_t)(((double)n - tokens) / d->rate * 1e9) + 1;
				tokens = 0;
			}
			d->tb_ns = depart;
			d->tb_tokens = tokens;
		}
		s->depart_ns = depart;
		s->due_ns = depart + d->delay_ns;
		s->len = (uint32_t)n;
		d->tail++;
	}
	return 0;
}

/* Write out every packet that is due. */
static void flush(struct dir *d)
{
	while (d->head < d->tail) {
		size_t idx = (size_t)(d->head % cfg.limit);
		struct slot *s = &d->q[idx];
		uint64_t t = now_ns(), late;

		if (s->due_ns > t)
			return;
		if (write(d->out_fd, d->data + idx * cfg.mtu, s->len) == (ssize_t)s->len) {
			d->tx_pkts++;
			d->tx_bytes += s->len;
		} else {
			d->drop_write++;
		}
		late = t - s->due_ns;
		d->late_sum_ns += late;
		if (late > d->late_max_ns)
			d->late_max_ns = late;
		d->late_hist[late / LATE_BUCKET_NS < LATE_BUCKETS - 1 ? late / LATE_BUCKET_NS : LATE_BUCKETS - 1]++;
		d->head++;
	}
}

static void print_stats(const struct dir *d, const char *when)
{
	uint64_t sent = 0, seen = 0, p99 = 0;

	for (int i = 0; i < LATE_BUCKETS; i++)
		sent += d->late_hist[i];
	for (int i = 0; i < LATE_BUCKETS && sent; i++) {
		seen += d->late_hist[i];
		if (seen * 100 >= sent * 99) {
			p99 = (uint64_t)(i + 1) * LATE_BUCKET_NS;
			break;
		}
	}
	printf("wandelay: %s%s rx_packets=%llu rx_bytes=%llu tx_packets=%llu tx_bytes=%llu drop_loss=%llu"
	       " drop_queue=%llu drop_limit=%llu drop_oversize=%llu drop_write=%llu held=%llu late_avg_us=%.1f"
	       " late_p99_us=%llu late_max_us=%.1f\n",
	       when, d->name, (unsigned long long)d->rx_pkts, (unsigned long long)d->rx_bytes,
	       (unsigned long long)d->tx_pkts, (unsigned long long)d->tx_bytes, (unsigned long long)d->drop_loss,
	       (unsigned long long)d->drop_queue, (unsigned long long)d->drop_limit,
	       (unsigned long long)d->drop_oversize, (unsigned long long)d->drop_write,
	       (unsigned long long)(d->tail - d->head), sent ? (double)d->late_sum_ns / (double)sent / 1e3 : 0.0,
	       (unsigned long long)(p99 / 1000), (double)d->late_max_ns / 1e3);
	fflush(stdout);
}

/* Arm the timer for the earliest due packet of either direction (or disarm it). */
static int arm(int tfd, struct dir *dirs)
{
	struct itimerspec its = {};
	uint64_t next = UINT64_MAX;

	for (int i = 0; i < 2; i++)
		if (dirs[i].head < dirs[i].tail && dirs[i].q[dirs[i].head % cfg.limit].due_ns < next)
			next = dirs[i].q[dirs[i].head % cfg.limit].due_ns;
	if (next != UINT64_MAX) {
		/* 0 would disarm it */
		next = next ? next : 1;
		its.it_value.tv_sec = (time_t)(next / 1000000000ull);
		its.it_value.tv_nsec = (long)(next % 1000000000ull);
	}
	if (timerfd_settime(tfd, TFD_TIMER_ABSTIME, &its, NULL)) {
		fprintf(stderr, "wandelay: timerfd_settime: %s\n", strerror(errno));
		return -1;
	}
	return 0;
}

static int parse_args(int argc, char **argv, struct dir *dirs, const char **ns)
{
	static const struct option opts[] = {
		{ "delay", required_argument, NULL, 'd' }, { "rtt", required_argument, NULL, 'R' },
		{ "loss", required_argument, NULL, 'l' },  { "rate", required_argument, NULL, 'r' },
		{ "burst", required_argument, NULL, 'b' }, { "queue", required_argument, NULL, 'q' },
		{ "limit", required_argument, NULL, 'L' }, { "seed", required_argument, NULL, 's' },
		{ "dev", required_argument, NULL, 'D' },   { "mtu", required_argument, NULL, 'm' },
		{ "txqueuelen", required_argument, NULL, 'T' }, { "rt-prio", required_argument, NULL, 'P' },
		{ "help", no_argument, NULL, 'h' },        { NULL, 0, NULL, 0 },
	};
	char a[64], b[64];
	double x, y;
	long v;
	int c;

	while ((c = getopt_long(argc, argv, "d:R:l:r:b:q:L:s:m:h", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			if (split_pair(optarg, a, b) || (x = parse_ms(a)) < 0 || (y = parse_ms(b)) < 0)
				return usage_error("--delay %s: expected MS or MS,MS (milliseconds, 0 to 3600000)", optarg);
			dirs[0].delay_ns = (uint64_t)(x * 1e6 + 0.5);
			dirs[1].delay_ns = (uint64_t)(y * 1e6 + 0.5);
			break;
		case 'R':
			if ((x = parse_ms(optarg)) < 0)
				return usage_error("--rtt %s: expected milliseconds (0 to 3600000)", optarg);
			dirs[0].delay_ns = dirs[1].delay_ns = (uint64_t)(x * 1e6 / 2 + 0.5);
			break;
		case 'l':
			if (split_pair(optarg, a, b) || (x = parse_pct(a)) < 0 || (y = parse_pct(b)) < 0)
				return usage_error("--loss %s: expected PCT or PCT,PCT (0 to 100)", optarg);
			dirs[0].loss = x / 100;
			dirs[1].loss = y / 100;
			break;
		case 'r':
			if (split_pair(optarg, a, b) || (x = parse_rate(a)) < 0 || (y = parse_rate(b)) < 0)
				return usage_error("--rate %s: expected RATE or RATE,RATE (bytes/s, e.g. 12.5M or 100Mbit; 0: none)",
						   optarg);
			dirs[0].rate = x;
			dirs[1].rate = y;
			break;
		case 'b':
			if ((v = parse_int(optarg, 1, INT_MAX)) < 0)
				return usage_error("--burst %s: expected a number of bytes (1 or more)", optarg);
			dirs[0].burst = dirs[1].burst = (double)v;
			break;
		case 'q':
			if ((v = parse_int(optarg, 1, 1 << 24)) < 0)
				return usage_error("--queue %s: expected a number of packets (1 to 16777216)", optarg);
			cfg.queue = (uint32_t)v;
			break;
		case 'L':
			if ((v = parse_int(optarg, 1, 1 << 22)) < 0)
				return usage_error("--limit %s: expected a number of packets (1 to 4194304)", optarg);
			cfg.limit = (uint32_t)v;
			break;
		case 's':
			if ((v = parse_int(optarg, 0, LONG_MAX)) < 0)
				return usage_error("--seed %s: expected a non-negative integer", optarg);
			cfg.seed = (uint64_t)v;
			break;
		case 'D':
			if (!*optarg || strlen(optarg) >= IFNAMSIZ || strchr(optarg, '/') || strchr(optarg, ' '))
				return usage_error("--dev %s: expected an interface name (1 to 15 characters, no '/' or space)",
						   optarg);
			cfg.dev = optarg;
			break;
		case 'm':
			if ((v = parse_int(optarg, 576, MAX_MTU)) < 0)
				return usage_error("--mtu %s: expected 576 to 65535", optarg);
			cfg.mtu = (uint32_t)v;
			break;
		case 'T':
			if ((v = parse_int(optarg, 1, 1 << 20)) < 0)
				return usage_error("--txqueuelen %s: expected 1 to 1048576 packets", optarg);
			cfg.txqlen = (uint32_t)v;
			break;
		case 'P':
			if ((v = parse_int(optarg, 0, 99)) < 0)
				return usage_error("--rt-prio %s: expected 0 to 99", optarg);
			cfg.rt_prio = (int)v;
			break;
		case 'h':
			fputs(usage_text, stdout);
			exit(0);
		default:
			fprintf(stderr, "(wandelay --help for the options)\n");
			return 2;
		}
	}
	if (argc - optind != 2)
		return usage_error("%s", "expected two network namespaces: NETNS_A NETNS_B");
	ns[0] = argv[optind];
	ns[1] = argv[optind + 1];
	return 0;
}

int main(int argc, char **argv)
{
	static struct dir dirs[2];
	struct epoll_event ev, evs[8];
	const char *ns[2];
	int home, fds[2], ep, tfd, sfd, rc;
	sigset_t sigs;

	rc = parse_args(argc, argv, dirs, ns);
	if (rc)
		return rc;
	setvbuf(stdout, NULL, _IOLBF, 0);

	home = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (home < 0) {
		fprintf(stderr, "wandelay: /proc/self/ns/net: %s\n", strerror(errno));
		return 1;
	}
	for (int i = 0; i < 2; i++) {
		fds[i] = make_tun(ns[i], home);
		if (fds[i] < 0)
			return 1;
	}
	close(home);
	if (dir_init(&dirs[0], "a->b", fds[0], fds[1], 0) || dir_init(&dirs[1], "b->a", fds[1], fds[0], 0x5a5a5a5a5a5a5a5aull))
		return 1;

	if (cfg.rt_prio) {
		struct sched_param sp = { .sched_priority = cfg.rt_prio };

		/* a machine that allows no real-time task still gets a line, only a less punctual one */
		if (sched_setscheduler(0, SCHED_FIFO, &sp)) {
			fprintf(stderr, "wandelay: --rt-prio %d: sched_setscheduler: %s; going on with the normal scheduler"
				" (packets may leave late on a busy machine)\n", cfg.rt_prio, strerror(errno));
			cfg.rt_prio = 0;
		}
	}
	/* the timer is an hrtimer either way; the slack would only blur epoll's own wakeups */
	prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);

	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	sigaddset(&sigs, SIGUSR1);
	sigprocmask(SIG_BLOCK, &sigs, NULL);
	sfd = signalfd(-1, &sigs, SFD_CLOEXEC | SFD_NONBLOCK);
	tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (sfd < 0 || tfd < 0 || ep < 0) {
		fprintf(stderr, "wandelay: signalfd/timerfd/epoll: %s\n", strerror(errno));
		return 1;
	}
	ev.events = EPOLLIN;
	for (int i = 0; i < 2; i++) {
		ev.data.u32 = (uint32_t)i;
		epoll_ctl(ep, EPOLL_CTL_ADD, fds[i], &ev);
	}
	ev.data.u32 = 2;
	epoll_ctl(ep, EPOLL_CTL_ADD, tfd, &ev);
	ev.data.u32 = 3;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, sfd, &ev)) {
		fprintf(stderr, "wandelay: epoll_ctl: %s\n", strerror(errno));
		return 1;
	}

	printf("wandelay: ready a=%s:%s b=%s:%s delay_ms=%.3f,%.3f loss_pct=%g,%g rate_Bps=%.0f,%.0f burst=%.0f,%.0f"
	       " queue=%u limit=%u mtu=%u seed=%llu rt_prio=%d\n",
	       ns[0], cfg.dev, ns[1], cfg.dev, (double)dirs[0].delay_ns / 1e6, (double)dirs[1].delay_ns / 1e6,
	       dirs[0].loss * 100, dirs[1].loss * 100, dirs[0].rate, dirs[1].rate, dirs[0].burst, dirs[1].burst,
	       cfg.queue, cfg.limit, cfg.mtu, (unsigned long long)cfg.seed, cfg.rt_prio);

	for (;;) {
		int n = epoll_wait(ep, evs, 8, -1);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "wandelay: epoll_wait: %s\n", strerror(errno));
			return 1;
		}
		for (int i = 0; i < n; i++) {
			uint32_t what = evs[i].data.u32;

			if (what < 2) {
				/* an error or hang-up on a device is fatal: it was deleted under us */
				if ((evs[i].events & (EPOLLERR | EPOLLHUP)) || pump_in(&dirs[what])) {
					fprintf(stderr, "wandelay: %s:%s is gone\n", ns[what], cfg.dev);
					print_stats(&dirs[0], "final ");
					print_stats(&dirs[1], "final ");
					return 1;
				}
			} else if (what == 2) {
				uint64_t ticks;

				if (read(tfd, &ticks, sizeof(ticks)) < 0 && errno != EAGAIN)
					fprintf(stderr, "wandelay: timerfd read: %s\n", strerror(errno));
			} else {
				struct signalfd_siginfo si;

				while (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
					bool last = si.ssi_signo != SIGUSR1;

					print_stats(&dirs[0], last ? "final " : "stats ");
					print_stats(&dirs[1], last ? "final " : "stats ");
					if (last)
						return 0;
				}
			}
		}
		flush(&dirs[0]);
		flush(&dirs[1]);
		if (arm(tfd, dirs))
			return 1;
	}
}
