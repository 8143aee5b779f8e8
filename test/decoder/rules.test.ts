// Decoder rules on crafted packets (hex): templates, fields, sets, caps and bad input.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WasmDecoder, decodeStatuses, DECODE_PROTECTED, DECODE_RELIABLE, type DecoderOptions } from '../../src/decoder/wasm.js';
import { hex, set, ipfix, v9, address } from '../support/packets.js';

const T0 = 1_700_000_000_000;
const exporter = address('192.0.2.1');

function decoder(options: Partial<DecoderOptions> = {}): WasmDecoder {
  return new WasmDecoder(options);
}

function decode(d: WasmDecoder, pkt: Uint8Array, opts: { addr?: Uint8Array; port?: number; now?: number; protect?: boolean; reliable?: boolean } = {}) {
  const n = d.decode(pkt, opts.addr ?? exporter, opts.port ?? 40000, opts.now ?? T0, (opts.protect ? DECODE_PROTECTED : 0) | (opts.reliable ? DECODE_RELIABLE : 0));
  const text = n > 0 ? Buffer.from(d.output.subarray(0, d.outputLength())).toString() : '';
  const lines = text ? text.trimEnd().split('\n') : [];
  return { n, lines, records: lines.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

function status(d: WasmDecoder, reason: string): number {
  const code = decodeStatuses().indexOf(reason);
  assert.ok(code > 0, `unknown reason ${reason}`);
  return d.counters().statuses[code]!;
}

// Template 256: src, dst (IPv4), srcp, dstp, proto, flags (2 bytes), octets and packets
// (8 bytes), flowStart/EndMilliseconds.
const tmpl256 = set(2, `
  0100 000a                     # template 256, 10 fields
  0008 0004  000c 0004          # sourceIPv4Address, destinationIPv4Address
  0007 0002  000b 0002          # source/destinationTransportPort
  0004 0001  0006 0002          # protocolIdentifier, tcpControlBits
  0001 0008  0002 0008          # octetDeltaCount, packetDeltaCount
  0098 0008  0099 0008          # flowStart/EndMilliseconds
`);
const data256 = set(256, `
  c0000201 c6336407  d431 0050  06 0012  00000000000005dc 000000000000000a  0000018bcfe56800 0000018bcfe56be8
`);

test('a template and its data set give one JSON line with KFlow names first', () => {
  const d = decoder();
  const r = decode(d, ipfix({ exportTime: 1700000100, domain: 7 }, tmpl256, data256));
  assert.equal(r.n, 1);
  assert.equal(r.lines[0], '{"dvc":"192.0.2.1","src":"192.0.2.1","srcp":54321,"dst":"198.51.100.7","dstp":80,"proto":6,"flags":18,' +
    '"bytes":1500,"pkts":10,"time":1700000100000,"start":1700000000000,"end":1700000001000,"version":10,"odid":7,"tid":256}');
  assert.equal(d.counters().templatesDefined, 1);
  assert.equal(d.counters().records, 1);
});

test('the index gives each record its end offset and a flow hash that depends on the 5-tuple', () => {
  const d = decoder();
  const two = set(256, `
    c0000201 c6336407 d431 0050 06 0012 00000000000005dc 000000000000000a 0000018bcfe56800 0000018bcfe56be8
    c0000201 c6336407 d432 0050 06 0012 00000000000005dc 000000000000000a 0000018bcfe56800 0000018bcfe56be8
    c0000201 c6336407 d431 0050 06 0012 0000000000000001 0000000000000001 0000018bcfe56800 0000018bcfe56be8`);
  const r = decode(d, ipfix({}, tmpl256, two));
  assert.equal(r.n, 3);
  const { entries, stride, endAt, hashAt, gap } = d.index;
  const ends = [0, 1, 2].map((k) => entries[k * stride + endAt]!);
  const hashes = [0, 1, 2].map((k) => entries[k * stride + hashAt]!);
  assert.equal(ends[2]! + gap, d.outputLength());
  for (const e of ends) assert.equal(d.output[e], 10);
  assert.deepEqual(r.lines, [0, 1, 2].map((k) => Buffer.from(d.output.subarray(k === 0 ? 0 : ends[k - 1]! + gap, ends[k])).toString()));
  assert.notEqual(hashes[0], hashes[1]); // another source port
  assert.equal(hashes[0], hashes[2]); // same 5-tuple, other counters
});

test('reduced-size encoding: integers of 1 to 8 bytes are read big-endian', () => {
  const d = decoder();
  const t = set(2, `0101 0004  0001 0003  0002 0001  000a 0002  0008 0004`); // octets in 3 bytes, packets in 1, ingress in 2
  const r = decode(d, ipfix({}, t, set(257, `01e240 07 0102 0a000001   ffffff ff ffff 0a000002`)));
  assert.equal(r.n, 2);
  assert.deepEqual([r.records[0]!.bytes, r.records[0]!.pkts, r.records[0]!.in_if], [123456, 7, 258]);
  assert.deepEqual([r.records[1]!.bytes, r.records[1]!.pkts, r.records[1]!.in_if], [0xffffff, 255, 0xffff]);
});

test('variable-length fields with 1- and 3-byte length prefixes are stepped over and the record keeps its other fields', () => {
  const d = decoder();
  // pmacct's label: enterprise 43874 element 3, variable length, between the two addresses.
  const t = set(2, `0102 0003  0008 0004  8003 ffff 0000ab62  000c 0004`);
  const long = 'ab'.repeat(300);
  const body = `0a000001 03 776562 0a000002   0a000003 ff 012c ${long} 0a000004   0a000005 00 0a000006`;
  const r = decode(d, ipfix({}, t, set(258, body)));
  assert.equal(r.n, 3);
  assert.deepEqual(r.records.map((x) => [x.src, x.dst]), [['10.0.0.1', '10.0.0.2'], ['10.0.0.3', '10.0.0.4'], ['10.0.0.5', '10.0.0.6']]);
});

test('a variable-length field that runs past its set ends the set as bad_record, keeping the records before it', () => {
  const d = decoder();
  const t = set(2, `0102 0002  0008 0004  8003 ffff 0000ab62`);
  const r = decode(d, ipfix({}, t, set(258, `0a000001 01 77   0a000002 09 7777`)));
  assert.equal(r.n, 1);
  assert.equal(status(d, 'bad_record'), 1);
});

test('enterprise and unknown elements are skipped by length; RFC 5103 reverse counters become rbytes and rpkts', () => {
  const d = decoder();
  const t = set(2, `
    0103 0006
    0008 0004  000c 0004
    8001 0008 0000ab62          # enterprise 43874 element 1, 8 bytes: skipped
    01f4 0002                   # element 500, unknown to the decoder: skipped
    8001 0004 00007279          # reverse octetDeltaCount (PEN 29305), reduced to 4 bytes
    8002 0004 00007279          # reverse packetDeltaCount`);
  const r = decode(d, ipfix({}, t, set(259, `0a000001 0a000002 1122334455667788 abcd 00000fa0 00000003`)));
  assert.equal(r.n, 1);
  assert.equal(r.records[0]!.src, '10.0.0.1');
  assert.equal(r.records[0]!.dst, '10.0.0.2');
  assert.equal(r.records[0]!.rbytes, 4000);
  assert.equal(r.records[0]!.rpkts, 3);
});

test('a repeated element: the first one is kept; octetDeltaCount wins over an earlier octetTotalCount', () => {
  const d = decoder();
  const t = set(2, `0104 0005  0055 0004  0008 0004  0001 0004  0008 0004  0001 0004`);
  const r = decode(d, ipfix({}, t, set(260, `00000009 0a000001 00000005 0a000002 00000007`)));
  assert.equal(r.records[0]!.bytes, 5);
  assert.equal(r.records[0]!.src, '10.0.0.1');
});

test('a redefined template replaces the old one; sending the same one again only refreshes it', () => {
  const d = decoder();
  decode(d, ipfix({}, set(2, `0105 0001 0008 0004`)));
  decode(d, ipfix({}, set(2, `0105 0001 0008 0004`)));
  assert.deepEqual([d.counters().templatesDefined, d.counters().templatesRefreshed], [1, 1]);
  decode(d, ipfix({}, set(2, `0105 0002 000c 0004 0008 0004`)));
  assert.deepEqual([d.counters().templatesDefined, d.counters().templates], [2, 1]);
  const r = decode(d, ipfix({}, set(261, `0a000001 0a000002`)));
  assert.equal(r.records[0]!.dst, '10.0.0.1');
  assert.equal(r.records[0]!.src, '10.0.0.2');
});

test('withdrawals are ignored by default (RFC 7011 section 8.4: over UDP they MUST be ignored) and counted', () => {
  const d = decoder();
  decode(d, ipfix({}, set(2, `0106 0001 0008 0004`), set(3, `0108 0002 0001  0094 0004  0022 0004`)));
  decode(d, ipfix({}, set(2, `0106 0000   0002 0000`), set(3, `0003 0000`)));
  assert.equal(d.counters().templates, 2);
  assert.deepEqual([d.counters().withdrawalsIgnored, d.counters().withdrawalsApplied, d.counters().templatesWithdrawn], [3, 0, 0]);
  assert.equal(decode(d, ipfix({}, set(262, `0a000001`))).n, 1);
  // NetFlow v9 (RFC 3954) has no withdrawal: a field count of 0 there is ignored the same way.
  decode(d, v9({ uptime: 1000, unixSecs: 1700000000 }, set(0, `0100 0001 0008 0004`)));
  decode(d, v9({ uptime: 1000, unixSecs: 1700000000 }, set(0, `0100 0000`)));
  assert.equal(decode(d, v9({ uptime: 1000, unixSecs: 1700000000 }, set(256, `0a000001`))).n, 1);
  assert.equal(d.counters().withdrawalsIgnored, 4);
});

test('with udpWithdrawals apply, a withdrawal (field count 0) forgets a template; id 2 withdraws all data templates but not options templates', () => {
  const d = decoder({ udpWithdrawals: 'apply' });
  const defs = ipfix({},
    set(2, `0106 0001 0008 0004   0107 0001 0008 0004`),
    set(3, `0108 0002 0001  0094 0004  0022 0004`)); // options 264: scope observationDomainId, samplingInterval
  decode(d, defs);
  assert.equal(d.counters().templates, 3);
  decode(d, ipfix({}, set(2, `0106 0000`)));
  assert.equal(d.counters().templates, 2);
  assert.equal(decode(d, ipfix({}, set(262, `0a000001`))).n, 0);
  assert.equal(status(d, 'unknown_template'), 1);
  decode(d, ipfix({}, set(2, `0002 0000`)));
  assert.equal(d.counters().templates, 1);
  assert.equal(d.counters().templatesWithdrawn, 2);
  decode(d, ipfix({}, set(3, `0003 0000`)));
  assert.equal(d.counters().templates, 0);
  assert.deepEqual([d.counters().withdrawalsApplied, d.counters().withdrawalsIgnored], [3, 0]);
});

test('a template not sent again within its lifetime is forgotten, on use and at sweep', () => {
  const d = decoder({ templateLifetimeSec: 10 });
  decode(d, ipfix({}, set(2, `0109 0001 0008 0004   010a 0001 0008 0004`)), { now: T0 });
  assert.equal(decode(d, ipfix({}, set(265, `0a000001`)), { now: T0 + 9_000 }).n, 1);
  assert.equal(decode(d, ipfix({}, set(265, `0a000001`)), { now: T0 + 11_000 }).n, 0);
  assert.equal(d.counters().templatesExpired, 1);
  d.sweep(T0 + 11_000);
  assert.equal(d.counters().templatesExpired, 2);
  assert.equal(d.counters().templates, 0);
});

test('data sets before their template are held and decoded when it comes; unclaimed ones expire and are counted', () => {
  const d = decoder({ heldMaxAgeMs: 5_000 });
  assert.equal(decode(d, ipfix({ exportTime: 1700000001 }, set(267, `0a000001 0a000002`)), { now: T0 }).n, 0);
  assert.equal(decode(d, ipfix({}, set(268, `0a000009`)), { now: T0 }).n, 0);
  assert.equal(status(d, 'unknown_template'), 2);
  assert.equal(d.counters().heldSets, 2);
  const r = decode(d, ipfix({ exportTime: 1700000002 }, set(2, `010b 0001 0008 0004`)), { now: T0 + 1_000 });
  assert.equal(r.n, 2);
  assert.deepEqual(r.records.map((x) => x.src), ['10.0.0.1', '10.0.0.2']);
  assert.equal(r.records[0]!.time, 1700000001000); // the held message's own export time
  assert.deepEqual([d.counters().heldSetsReleased, d.counters().heldRecordsReleased, d.counters().heldSets], [1, 2, 1]);
  d.sweep(T0 + 6_000);
  assert.equal(status(d, 'held_expired'), 1);
  assert.deepEqual([d.counters().heldSets, d.counters().heldBytes, d.counters().heldBytesExpired], [0, 0, 4]);
});

test('held data is bounded per template and in total: what does not fit is held_overflow', () => {
  const d = decoder({ heldPerTemplateBytes: 8, heldMaxBytes: 12 });
  decode(d, ipfix({}, set(300, `0a000001`)));
  decode(d, ipfix({}, set(300, `0a000001`)));
  decode(d, ipfix({}, set(300, `0a000001`)));
  assert.equal(status(d, 'held_overflow'), 1);
  decode(d, ipfix({}, set(301, `0a0000010a000001`)));
  assert.equal(status(d, 'held_overflow'), 2);
  assert.equal(d.counters().heldBytes, 8);
});

test('a field count of 0 is a withdrawal, never a loop; an options template with scope count 0 is bad_template', () => {
  const d = decoder();
  // A set full of zero-count template records.
  decode(d, ipfix({}, set(2, '0110 0000 '.repeat(100))));
  assert.equal(status(d, 'bad_template'), 0);
  decode(d, ipfix({}, set(3, `0111 0001 0000 0008 0004`)));
  assert.equal(status(d, 'bad_template'), 1);
  decode(d, ipfix({}, set(2, `00ff 0001 0008 0004`))); // template ids below 256 are reserved
  assert.equal(status(d, 'bad_template'), 2);
  decode(d, ipfix({}, set(2, `0112 0003 0008 0004`))); // three fields announced, one sent
  assert.equal(status(d, 'bad_template'), 3);
  assert.equal(d.counters().templates, 0);
});

test('a template whose fields are all of length 0 is rejected: its records would be empty', () => {
  const d = decoder();
  decode(d, ipfix({}, set(2, `0113 0002 0008 0000 000c 0000`)));
  assert.equal(status(d, 'bad_template'), 1);
  assert.equal(decode(d, ipfix({}, set(275, '00'.repeat(40)))).n, 0);
});

test('a set longer than the message is bad_set; the sets before it are still decoded', () => {
  const d = decoder();
  const good = ipfix({}, tmpl256, data256);
  const broken = new Uint8Array([...good, 0x01, 0x00, 0x00, 0x40, 0xaa, 0xbb]);
  new DataView(broken.buffer).setUint16(2, broken.length); // message length covers the broken set
  const r = decode(d, broken);
  assert.equal(r.n, 1);
  assert.equal(status(d, 'bad_set'), 1);
  const tiny = ipfix({}, hex('0100 0002'));
  assert.equal(decode(d, tiny).n, 0);
  assert.equal(status(d, 'bad_set'), 2);
});

test('message headers: short, wrong version and wrong length are rejected whole, each with its reason', () => {
  const d = decoder();
  assert.equal(decode(d, hex('000a 0010 0000')).n, -decodeStatuses().indexOf('truncated_header'));
  assert.equal(decode(d, hex('0007 0010 00000000 00000000 00000000')).n, -decodeStatuses().indexOf('bad_version'));
  assert.equal(decode(d, hex('000a 0020 00000000 00000000 00000000')).n, -decodeStatuses().indexOf('bad_length'));
  assert.equal(decode(d, hex('000a 000c 00000000 00000000 00000000')).n, -decodeStatuses().indexOf('bad_length'));
  assert.equal(decode(d, hex('')).n, -decodeStatuses().indexOf('truncated_header'));
  assert.deepEqual(['truncated_header', 'bad_version', 'bad_length'].map((r) => status(d, r)), [2, 1, 2]);
  // A datagram longer than its message: only the message is read.
  const msg = ipfix({}, tmpl256, data256);
  assert.equal(decode(d, new Uint8Array([...msg, 1, 2, 3])).n, 1);
});

test('truncation at every offset gives a known status or fewer records, never a trap', () => {
  const full = ipfix({}, tmpl256, data256, data256);
  const netflow9 = v9({ uptime: 100000, unixSecs: 1700000000 },
    set(0, `0100 0003 0008 0004 000c 0004 0001 0004`),
    set(256, `0a000001 0a000002 00000010   0a000003 0a000004 00000020`));
  for (const pkt of [full, netflow9]) {
    const whole = decode(decoder(), pkt).n;
    assert.equal(whole, 2);
    for (let len = 0; len < pkt.length; len++) {
      const d = decoder();
      const n = decode(d, pkt.subarray(0, len)).n;
      assert.ok(n >= 0 ? n < whole : decodeStatuses()[-n] !== undefined && n !== 0, `prefix ${len}: ${n}`);
    }
  }
});

test('options records are never emitted; their sampling applies to records, per selector id when records name one', () => {
  const d = decoder();
  const defs = ipfix({},
    set(3, `0120 0003 0001  0095 0004  0131 0004  0132 0004`), // scope domain; samplingPacketInterval/Space
    set(3, `0121 0003 0001  012e 0004  0131 0004  0132 0004`), // scope selectorId 302
    set(2, `0122 0001 0008 0004   0123 0002 0008 0004 012e 0004`));
  decode(d, defs);
  const opts = ipfix({}, set(288, `00000000 00000001 00000009`), set(289, `00000007 00000001 00000063`));
  assert.equal(decode(d, opts).n, 0);
  assert.equal(d.counters().optionsRecords, 2);
  const r = decode(d, ipfix({}, set(290, `0a000001`), set(291, `0a000002 00000007`)));
  assert.deepEqual(r.records.map((x) => x.sampling), [10, 100]);
});

test('IPFIX flowStart/EndSysUpTime are placed with systemInitTimeMilliseconds from an options record', () => {
  const d = decoder();
  decode(d, ipfix({},
    set(3, `0124 0002 0001 0094 0004 00a0 0008`), // scope domain, systemInitTimeMilliseconds
    set(2, `0125 0003 0008 0004 0016 0004 0015 0004`)));
  const before = decode(d, ipfix({}, set(293, `0a000001 000003e8 000007d0`)));
  assert.equal(before.records[0]!.start, undefined); // no clock to place them on yet
  decode(d, ipfix({}, set(292, `00000000 0000018bcfe56800`)));
  const after = decode(d, ipfix({}, set(293, `0a000001 000003e8 000007d0`)));
  assert.deepEqual([after.records[0]!.start, after.records[0]!.end], [1700000001000, 1700000002000]);
});

test('NetFlow v9: switch times relative to sysUptime become epoch ms; an options record with scope System sets the sampling rate', () => {
  const d = decoder();
  const r = decode(d, v9({ uptime: 600_000, unixSecs: 1700000600 },
    set(1, `0101 0004 0004  0001 0004  0022 0004  0000`),       // options 257: scope System, samplingInterval, padding
    set(0, `0100 0004 0008 0004 000c 0004 0016 0004 0015 0004`), // FIRST_SWITCHED, LAST_SWITCHED
    set(257, `00000000 00000200`),
    set(256, `0a000001 0a000002 00075300 000927c0`)));
  assert.equal(r.n, 1);
  // unix 1700000600 s at uptime 600 s: 480 s of uptime is 120 s before.
  assert.equal(r.records[0]!.start, 1700000480000);
  assert.equal(r.records[0]!.end, 1700000600000);
  assert.equal(r.records[0]!.sampling, 512);
  assert.equal(r.records[0]!.version, 9);
});

test('templates are kept per exporter address, port and domain; ignoreExporterPort shares them across ports', () => {
  const defs = ipfix({ domain: 1 }, set(2, `0130 0001 0008 0004`));
  const data = (domain: number) => ipfix({ domain }, set(304, `0a000001`));
  const strict = decoder();
  decode(strict, defs, { port: 1000 });
  assert.equal(decode(strict, data(1), { port: 1000 }).n, 1);
  assert.equal(decode(strict, data(1), { port: 1001 }).n, 0);
  assert.equal(decode(strict, data(2), { port: 1000 }).n, 0);
  assert.equal(decode(strict, data(1), { port: 1000, addr: address('192.0.2.2') }).n, 0);
  const loose = decoder({ ignoreExporterPort: true });
  decode(loose, defs, { port: 1000 });
  assert.equal(decode(loose, data(1), { port: 1001 }).n, 1);
});

test('sequence numbers: a gap is counted as estimated lost records, a large step back as an exporter restart', () => {
  const d = decoder();
  decode(d, ipfix({ seq: 0 }, set(2, `0131 0001 0008 0004`)));
  decode(d, ipfix({ seq: 0 }, set(305, `0a000001 0a000002`)));
  decode(d, ipfix({ seq: 2 }, set(305, `0a000001`)));
  assert.equal(d.counters().sequenceLostRecords, 0);
  decode(d, ipfix({ seq: 13 }, set(305, `0a000001`))); // 10 records never arrived
  assert.equal(d.counters().sequenceLostRecords, 10);
  decode(d, ipfix({ seq: 90_000 }, set(305, `0a000001`))); // within the window (100,000 by default): lost
  decode(d, ipfix({ seq: 1 }, set(305, `0a000001`)));
  assert.equal(d.counters().exporterRestarts, 1);
  assert.equal(d.counters().sequenceLostRecords, 10 + 89_986);
  assert.deepEqual([d.counters().sequenceOutOfWindow, d.counters().sequenceResets], [0, 0]);
});

test('IPv6 exporters and addresses are written in RFC 5952 form', () => {
  const d = decoder();
  decode(d, ipfix({}, set(2, `0132 0002 001b 0010 001c 0010`)), { addr: address('2001:db8::7') });
  const r = decode(d, ipfix({}, set(306, `
    20010db8000000000001000000000001  00000000000000000000ffffc0000201
    fe800000000000000000000000000000  00010000000000000000000000000000`)), { addr: address('2001:db8::7') });
  assert.equal(r.records[0]!.dvc, '2001:db8::7');
  assert.deepEqual(r.records.map((x) => [x.src, x.dst]), [['2001:db8::1:0:0:1', '::ffff:192.0.2.1'], ['fe80::', '1::']]);
});

test('caps: templates per exporter, fields per template and exporters are bounded, each with its reason', () => {
  // Protected exporters: an unprotected one would evict the least recently used session instead (sessions.test.ts).
  const protect = true;
  const d = decoder({ maxTemplatesPerExporter: 2, maxSessions: 2 });
  decode(d, ipfix({}, set(2, `0140 0001 0008 0004  0141 0001 0008 0004  0142 0001 0008 0004`)), { protect });
  assert.equal(d.counters().templates, 2);
  assert.equal(status(d, 'template_limit'), 1);
  const many = '0150 0101 ' + '0008 0004 '.repeat(257);
  decode(d, ipfix({}, set(2, many)), { protect });
  assert.equal(status(d, 'too_many_fields'), 1);
  decode(d, ipfix({ domain: 1 }, set(2, `0143 0001 0008 0004`)), { protect });
  assert.equal(decode(d, ipfix({ domain: 2 }, set(2, `0143 0001 0008 0004`)), { protect }).n, -decodeStatuses().indexOf('exporter_limit'));
  assert.equal(d.counters().sessions, 2);
});

test('NetFlow v5: records are decoded with the header sampling rate; a count beyond the datagram is bad_length', () => {
  const d = decoder();
  const rec = `0a000001 0a000002 0a0000fe 0001 0002 0000000a 000005dc 00001388 00002710 1f90 0050 00 1b 06 00 fde8 fde9 18 18 0000`;
  const pkt = hex(`0005 0001 00002710 6553f100 00000000 00000064 00 00 4064 ${rec}`);
  const r = decode(d, pkt);
  assert.equal(r.n, 1);
  const x = r.records[0]!;
  assert.deepEqual([x.src, x.dst, x.next_hop, x.srcp, x.dstp, x.proto, x.flags, x.bytes, x.pkts, x.src_as, x.dst_as, x.sampling],
    ['10.0.0.1', '10.0.0.2', '10.0.0.254', 8080, 80, 6, 27, 1500, 10, 65000, 65001, 100]);
  assert.equal(x.start, 1700000000000 - 5_000);
  assert.equal(x.end, 1700000000000);
  assert.equal(x.tid, undefined);
  assert.equal(decode(d, hex(`0005 0002 00002710 6553f100 00000000 00000064 00 00 0000 ${rec}`)).n, -decodeStatuses().indexOf('bad_length'));
});

test('the field list selects fields; KFlow fields absent from a template are 0, absent addresses null', () => {
  const d = decoder({ fields: ['dvc', 'src', 'srcp', 'bytes', 'time', 'vlan'] });
  decode(d, ipfix({}, set(2, `0160 0001 000c 0004`)));
  const r = decode(d, ipfix({ exportTime: 5 }, set(352, `0a000002`)));
  assert.equal(r.lines[0], '{"dvc":"192.0.2.1","src":null,"srcp":0,"bytes":0,"time":5000}');
});

test('held sets are decoded after the whole message that brings their template, so its options data applies to them', () => {
  const d = decoder();
  // Data for template 293 (times relative to systemInitTime) arrives first and is held.
  assert.equal(decode(d, ipfix({}, set(293, `0a000001 000003e8 000007d0`))).n, 0);
  const r = decode(d, ipfix({},
    set(2, `0125 0003 0008 0004 0016 0004 0015 0004`),
    set(3, `0124 0002 0001 0094 0004 00a0 0008`),
    set(292, `00000000 0000018bcfe56800`))); // systemInitTimeMilliseconds comes after the template
  assert.equal(r.n, 1);
  assert.deepEqual([r.records[0]!.start, r.records[0]!.end], [1700000001000, 1700000002000]);
});

test('a selector id with all 30 low bits set keeps its sampling rate', () => {
  const d = decoder();
  decode(d, ipfix({},
    set(3, `0121 0003 0001  012e 0008  0131 0004  0132 0004`), // scope selectorId (8 bytes)
    set(2, `0123 0002 0008 0004 012e 0008`)));
  decode(d, ipfix({}, set(289, `000000007fffffff 00000001 00000007`)));
  const r = decode(d, ipfix({}, set(291, `0a000002 000000007fffffff`)));
  assert.equal(r.records[0]!.sampling, 8);
});
