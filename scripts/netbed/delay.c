/*
 * netbed-delay: the packet-level WAN testbed's helper (scripts/lib/netbed.ts builds and drives it). One binary,
 * three modes; each process dies with the process that started it (PR_SET_PDEATHSIG SIGKILL, checked against
 * NETBED_PARENT so that a controller that died before prctl is noticed) and, in hold and link mode, also when its
 * stdin reaches end of file (the controller's pipe closed):
 *
 *   hold [--router] --tag T
 *       unshare(CLONE_NEWNET): a fresh, anonymous network namespace that lives as long as this process (and the
 *       processes inside it); brings lo up, sets rp_filter 0 and the ICMP rate limit 0 (traceroute's probes all get
 *       an answer), and with --router ip_forward 1. Prints "ready" and waits for end of file on stdin.
 *   link --ns-a P --dev-a N --ns-b P --dev-b N [--delay-ab MS] [--delay-ba MS] [--loss-ab PCT] [--loss-ba PCT]
 *        [--rate-ab BIT/S] [--rate-ba BIT/S] [--queue PACKETS] [--stats FILE] [--seed N] --tag T
 *       Opens a TUN device (IFF_TUN, no packet info) named N in each of the two namespaces (setns, then open
 *       /dev/net/tun: the device is made in the caller's namespace) and forwards IP packets between them: each
 *       direction is a FIFO of packets due at arrival + one-way delay (CLOCK_MONOTONIC, a timerfd armed at the
 *       head's due time); with a rate, a packet first waits for the link to be free and takes len*8/rate seconds
 *       to serialise; with a loss, that share of packets is dropped on arrival. A full queue drops the arriving
 *       packet (counted). Prints "ready" once both devices exist. SIGUSR1 writes the counters as one JSON object
 *       to FILE (via FILE.tmp and rename); SIGTERM writes them and exits.
 *   run --ns P [--resolv FILE] -- PROGRAM ARGS...
 *       Joins the namespace at P, with --resolv bind-mounts FILE over /etc/resolv.conf in a private mount namespace
 *       (the node's resolver), and executes PROGRAM (which keeps the parent-death signal: no credential change).
 *
 * Built by scripts/lib/netbed.ts with gcc (-O2, static when libc.a is there) into .icon/netbed/.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define SLOT 2048       /* bytes per queued packet: the TUN MTU stays 1500 */
#define MAX_QUEUE 65536 /* packets per direction at most (--queue) */
#define READ_BATCH 256  /* packets read from one device per wake-up before the other gets its turn */

static void die(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("netbed-delay: ", stderr);
  vfprintf(stderr, fmt, ap);
  if (errno) fprintf(stderr, ": %s", strerror(errno));
  fputc('\n', stderr);
  va_end(ap);
  exit(1);
}

/* Dies with the controller: the parent-death signal, and a check that the parent is still the one that started us. */
static void guard(void) {
  const char *parent = getenv("NETBED_PARENT");
  if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) die("prctl(PR_SET_PDEATHSIG)");
  if (parent && getppid() != (pid_t)atol(parent)) exit(1);
  unsetenv("NETBED_PARENT");
}

static void enter_ns(const char *path) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) die("open %s", path);
  if (setns(fd, CLONE_NEWNET) != 0) die("setns %s", path);
  close(fd);
}

static void write_sysctl(const char *path, const char *value) {
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) die("open %s", path);
  if (write(fd, value, strlen(value)) < 0) die("write %s", path);
  close(fd);
}

static void set_up(const char *dev) {
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  struct ifreq ifr;
  if (s < 0) die("socket");
  memset(&ifr, 0, sizeof ifr);
  strncpy(ifr.ifr_name, dev, IFNAMSIZ - 1);
  if (ioctl(s, SIOCGIFFLAGS, &ifr) != 0) die("SIOCGIFFLAGS %s", dev);
  ifr.ifr_flags |= IFF_UP;
  if (ioctl(s, SIOCSIFFLAGS, &ifr) != 0) die("SIOCSIFFLAGS %s", dev);
  close(s);
}

static void ready(void) {
  if (write(1, "ready\n", 6) != 6) die("write ready");
}

