/*
 * echo: the UDP and TCP echo server of the icon/echo:1 test image (busybox has no UDP server, and its TCP servers
 * fork per connection).
 * Usage: echo [port] (default 5353). UDP: each datagram is sent back to its sender, prefixed with the value of the
 * ECHO_PREFIX environment variable (so tests can tell instances apart). TCP on the same port: every byte read on a
 * connection is written back, with no prefix; one thread serves every connection (poll), so thousands can be open
 * at once; a connection ends when the client closes its side.
 * Sink: echo -d [port] reads TCP connections to their end and drops the bytes (bulk benchmarks); UDP as above.
 * Client: echo -c ADDRESS PORT MESSAGE sends MESSAGE as one UDP datagram to ADDRESS:PORT (an IPv4 address: a
 * static binary has no resolver) and prints the reply; exit 1 when none comes within 3 s (tests in containers,
 * where busybox has no UDP client).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#define MAX_FDS 8192

static int listen_on(int type, int port) {
  int s = socket(AF_INET, type, 0);
  if (s < 0) { perror("socket"); exit(1); }
  int one = 1;
  setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_ANY);
  a.sin_port = htons((unsigned short)port);
  if (bind(s, (struct sockaddr *)&a, sizeof a) < 0) { perror("bind"); exit(1); }
  if (type == SOCK_STREAM && listen(s, 4096) < 0) { perror("listen"); exit(1); }
  fcntl(s, F_SETFL, fcntl(s, F_GETFL) | O_NONBLOCK);
  return s;
}

static int client(const char *addr, int port, const char *msg) {
  int s = socket(AF_INET, SOCK_DGRAM, 0);
  if (s < 0) { perror("socket"); return 1; }
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_port = htons((unsigned short)port);
  if (inet_pton(AF_INET, addr, &a.sin_addr) != 1) { fprintf(stderr, "not an IPv4 address: %s\n", addr); return 1; }
  struct timeval tv = {3, 0};
  setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  if (sendto(s, msg, strlen(msg), 0, (struct sockaddr *)&a, sizeof a) < 0) { perror("sendto"); return 1; }
  static char buf[65536];
  ssize_t n = recv(s, buf, sizeof buf - 1, 0);
  if (n < 0) { fprintf(stderr, "no reply from %s:%d\n", addr, port); return 1; }
  buf[n] = 0;
  printf("%s\n", buf);
  return 0;
}

int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "-c") == 0) {
    if (argc != 5) { fprintf(stderr, "usage: %s -c ADDRESS PORT MESSAGE\n", argv[0]); return 2; }
    return client(argv[2], atoi(argv[3]), argv[4]);
  }
  int discard = argc > 1 && strcmp(argv[1], "-d") == 0;
  if (discard) { argc--; argv++; }
  int port = argc > 1 ? atoi(argv[1]) : 5353;
  const char *prefix = getenv("ECHO_PREFIX");
  size_t plen = prefix ? strlen(prefix) : 0;
  if (plen > 256) plen = 256;
  static struct pollfd fds[MAX_FDS];
  int n = 2;
  fds[0].fd = listen_on(SOCK_DGRAM, port);
  fds[1].fd = listen_on(SOCK_STREAM, port);
  fds[0].events = fds[1].events = POLLIN;
  fprintf(stderr, "echo listening on %d (udp, tcp%s)\n", port, discard ? ": discarding" : "");
  static char in[65536], out[65536 + 256];
  for (;;) {
    if (poll(fds, (nfds_t)n, -1) < 0) continue;
    if (fds[0].revents & POLLIN) {
      struct sockaddr_in from;
      socklen_t fl = sizeof from;
      ssize_t r = recvfrom(fds[0].fd, in, sizeof in, 0, (struct sockaddr *)&from, &fl);
      if (r >= 0) {
        memcpy(out, prefix, plen);
        memcpy(out + plen, in, (size_t)r);
        sendto(fds[0].fd, out, plen + (size_t)r, 0, (struct sockaddr *)&from, fl);
      }
    }
    if (fds[1].revents & POLLIN) {
      for (int c; n < MAX_FDS && (c = accept(fds[1].fd, NULL, NULL)) >= 0;) {
        fds[n].fd = c;
        fds[n].events = POLLIN;
        fds[n].revents = 0;
        n++;
      }
    }
    for (int i = 2; i < n; i++) {
      if (!fds[i].revents) continue;
      ssize_t r = read(fds[i].fd, in, sizeof in);
      if (r < 0 && (errno == EAGAIN || errno == EINTR)) continue;
      /* Blocking writes: a client that does not read its echo holds up the others, which a test server may. */
      for (ssize_t off = 0; r > 0 && !discard && off < r;) {
        ssize_t w = write(fds[i].fd, in + off, (size_t)(r - off));
        if (w <= 0) { r = -1; break; }
        off += w;
      }
      if (r <= 0) {
        close(fds[i].fd);
        fds[i] = fds[--n];
        i--;
      }
    }
  }
}
