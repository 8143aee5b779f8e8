// The exporter's sampling rules (routing.sampling, given to decode() per datagram) and
// decoder.scale_counters, on crafted packets: a default rate applies only when the exporter
// announces none, an override wins over whatever it announces, and scale_counters multiplies
// bytes and packets (and their reverse counts) by the rate in force, in JSON and Protobuf alike.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WasmDecoder, NO_SAMPLING, type DecoderOptions, type SamplingRates } from '../../src/decoder/wasm.js';
import { set, ipfix, address, hex, concatBytes } from '../support/packets.js';

const T0 = 1_700_000_000_000;
const EXPORTER = address('192.0.2.1');

// Template 256: src, dst, proto, bytes, pkts, reverse bytes and packets (RFC 5103, PEN 29305).
const plain = set(2, '0100 0007  0008 0004  000c 0004  0004 0001  0001 0008  0002 0008  8001 0008 00007279  8002 0008 00007279');
const plainRecord = (bytes: string, pkts: string) => set(256, `c0000201 c6336407 06 ${bytes} ${pkts} 00000000000001f4 0000000000000005`);
const PLAIN = plainRecord('00000000000003e8', '000000000000000a'); // 1000 bytes, 10 packets, reverse 500 and 5
// Template 257: src, dst, bytes, pkts and the record's own samplingInterval (IE 34): 16.
const announced = set(2, '0101 0005  0008 0004  000c 0004  0001 0008  0002 0008  0022 0004');
const ANNOUNCED = set(257, 'c0000201 c6336407 00000000000003e8 000000000000000a 00000010');
// Options template 258 (scope observationDomainId, samplingInterval): the exporter announces 64 for all its records.
const optionsTemplate = set(3, '0102 0002 0001  0095 0004  0022 0004');
const OPTIONS = set(258, '00000000 00000040');

const rates = (defaultRate: number, overrideRate: number): SamplingRates => ({ defaultRate, overrideRate });

/** The JSON records of one datagram decoded with `sampling`. */
function records(d: WasmDecoder, pkt: Uint8Array, sampling: SamplingRates = NO_SAMPLING): Record<string, unknown>[] {
  const n = d.decode(pkt, EXPORTER, 4739, T0, 0, sampling);
  assert.ok(n >= 0, `decode failed: ${n}`);
  return Buffer.from(d.output).toString('utf8', 0, d.outputLength()).split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
}

function decoder(o: Partial<DecoderOptions> = {}): WasmDecoder {
  const d = new WasmDecoder(o);
  assert.equal(d.decode(ipfix({}, plain, announced), EXPORTER, 4739, T0), 0);
  return d;
}

test('no rule and nothing announced: no sampling field, counts as sent', () => {
  const [r] = records(decoder(), ipfix({}, PLAIN));
  assert.equal(r!.sampling, undefined);
  assert.deepEqual([r!.bytes, r!.pkts], [1000, 10]);
});

test('a default rate applies only when the exporter announces none', () => {
  const d = decoder();
  assert.equal(records(d, ipfix({}, PLAIN), rates(100, 0))[0]!.sampling, 100, 'nothing announced: the default');
  assert.equal(records(d, ipfix({}, ANNOUNCED), rates(100, 0))[0]!.sampling, 16, 'the record\'s own rate wins over the default');
  records(d, ipfix({}, optionsTemplate, OPTIONS));
  assert.equal(records(d, ipfix({}, PLAIN), rates(100, 0))[0]!.sampling, 64, 'a rate announced in options data wins over the default');
  assert.equal(records(d, ipfix({}, PLAIN))[0]!.sampling, 64, 'without the rule the announced rate stays');
});

test('an override wins over whatever the exporter announces, and over the default', () => {
  const d = decoder();
  assert.equal(records(d, ipfix({}, ANNOUNCED), rates(0, 500))[0]!.sampling, 500);
  assert.equal(records(d, ipfix({}, PLAIN), rates(100, 500))[0]!.sampling, 500);
  records(d, ipfix({}, optionsTemplate, OPTIONS));
  assert.equal(records(d, ipfix({}, PLAIN), rates(0, 500))[0]!.sampling, 500);
  assert.equal(records(d, ipfix({}, PLAIN))[0]!.sampling, 64, 'the next datagram without the override: the announced rate again');
});

test('scale_counters off (the default): counts are left as sent whatever the rate', () => {
  const [r] = records(decoder(), ipfix({}, PLAIN), rates(0, 100));
  assert.deepEqual([r!.sampling, r!.bytes, r!.pkts, r!.rbytes, r!.rpkts], [100, 1000, 10, 500, 5]);
});