/* Blocks until stdin reaches end of file (or fails): the controller is gone. */
static int hold(int router) {
  char buf[64];
  if (unshare(CLONE_NEWNET) != 0) die("unshare(CLONE_NEWNET)");
  set_up("lo");
  write_sysctl("/proc/sys/net/ipv4/conf/all/rp_filter", "0");
  write_sysctl("/proc/sys/net/ipv4/conf/default/rp_filter", "0");
  write_sysctl("/proc/sys/net/ipv4/icmp_ratelimit", "0");
  write_sysctl("/proc/sys/net/ipv4/ip_forward", router ? "1" : "0");
  /* No IPv6 on the testbed's devices: no link-local chatter (router solicitations) on the delayed links. */
  if (access("/proc/sys/net/ipv6/conf/default/disable_ipv6", W_OK) == 0) {
    write_sysctl("/proc/sys/net/ipv6/conf/default/disable_ipv6", "1");
    write_sysctl("/proc/sys/net/ipv6/conf/all/disable_ipv6", "1");
  }
  ready();
  for (;;) {
    ssize_t n = read(0, buf, sizeof buf);
    if (n == 0 || (n < 0 && errno != EINTR)) return 0;
  }
}

/* ---- link ------------------------------------------------------------------------------------------------------ */

struct packet {
  uint64_t due;
  uint16_t len;
  unsigned char data[SLOT];
};

struct direction {
  const char *name;
  int in, out;
  uint64_t delay_ns, rate_bps, next_free;
  double loss;
  struct packet *ring;
  uint32_t cap, head, count, max_count;
  uint64_t received, delivered, bytes, drop_loss, drop_queue, drop_write;
  uint64_t late_ns; /* sum over delivered packets of (delivery time - due time) */
};

static uint64_t rng_state;

static double random01(void) {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return (double)(rng_state >> 11) / 9007199254740992.0;
}

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int open_tun(const char *ns, const char *dev) {
  struct ifreq ifr;
  int fd;
  enter_ns(ns);
  fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) die("open /dev/net/tun (in %s)", ns);
  memset(&ifr, 0, sizeof ifr);
  ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
  strncpy(ifr.ifr_name, dev, IFNAMSIZ - 1);
  if (ioctl(fd, TUNSETIFF, &ifr) != 0) die("TUNSETIFF %s (in %s)", dev, ns);
  set_up(dev);
  return fd;
}

/*
 * A packet due now must leave now even when the machine is busy (tests share it with compilers and chains): the
 * element asks for SCHED_FIFO at a low real-time priority (it sleeps almost always and does little when awake; the
 * kernel's RT throttling still leaves others 5 %), else the highest nice value. Without either it still works, with
 * the scheduler's latency added to its delays under load.
 */
static void realtime(void) {
  struct sched_param sp = {.sched_priority = 10};
  if (sched_setscheduler(0, SCHED_FIFO, &sp) != 0) (void)!nice(-20);
}

static void receive(struct direction *d, uint64_t now) {
  for (int i = 0; i < READ_BATCH; i++) {
    struct packet *p;
    unsigned char scratch[SLOT];
    int full = d->count >= d->cap;
    ssize_t n;
    p = full ? NULL : &d->ring[(d->head + d->count) % d->cap];
    n = read(d->in, p ? p->data : scratch, SLOT);
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) return;
      die("read (%s)", d->name);
    }
    d->received++;
    if (d->loss > 0 && random01() * 100.0 < d->loss) {
      d->drop_loss++;
      continue;
    }
    if (full) {
      d->drop_queue++;
      continue;
    }
    uint64_t start = d->next_free > now ? d->next_free : now;
    if (d->rate_bps > 0) {
      start += (uint64_t)n * 8ull * 1000000000ull / d->rate_bps;
      d->next_free = start;
    }
    p->len = (uint16_t)n;
    p->due = start + d->delay_ns;
    d->count++;
    if (d->count > d->max_count) d->max_count = d->count;
  }
}

static void deliver(struct direction *d, uint64_t now) {
  while (d->count > 0 && d->ring[d->head].due <= now) {
    struct packet *p = &d->ring[d->head];
    if (write(d->out, p->data, p->len) == p->len) {
      d->delivered++;
      d->late_ns += now - p->due;
      d->bytes += p->len;
    } else {
      d->drop_write++;
    }
    d->head = (d->head + 1) % d->cap;
    d->count--;
  }
}

