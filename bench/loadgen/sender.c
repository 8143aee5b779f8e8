/*
 * FlowGate load generator: the sending half. Compiled on demand by bench/loadgen/main.ts
 * (cc -O2 -o dist/bench/loadgen/sender bench/loadgen/sender.c) and driven by it; not meant to be
 * run by hand. The Node side builds the IPFIX packets (templates and a pool of data packets, see
 * bench/loadgen/ipfix.ts) and writes them to this program's stdin; this program sends them with
 * sendmmsg(2) from one UDP socket per exporter, patching per datagram what changes on the wire:
 * export time (header offset 4), sequence number (offset 8: data records this exporter sent before
 * this message, RFC 7011 section 3.1) and the flowStart/EndMilliseconds of every record (shifted
 * by the time elapsed since the pool was built, so flows stay seconds old however long the run).
 *
 * Why C (measured on this 2-core VM, Node 20.20.2, loopback, 16 exporter sockets, the other core
 * busy with other work): Node's dgram sends about 180k datagrams/s to an address (220k on
 * connected sockets), with one core at 100 %, whatever the size (100 B or 1,400 B). The spike
 * measured one Node receiver taking ~200k datagrams/s without loss, so a Node sender cannot
 * saturate a Node receiver in the 1-record-per-packet case and would take a whole core doing it.
 * This sender does 2x (small datagrams) to 3x (25 records) that per core (figures in
 * bench/loadgen/main.ts's header): 400-480k datagrams/s, enough to flood a Node receiver, and at a
 * given paced rate costs less CPU (a copy and a few stores per record, one syscall per chunk of up
 * to 64 datagrams; the rest is the kernel's loopback path, ~4 us per datagram).
 *
 * stdin (little-endian), written by encodePool() in ipfix.ts:
 *   u32 magic 'FGL1', u32 version 1
 *   f64 genMs               wall clock (ms since epoch) the record times were generated against
 *   u32 nLayouts            then per layout: u16 setId, u16 recordLength, u16 startOffset, u16 endOffset
 *                           (offsets of flowStart/EndMilliseconds within the record; 0xffff = none)
 *   u32 templateLength      then the template message
 *   u32 nData               then per data packet: u32 length, u32 records, bytes
 *   u32 finalLength, u32 finalRecords, bytes: the last (short) data packet of a --records run
 *   u64 finalIndex          global data packet index at which the final packet replaces the pool
 *                           one and ends the run (UINT64_MAX: no record limit)
 *
 * argv: target-ip target-port exporters rate(records/s, 0 = max) duration-s(0 = none)
 *       template-every quiet(0/1) source-ip...   (one source address per exporter)
 * stdout at the end: one JSON line of counts. stderr: progress once a second unless quiet.
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
#define MAX_DATAGRAM 65535

typedef struct { uint16_t set_id, rec_len, start_off, end_off; } layout_t;
typedef struct { uint8_t *bytes; uint32_t len, records; } packet_t;

static volatile sig_atomic_t stop_requested = 0;
static void on_signal(int sig) { (void)sig; stop_requested = 1; }

static uint8_t *input; static size_t input_len, input_pos;

static void die(const char *msg) { fprintf(stderr, "loadgen sender: %s\n", msg); exit(2); }

static void read_all(void) {
  size_t cap = 1 << 20; input = malloc(cap); if (!input) die("out of memory");
  for (;;) {
    if (input_len == cap) { cap *= 2; input = realloc(input, cap); if (!input) die("out of memory"); }
    ssize_t n = read(0, input + input_len, cap - input_len);
    if (n < 0) { if (errno == EINTR) continue; die("cannot read the pool from stdin"); }
    if (n == 0) break;
    input_len += (size_t)n;
  }
}
static const uint8_t *take(size_t n) {
  if (input_pos + n > input_len) die("pool on stdin is truncated");
  const uint8_t *p = input + input_pos; input_pos += n; return p;
}
static uint16_t rd16(void) { uint16_t v; memcpy(&v, take(2), 2); return v; }
static uint32_t rd32(void) { uint32_t v; memcpy(&v, take(4), 4); return v; }
static uint64_t rd64(void) { uint64_t v; memcpy(&v, take(8), 8); return v; }
static double rdf64(void) { double v; memcpy(&v, take(8), 8); return v; }
static packet_t rdpacket(void) {
  packet_t p; p.len = rd32(); p.records = rd32(); p.bytes = (uint8_t *)take(p.len); return p;
}

static inline void put32be(uint8_t *p, uint32_t v) { p[0] = v >> 24; p[1] = v >> 16; p[2] = v >> 8; p[3] = v; }
static inline uint64_t get64be(const uint8_t *p) {
  uint64_t v = 0; for (int i = 0; i < 8; i++) v = (v << 8) | p[i]; return v;
}
static inline void put64be(uint8_t *p, uint64_t v) { for (int i = 7; i >= 0; i--) { p[i] = (uint8_t)v; v >>= 8; } }

static double mono_s(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec / 1e9; }
static double wall_ms(void) { struct timespec t; clock_gettime(CLOCK_REALTIME, &t); return t.tv_sec * 1e3 + t.tv_nsec / 1e6; }

static layout_t *layouts; static uint32_t n_layouts;

/* Adds shift_ms to flowStart/EndMilliseconds of every record of a data message (walks the sets). */
static void shift_times(uint8_t *m, uint32_t len, int64_t shift_ms) {
  uint32_t off = 16;
  while (off + 4 <= len) {
    uint16_t id = (uint16_t)(m[off] << 8 | m[off + 1]), slen = (uint16_t)(m[off + 2] << 8 | m[off + 3]);
    if (slen < 4 || off + slen > len) return;
    for (uint32_t l = 0; l < n_layouts; l++) {
      const layout_t *L = &layouts[l];
      if (L->set_id != id || L->rec_len == 0) continue;
      for (uint32_t r = off + 4; r + L->rec_len <= off + slen; r += L->rec_len) {
        if (L->start_off != 0xffff) put64be(m + r + L->start_off, get64be(m + r + L->start_off) + (uint64_t)shift_ms);
        if (L->end_off != 0xffff) put64be(m + r + L->end_off, get64be(m + r + L->end_off) + (uint64_t)shift_ms);
      }
    }
    off += slen;
  }
}

