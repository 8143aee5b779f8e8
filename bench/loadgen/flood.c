/*
 * FlowGate flood sender: UDP datagrams from forged source addresses, for the edge benchmarks
 * (bench/edge.bench.ts). Compiled on demand by bench/lib/flood.ts (cc -O2 -o
 * dist/bench/loadgen/flood bench/loadgen/flood.c) and driven by it; not meant to be run by hand.
 *
 * A raw socket (socket(AF_INET, SOCK_RAW, IPPROTO_RAW), which implies IP_HDRINCL; needs root or
 * CAP_NET_RAW) sends IPv4 + UDP headers written here, so the source address can be any of
 * `sources` consecutive addresses from `first-source` on, all inside 127.0.0.0/8: a forged
 * exporter costs no socket and no bind. The kernel fills in the IP checksum, the packet id and
 * the total length; the UDP checksum is left 0 ("none", allowed for IPv4, RFC 768). On loopback
 * such a packet keeps the route it was sent with, so no reverse-path or martian check applies and
 * a UDP socket bound on 127.0.0.1 receives it from the forged address (bench/lib/flood.ts checks
 * that before a benchmark relies on it).
 *
 * Which datagram goes out: the i-th one sent is payload (i / sources) % payloads from source
 * i % sources; every source sends payload 0 first (the templates, when the payloads come from a
 * capture), then payload 1, and so on, all sources in turn. Payloads go out as given (no header
 * patching): the gateway sees the same bytes from every forged exporter. Datagrams are sent with
 * sendmmsg(2), BATCH at a time, each as two iovecs (this batch slot's 28 header bytes, the shared
 * payload): no copy per datagram.
 *
 * stdin (little-endian), written by bench/lib/flood.ts:
 *   u32 magic 'FGF1', u32 version 1, u32 payloads, then per payload: u32 length, bytes
 *
 * argv: target-ip target-port sources first-source-ip source-port rate(datagrams/s, 0 = max)
 *       duration-s quiet(0/1)
 * stdout at the end: one JSON line of counts. stderr: progress once a second unless quiet.
 * SIGTERM / SIGINT end the run early (the counts are still printed). Exit status 2: bad arguments or
 * input; 3: no raw socket here (not root, no CAP_NET_RAW).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BATCH 64
#define HEADER_BYTES 28 /* IPv4 header without options (20) + UDP header (8) */
#define MAX_PAYLOAD (65535 - HEADER_BYTES)

typedef struct { const uint8_t *bytes; uint32_t len; } payload_t;

static volatile sig_atomic_t stop_requested = 0;
static void on_signal(int sig) { (void)sig; stop_requested = 1; }

static void die(const char *msg) { fprintf(stderr, "flood sender: %s\n", msg); exit(2); }

static uint8_t *input; static size_t input_len, input_pos;

static void read_all(void) {
  size_t cap = 1 << 20; input = malloc(cap); if (!input) die("out of memory");
  for (;;) {
    if (input_len == cap) { cap *= 2; input = realloc(input, cap); if (!input) die("out of memory"); }
    ssize_t n = read(0, input + input_len, cap - input_len);
    if (n < 0) { if (errno == EINTR) continue; die("cannot read the payloads from stdin"); }
    if (n == 0) break;
    input_len += (size_t)n;
  }
}
static const uint8_t *take(size_t n) {
  if (input_pos + n > input_len) die("payloads on stdin are truncated");
  const uint8_t *p = input + input_pos; input_pos += n; return p;
}
static uint32_t rd32(void) { uint32_t v; memcpy(&v, take(4), 4); return v; }

static double mono_s(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec / 1e9; }

/* Writes the IPv4 + UDP headers of one datagram (network byte order). */
static void write_headers(uint8_t *h, uint32_t src, uint32_t dst, uint16_t sport, uint16_t dport, uint32_t payload_len) {
  uint16_t total = (uint16_t)(HEADER_BYTES + payload_len), udp_len = (uint16_t)(8 + payload_len);
  memset(h, 0, HEADER_BYTES);
  h[0] = 0x45;                                  /* version 4, IHL 5 words */
  h[2] = total >> 8; h[3] = (uint8_t)total;     /* the kernel writes it too */
  h[6] = 0x40;                                  /* don't fragment */
  h[8] = 64;                                    /* TTL */
  h[9] = IPPROTO_UDP;
  memcpy(h + 12, &src, 4); memcpy(h + 16, &dst, 4);
  h[20] = sport >> 8; h[21] = (uint8_t)sport;
  h[22] = dport >> 8; h[23] = (uint8_t)dport;
  h[24] = udp_len >> 8; h[25] = (uint8_t)udp_len;
  /* h[26..27]: UDP checksum 0, none */
}