static void stats_json(FILE *f, const struct direction *d) {
  fprintf(f,
          "{\"received\":%llu,\"delivered\":%llu,\"bytes\":%llu,\"dropLoss\":%llu,\"dropQueue\":%llu,"
          "\"dropWrite\":%llu,\"queued\":%u,\"maxQueued\":%u,\"meanLateUs\":%.1f}",
          (unsigned long long)d->received, (unsigned long long)d->delivered, (unsigned long long)d->bytes,
          (unsigned long long)d->drop_loss, (unsigned long long)d->drop_queue, (unsigned long long)d->drop_write,
          d->count, d->max_count, d->delivered ? (double)d->late_ns / (double)d->delivered / 1000.0 : 0.0);
}

static void write_stats(const char *file, unsigned long seq, const struct direction *ab, const struct direction *ba) {
  char tmp[4096];
  FILE *f;
  if (!file) return;
  snprintf(tmp, sizeof tmp, "%s.tmp", file);
  f = fopen(tmp, "w");
  if (!f) die("open %s", tmp);
  fprintf(f, "{\"seq\":%lu,\"ab\":", seq);
  stats_json(f, ab);
  fputs(",\"ba\":", f);
  stats_json(f, ba);
  fputs("}\n", f);
  if (fclose(f) != 0 || rename(tmp, file) != 0) die("write %s", file);
}

static double number(const char *opt, const char *s, double max) {
  char *end;
  double v;
  errno = 0;
  v = strtod(s, &end);
  if (*s == '\0' || *end != '\0' || !(v >= 0 && v <= max)) {
    errno = 0;
    die("--%s %s: give a number from 0 to %g", opt, s, max);
  }
  return v;
}

static int link_main(int argc, char **argv) {
  static const struct option opts[] = {
      {"ns-a", 1, 0, 'a'},     {"dev-a", 1, 0, 'A'},   {"ns-b", 1, 0, 'b'},    {"dev-b", 1, 0, 'B'},
      {"delay-ab", 1, 0, 'd'}, {"delay-ba", 1, 0, 'D'}, {"loss-ab", 1, 0, 'l'}, {"loss-ba", 1, 0, 'L'},
      {"rate-ab", 1, 0, 'r'},  {"rate-ba", 1, 0, 'R'},  {"queue", 1, 0, 'q'},   {"stats", 1, 0, 's'},
      {"seed", 1, 0, 'S'},     {"tag", 1, 0, 't'},      {0, 0, 0, 0}};
  const char *ns_a = NULL, *dev_a = NULL, *ns_b = NULL, *dev_b = NULL, *stats = NULL;
  struct direction ab = {.name = "a->b"}, ba = {.name = "b->a"};
  uint32_t cap = 512;
  unsigned long seq = 0;
  int c, tfd, sfd;
  sigset_t mask;
  rng_state = 0x9e3779b97f4a7c15ull ^ (uint64_t)getpid();
  prctl(PR_SET_TIMERSLACK, 1UL); /* wake at the due time, not up to 50 µs later */
  realtime();
  while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
    switch (c) {
      case 'a': ns_a = optarg; break;
      case 'A': dev_a = optarg; break;
      case 'b': ns_b = optarg; break;
      case 'B': dev_b = optarg; break;
      case 'd': ab.delay_ns = (uint64_t)(number("delay-ab", optarg, 600000) * 1e6); break;
      case 'D': ba.delay_ns = (uint64_t)(number("delay-ba", optarg, 600000) * 1e6); break;
      case 'l': ab.loss = number("loss-ab", optarg, 100); break;
      case 'L': ba.loss = number("loss-ba", optarg, 100); break;
      case 'r': ab.rate_bps = (uint64_t)number("rate-ab", optarg, 1e12); break;
      case 'R': ba.rate_bps = (uint64_t)number("rate-ba", optarg, 1e12); break;
      case 'q': cap = (uint32_t)number("queue", optarg, MAX_QUEUE); break;
      case 's': stats = optarg; break;
      case 'S': rng_state = (uint64_t)number("seed", optarg, 1e18) * 2654435761ull + 1; break;
      case 't': break;
      default: errno = 0; die("unknown option (see the comment at the top of delay.c)");
    }
  }
  if (!ns_a || !dev_a || !ns_b || !dev_b) {
    errno = 0;
    die("link needs --ns-a, --dev-a, --ns-b and --dev-b");
  }
  if (cap < 1) cap = 1;
  ab.cap = ba.cap = cap;
  ab.ring = calloc(cap, sizeof(struct packet));
  ba.ring = calloc(cap, sizeof(struct packet));
  if (!ab.ring || !ba.ring) die("calloc");
  ab.in = ba.out = open_tun(ns_a, dev_a);
  ab.out = ba.in = open_tun(ns_b, dev_b);

  sigemptyset(&mask);
  sigaddset(&mask, SIGUSR1);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGINT);
  if (sigprocmask(SIG_BLOCK, &mask, NULL) != 0) die("sigprocmask");
  sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
  tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  if (sfd < 0 || tfd < 0) die("signalfd/timerfd");
  ready();

  for (;;) {
    struct pollfd fds[5] = {{ab.in, POLLIN, 0}, {ba.in, POLLIN, 0}, {tfd, POLLIN, 0}, {sfd, POLLIN, 0}, {0, POLLIN, 0}};
    struct itimerspec when = {{0, 0}, {0, 0}};
    uint64_t next = 0, now;
    if (ab.count) next = ab.ring[ab.head].due;
    if (ba.count && (!next || ba.ring[ba.head].due < next)) next = ba.ring[ba.head].due;
    if (next) {
      when.it_value.tv_sec = (time_t)(next / 1000000000ull);
      when.it_value.tv_nsec = (long)(next % 1000000000ull);
    }
    if (timerfd_settime(tfd, TFD_TIMER_ABSTIME, &when, NULL) != 0) die("timerfd_settime");
    if (poll(fds, 5, -1) < 0) {
      if (errno == EINTR) continue;
      die("poll");
    }
    now = now_ns();
    if (fds[0].revents & POLLIN) receive(&ab, now);
    if (fds[1].revents & POLLIN) receive(&ba, now);
    if (fds[2].revents & POLLIN) {
      uint64_t expirations;
      if (read(tfd, &expirations, sizeof expirations) < 0 && errno != EAGAIN) die("read timerfd");
    }
    now = now_ns();
    deliver(&ab, now);
    deliver(&ba, now);
    if (fds[3].revents & POLLIN) {
      struct signalfd_siginfo si;
      while (read(sfd, &si, sizeof si) == sizeof si) {
        write_stats(stats, ++seq, &ab, &ba);
        if (si.ssi_signo != SIGUSR1) return 0;
      }
    }
    if (fds[4].revents & (POLLIN | POLLHUP | POLLERR)) {
      char buf[64];
      ssize_t n = read(0, buf, sizeof buf);
      if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN)) return 0;
    }
  }
}