int main(int argc, char **argv) {
  if (argc < 9) die("usage: sender target-ip target-port exporters rate duration template-every quiet source-ip...");
  const char *target_ip = argv[1];
  int target_port = atoi(argv[2]);
  int exporters = atoi(argv[3]);
  double rate = atof(argv[4]);
  double duration = atof(argv[5]);
  long template_every = atol(argv[6]);
  int quiet = atoi(argv[7]);
  if (exporters < 1 || argc != 8 + exporters) die("one source address per exporter");

  struct sockaddr_storage dst; socklen_t dst_len; int family;
  memset(&dst, 0, sizeof dst);
  struct sockaddr_in *d4 = (struct sockaddr_in *)&dst; struct sockaddr_in6 *d6 = (struct sockaddr_in6 *)&dst;
  if (inet_pton(AF_INET, target_ip, &d4->sin_addr) == 1) {
    /* Loopback only: 127.0.0.0/8. */
    if ((ntohl(d4->sin_addr.s_addr) >> 24) != 127) die("target must be in 127.0.0.0/8 or ::1");
    d4->sin_family = AF_INET; d4->sin_port = htons((uint16_t)target_port); dst_len = sizeof *d4; family = AF_INET;
  } else if (inet_pton(AF_INET6, target_ip, &d6->sin6_addr) == 1) {
    if (!IN6_IS_ADDR_LOOPBACK(&d6->sin6_addr)) die("target must be in 127.0.0.0/8 or ::1");
    d6->sin6_family = AF_INET6; d6->sin6_port = htons((uint16_t)target_port); dst_len = sizeof *d6; family = AF_INET6;
  } else die("bad target address");

  int *fds = calloc((size_t)exporters, sizeof(int));
  for (int e = 0; e < exporters; e++) {
    fds[e] = socket(family, SOCK_DGRAM, 0);
    if (fds[e] < 0) die("socket() failed");
    int sndbuf = 4 << 20; setsockopt(fds[e], SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
    struct sockaddr_storage src; memset(&src, 0, sizeof src); socklen_t src_len;
    if (family == AF_INET) {
      struct sockaddr_in *s4 = (struct sockaddr_in *)&src; s4->sin_family = AF_INET; src_len = sizeof *s4;
      if (inet_pton(AF_INET, argv[8 + e], &s4->sin_addr) != 1) die("bad source address");
    } else {
      struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&src; s6->sin6_family = AF_INET6; src_len = sizeof *s6;
      if (inet_pton(AF_INET6, argv[8 + e], &s6->sin6_addr) != 1) die("bad source address");
    }
    if (bind(fds[e], (struct sockaddr *)&src, src_len) != 0) { perror("bind"); die("cannot bind an exporter's source address"); }
    /* Connected: no route lookup per datagram (measured +5-30 % datagrams/s here). */
    if (connect(fds[e], (struct sockaddr *)&dst, dst_len) != 0) { perror("connect"); die("cannot connect to the target"); }
  }

  read_all();
  if (rd32() != 0x314c4746 /* "FGL1" */ || rd32() != 1) die("pool on stdin: bad magic or version");
  double gen_ms = rdf64();
  n_layouts = rd32(); layouts = calloc(n_layouts ? n_layouts : 1, sizeof(layout_t));
  for (uint32_t i = 0; i < n_layouts; i++) {
    layouts[i].set_id = rd16(); layouts[i].rec_len = rd16(); layouts[i].start_off = rd16(); layouts[i].end_off = rd16();
  }
  uint32_t tlen = rd32(); const uint8_t *tmpl = take(tlen);
  uint32_t n_data = rd32(); if (n_data == 0) die("empty pool");
  packet_t *pool = calloc(n_data, sizeof(packet_t));
  for (uint32_t i = 0; i < n_data; i++) pool[i] = rdpacket();
  packet_t final_packet = rdpacket();
  uint64_t final_index = rd64();
  uint32_t template_records = 0; /* template records in the template message (sets 2 and 3) */
  for (uint32_t off = 16; off + 4 <= tlen;) {
    uint16_t slen = (uint16_t)(tmpl[off + 2] << 8 | tmpl[off + 3]);
    if (slen < 4) break;
    for (uint32_t r = off + 4; r + 4 <= off + slen;) {
      uint16_t count = (uint16_t)(tmpl[r + 2] << 8 | tmpl[r + 3]);
      template_records++;
      r += 4 + (tmpl[off + 1] == 3 ? 2 : 0);
      for (uint16_t f = 0; f < count && r + 4 <= off + slen; f++) r += (tmpl[r] & 0x80) ? 8 : 4;
    }
    off += slen;
  }

  signal(SIGINT, on_signal); signal(SIGTERM, on_signal); signal(SIGPIPE, SIG_IGN);

  static uint8_t bufs[BATCH][MAX_DATAGRAM];
  struct mmsghdr msgs[BATCH]; struct iovec iovs[BATCH];
  memset(msgs, 0, sizeof msgs);
  for (int i = 0; i < BATCH; i++) {
    iovs[i].iov_base = bufs[i];
    msgs[i].msg_hdr.msg_iov = &iovs[i]; msgs[i].msg_hdr.msg_iovlen = 1;
  }
  uint32_t *seq = calloc((size_t)exporters, sizeof(uint32_t));
  uint64_t *sent_data = calloc((size_t)exporters, sizeof(uint64_t));
  uint8_t *template_due = malloc((size_t)exporters); memset(template_due, 1, (size_t)exporters);
  uint32_t msg_records[BATCH]; uint8_t msg_template[BATCH];

  double avg_rpp = 0; for (uint32_t i = 0; i < n_data; i++) avg_rpp += pool[i].records; avg_rpp /= n_data;
  uint64_t datagrams = 0, records = 0, template_datagrams = 0, bytes = 0, errors = 0, data_index = 0;
  int exporter = 0, done = 0;
  double t0 = mono_s(), next_report = t0 + 1, schedule_base = t0;
  uint64_t records_base = 0; /* the pacing schedule: records_base + (now - schedule_base) * rate */
  double last_report_records = 0;

  while (!done && !stop_requested) {
    double now = mono_s();
    if (duration > 0 && now - t0 >= duration) break;
    if (!quiet && now >= next_report) {
      fprintf(stderr, "loadgen: %.0f s, %llu records (%.0f/s), %llu datagrams\n", now - t0, (unsigned long long)records,
        (records - last_report_records) / (now - next_report + 1), (unsigned long long)datagrams);
      last_report_records = (double)records; next_report += 1;
    }
    /* How many datagrams this exporter sends now: a chunk of up to BATCH, round-robin over exporters. */
    int want = BATCH;
    if (rate > 0) {
      double due = records_base + (now - schedule_base) * rate;
      if (due - (double)records > rate * 0.1) { /* more than 100 ms behind: give up that part of the schedule */
        records_base = records; schedule_base = now; due = (double)records;
      }
      double missing = due - (double)records;
      if (missing <= 0) { /* ahead of the schedule: sleep until it catches up, 1 to 10 ms */
        double wait = -missing / rate; wait = wait < 0.001 ? 0.001 : wait > 0.01 ? 0.01 : wait;
        struct timespec ts = {0, (long)(wait * 1e9)}; nanosleep(&ts, NULL); continue;
      }
      double per_exporter = missing / avg_rpp / exporters;
      want = per_exporter < 1 ? 1 : per_exporter > BATCH ? BATCH : (int)(per_exporter + 0.999);
    }
    int n = 0;
    double now_wall = wall_ms();
    uint32_t export_s = (uint32_t)(now_wall / 1000);
    int64_t shift = (int64_t)(now_wall - gen_ms);
    while (n < want) {
      if (template_due[exporter]) {
        /* Templates first, and again before the data packet that follows every template-every'th one. */
        memcpy(bufs[n], tmpl, tlen); iovs[n].iov_len = tlen;
        put32be(bufs[n] + 4, export_s); put32be(bufs[n] + 8, seq[exporter]);
        msg_records[n] = 0; msg_template[n] = 1; template_due[exporter] = 0; n++;
        continue;
      }
      const packet_t *p = data_index == final_index ? &final_packet : &pool[data_index % n_data];
      memcpy(bufs[n], p->bytes, p->len); iovs[n].iov_len = p->len;
      put32be(bufs[n] + 4, export_s); put32be(bufs[n] + 8, seq[exporter]);
      shift_times(bufs[n], p->len, shift);
      msg_records[n] = p->records; msg_template[n] = 0; n++;
      seq[exporter] += p->records; sent_data[exporter]++;
      if (template_every > 0 && sent_data[exporter] % (uint64_t)template_every == 0) template_due[exporter] = 1;
      if (data_index++ == final_index) { done = 1; break; }
    }
    /* Send the chunk from this exporter's socket. Failed attempts are counted in send_errors; a
       datagram given up is not counted in datagrams / records. */
    int off = 0;
    while (off < n) {
      int r = sendmmsg(fds[exporter], msgs + off, (unsigned)(n - off), 0);
      if (r < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == ENOBUFS) { struct timespec ts = {0, 100000}; nanosleep(&ts, NULL); continue; }
        errors++;
        /* ECONNREFUSED: an ICMP port unreachable for an earlier datagram (nobody listened); this one
           was not sent, try it again. Anything else: give this datagram up. */
        if (errno != ECONNREFUSED) off++;
        continue;
      }
      for (int i = off; i < off + r; i++) {
        bytes += iovs[i].iov_len; datagrams++; records += msg_records[i]; template_datagrams += msg_template[i];
      }
      off += r;
    }
    exporter = (exporter + 1) % exporters;
  }
  double seconds = mono_s() - t0;
  struct rusage ru; getrusage(RUSAGE_SELF, &ru);
  double cpu = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
  printf("{\"datagrams\":%llu,\"records\":%llu,\"templates\":%llu,\"template_datagrams\":%llu,\"seconds\":%.6f,\"bytes\":%llu,\"send_errors\":%llu,\"cpu_s\":%.3f}\n",
    (unsigned long long)datagrams, (unsigned long long)records, (unsigned long long)(template_datagrams * template_records),
    (unsigned long long)template_datagrams, seconds, (unsigned long long)bytes, (unsigned long long)errors, cpu);
  fflush(stdout);
  return 0;
}
