/*
 * udp-echo: a UDP echo server for the icon/udp-echo:1 test image (busybox has no UDP server).
 * Usage: udp-echo [port] (default 5353). Each datagram is sent back to its sender, prefixed with the
 * value of the ECHO_PREFIX environment variable (so tests can tell instances apart).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

int main(int argc, char **argv) {
  int port = argc > 1 ? atoi(argv[1]) : 5353;
  const char *prefix = getenv("ECHO_PREFIX");
  size_t plen = prefix ? strlen(prefix) : 0;
  int s = socket(AF_INET, SOCK_DGRAM, 0);
  if (s < 0) { perror("socket"); return 1; }
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_ANY);
  a.sin_port = htons((unsigned short)port);
  if (bind(s, (struct sockaddr *)&a, sizeof a) < 0) { perror("bind"); return 1; }
  fprintf(stderr, "udp-echo listening on %d\n", port);
  static char in[65536], out[65536 + 256];
  for (;;) {
    struct sockaddr_in from;
    socklen_t fl = sizeof from;
    ssize_t n = recvfrom(s, in, sizeof in, 0, (struct sockaddr *)&from, &fl);
    if (n < 0) continue;
    if (plen > 256) plen = 256;
    memcpy(out, prefix, plen);
    memcpy(out + plen, in, (size_t)n);
    sendto(s, out, plen + (size_t)n, 0, (struct sockaddr *)&from, fl);
  }
}