test('scale_counters multiplies bytes, packets and the reverse counts by the rate in force; the sampling field keeps the rate', () => {
  const d = decoder({ scaleCounters: true });
  const [byDefault] = records(d, ipfix({}, PLAIN), rates(100, 0));
  assert.deepEqual([byDefault!.sampling, byDefault!.bytes, byDefault!.pkts, byDefault!.rbytes, byDefault!.rpkts], [100, 100_000, 1000, 50_000, 500]);
  const [own] = records(d, ipfix({}, ANNOUNCED), rates(100, 0));
  assert.deepEqual([own!.sampling, own!.bytes, own!.pkts], [16, 16_000, 160], 'the record\'s own rate, not the default');
  const [overridden] = records(d, ipfix({}, ANNOUNCED), rates(0, 3));
  assert.deepEqual([overridden!.sampling, overridden!.bytes, overridden!.pkts], [3, 3000, 30]);
});

test('scale_counters leaves counts alone when the rate is 0 (unknown) or 1', () => {
  const d = decoder({ scaleCounters: true });
  const [none] = records(d, ipfix({}, PLAIN));
  assert.deepEqual([none!.sampling, none!.bytes, none!.pkts, none!.rbytes], [undefined, 1000, 10, 500]);
  const [one] = records(d, ipfix({}, PLAIN), rates(0, 1));
  assert.deepEqual([one!.sampling, one!.bytes, one!.pkts, one!.rbytes], [1, 1000, 10, 500]);
});

test('scale_counters saturates at 2^64 - 1 instead of wrapping', () => {
  const d = decoder({ scaleCounters: true });
  const n = d.decode(ipfix({}, plainRecord('ffffffffffff0000', '4000000000000000')), EXPORTER, 4739, T0, 0, rates(0, 4));
  assert.equal(n, 1);
  const line = Buffer.from(d.output).toString('utf8', 0, d.outputLength());
  assert.match(line, /"bytes":18446744073709551615,/);
  assert.match(line, /"pkts":18446744073709551615,/, '2^62 * 4 = 2^64 saturates too');
});

test('NetFlow v5: the header\'s rate is announced (the default does not apply), an override replaces it; both scale', () => {
  // Header: version 5, 1 record, uptime, secs, nsecs, sequence, engine type/id, sampling mode 1 interval 10.
  const header = hex('0005 0001 00010000 6553f100 00000000 00000000 00 00 400a');
  // src, dst, next hop, in/out if, 3 packets, 300 bytes, first, last, ports, pad, flags, proto 6, tos, ASes, masks, pad.
  const body = hex('c0000201 c6336407 00000000 0001 0002 00000003 0000012c 00008000 00009000 0050 1f90 00 02 06 00 0000 0000 18 18 0000');
  const d = new WasmDecoder({ scaleCounters: true });
  const v5 = concatBytes(header, body);
  const [announcedRate] = records(d, v5, rates(100, 0));
  assert.deepEqual([announcedRate!.sampling, announcedRate!.bytes, announcedRate!.pkts], [10, 3000, 30]);
  const [overridden] = records(d, v5, rates(100, 7));
  assert.deepEqual([overridden!.sampling, overridden!.bytes, overridden!.pkts], [7, 2100, 21]);
});

/** The varint fields of one FlowMessage (bare, no length prefix) by field number. */
function varintFields(bytes: Uint8Array): Map<number, bigint> {
  const out = new Map<number, bigint>();
  let i = 0;
  const varint = (): bigint => {
    let v = 0n, shift = 0n;
    for (;;) {
      const b = bytes[i++]!;
      v |= BigInt(b & 0x7f) << shift;
      if (b < 0x80) return v;
      shift += 7n;
    }
  };
  while (i < bytes.length) {
    const key = Number(varint());
    if ((key & 7) === 0) out.set(key >>> 3, varint());
    else {
      const length = Number(varint()); // bytes: skipped
      i += length;
    }
  }
  return out;
}

test('Protobuf output: bytes and packets scaled alike, sampling_rate the rate in force', () => {
  const d = new WasmDecoder({ scaleCounters: true, recordFormat: 'protobuf-bare' });
  d.decode(ipfix({}, plain), EXPORTER, 4739, T0);
  assert.equal(d.decode(ipfix({}, PLAIN), EXPORTER, 4739, T0, 0, rates(0, 100)), 1);
  const fields = varintFields(d.output.subarray(0, d.index.entries[d.index.endAt]!));
  assert.deepEqual([fields.get(3), fields.get(9), fields.get(10)], [100n, 100_000n, 1000n]);
});