int main(int argc, char **argv) {
  if (argc != 9) die("usage: flood target-ip target-port sources first-source-ip source-port rate duration quiet");
  struct in_addr target, first;
  if (inet_pton(AF_INET, argv[1], &target) != 1) die("bad target address");
  int target_port = atoi(argv[2]);
  long sources = atol(argv[3]);
  if (inet_pton(AF_INET, argv[4], &first) != 1) die("bad first source address");
  int source_port = atoi(argv[5]);
  double rate = atof(argv[6]);
  double duration = atof(argv[7]);
  int quiet = atoi(argv[8]);
  /* Loopback only, both ends: 127.0.0.0/8. */
  uint32_t first_h = ntohl(first.s_addr);
  if ((ntohl(target.s_addr) >> 24) != 127) die("target must be in 127.0.0.0/8");
  if (sources < 1 || (first_h >> 24) != 127 || ((first_h + (uint32_t)(sources - 1)) >> 24) != 127 || first_h + (uint32_t)(sources - 1) < first_h)
    die("every source address must be in 127.0.0.0/8");
  if (target_port < 1 || target_port > 65535 || source_port < 1 || source_port > 65535) die("port out of range");

  read_all();
  if (rd32() != 0x31464746 /* "FGF1" */ || rd32() != 1) die("payloads on stdin: bad magic or version");
  uint32_t n_payloads = rd32();
  if (n_payloads == 0) die("no payload");
  payload_t *payloads = calloc(n_payloads, sizeof(payload_t));
  for (uint32_t i = 0; i < n_payloads; i++) {
    payloads[i].len = rd32();
    if (payloads[i].len > MAX_PAYLOAD) die("a payload is larger than a UDP datagram can be");
    payloads[i].bytes = take(payloads[i].len);
  }

  int fd = socket(AF_INET, SOCK_RAW, IPPROTO_RAW); /* IPPROTO_RAW implies IP_HDRINCL */
  if (fd < 0) { /* exit 3: not possible here (no privilege), as opposed to 2, a misuse */
    perror("socket(AF_INET, SOCK_RAW, IPPROTO_RAW)"); fprintf(stderr, "flood sender: cannot open a raw socket (root or CAP_NET_RAW needed)\n"); exit(3);
  }
  int on = 1; setsockopt(fd, IPPROTO_IP, IP_HDRINCL, &on, sizeof on);
  int sndbuf = 4 << 20; setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
  struct sockaddr_in dst; memset(&dst, 0, sizeof dst);
  dst.sin_family = AF_INET; dst.sin_addr = target; /* sin_port is unused by raw sockets */

  signal(SIGINT, on_signal); signal(SIGTERM, on_signal); signal(SIGPIPE, SIG_IGN);

  static uint8_t headers[BATCH][HEADER_BYTES];
  struct mmsghdr msgs[BATCH]; struct iovec iovs[BATCH][2];
  memset(msgs, 0, sizeof msgs);
  for (int i = 0; i < BATCH; i++) {
    iovs[i][0].iov_base = headers[i]; iovs[i][0].iov_len = HEADER_BYTES;
    msgs[i].msg_hdr.msg_iov = iovs[i]; msgs[i].msg_hdr.msg_iovlen = 2;
    msgs[i].msg_hdr.msg_name = &dst; msgs[i].msg_hdr.msg_namelen = sizeof dst;
  }

  uint64_t datagrams = 0, bytes = 0, errors = 0, next = 0; /* next: index of the next datagram to send */
  double t0 = mono_s(), next_report = t0 + 1, schedule_base = t0, last_report = 0;
  uint64_t sent_base = 0; /* the pacing schedule: sent_base + (now - schedule_base) * rate */

  while (!stop_requested) {
    double now = mono_s();
    if (duration > 0 && now - t0 >= duration) break;
    if (!quiet && now >= next_report) {
      fprintf(stderr, "flood: %.0f s, %llu datagrams (%.0f/s)\n", now - t0, (unsigned long long)datagrams, datagrams - last_report);
      last_report = (double)datagrams; next_report += 1;
    }
    int want = BATCH;
    if (rate > 0) {
      double due = sent_base + (now - schedule_base) * rate;
      if (due - (double)datagrams > rate * 0.1) { sent_base = datagrams; schedule_base = now; due = (double)datagrams; }
      double missing = due - (double)datagrams;
      if (missing < 1) {
        double wait = (1 - missing) / rate; wait = wait < 0.0005 ? 0.0005 : wait > 0.01 ? 0.01 : wait;
        struct timespec ts = {0, (long)(wait * 1e9)}; nanosleep(&ts, NULL); continue;
      }
      want = missing > BATCH ? BATCH : (int)missing;
    }
    for (int n = 0; n < want; n++) {
      uint64_t i = next + (uint64_t)n;
      const payload_t *p = &payloads[(i / (uint64_t)sources) % n_payloads];
      write_headers(headers[n], htonl(first_h + (uint32_t)(i % (uint64_t)sources)), target.s_addr, (uint16_t)source_port, (uint16_t)target_port, p->len);
      iovs[n][1].iov_base = (void *)p->bytes; iovs[n][1].iov_len = p->len;
    }
    int off = 0;
    while (off < want && !stop_requested) {
      int r = sendmmsg(fd, msgs + off, (unsigned)(want - off), 0);
      if (r < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == ENOBUFS) { struct timespec ts = {0, 100000}; nanosleep(&ts, NULL); continue; }
        errors++; off++; /* give this datagram up */
        continue;
      }
      for (int k = off; k < off + r; k++) bytes += iovs[k][1].iov_len;
      datagrams += (uint64_t)r; off += r;
    }
    next += (uint64_t)want;
  }
  double seconds = mono_s() - t0;
  struct rusage ru; getrusage(RUSAGE_SELF, &ru);
  double cpu = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
  printf("{\"datagrams\":%llu,\"bytes\":%llu,\"seconds\":%.6f,\"send_errors\":%llu,\"cpu_s\":%.3f,\"sources\":%ld,\"payloads\":%u,\"sources_reached\":%llu}\n",
    (unsigned long long)datagrams, (unsigned long long)bytes, seconds, (unsigned long long)errors, cpu, sources, n_payloads,
    (unsigned long long)(datagrams < (uint64_t)sources ? datagrams : (uint64_t)sources));
  fflush(stdout);
  return 0;
}