static int run_main(int argc, char **argv) {
  const char *ns = NULL, *resolv = NULL;
  int i = 1;
  for (; i < argc; i++) {
    if (!strcmp(argv[i], "--ns") && i + 1 < argc) ns = argv[++i];
    else if (!strcmp(argv[i], "--resolv") && i + 1 < argc) resolv = argv[++i];
    else if (!strcmp(argv[i], "--")) {
      i++;
      break;
    } else {
      errno = 0;
      die("run: unknown argument %s", argv[i]);
    }
  }
  if (!ns || i >= argc) {
    errno = 0;
    die("run needs --ns PATH -- PROGRAM [ARGS...]");
  }
  enter_ns(ns);
  if (resolv) {
    if (unshare(CLONE_NEWNS) != 0) die("unshare(CLONE_NEWNS)");
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0) die("mount --make-rprivate /");
    if (mount(resolv, "/etc/resolv.conf", NULL, MS_BIND, NULL) != 0) die("bind %s on /etc/resolv.conf", resolv);
  }
  execvp(argv[i], argv + i);
  die("exec %s", argv[i]);
  return 1;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fputs("usage: netbed-delay hold|link|run ... (see the comment at the top of scripts/netbed/delay.c)\n", stderr);
    return 2;
  }
  guard();
  if (strcmp(argv[1], "run") != 0) signal(SIGPIPE, SIG_IGN); /* not for run: an ignored signal survives exec */
  if (!strcmp(argv[1], "hold")) {
    int router = 0;
    for (int i = 2; i < argc; i++) router |= !strcmp(argv[i], "--router");
    return hold(router);
  }
  if (!strcmp(argv[1], "link")) return link_main(argc - 1, argv + 1);
  if (!strcmp(argv[1], "run")) return run_main(argc - 1, argv + 1);
  fprintf(stderr, "netbed-delay: unknown mode %s (hold, link or run)\n", argv[1]);
  return 2;
}
