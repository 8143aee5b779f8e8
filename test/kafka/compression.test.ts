// The codecs of a record batch: each one's output decompresses to its input, and the lz4 and zstd
// frames are the standard ones independent tools read (Debian's lz4 and zstd commands, which check
// the frame's checksums), with the lz4 descriptor Kafka's Java reader needs (independent blocks).
// End to end against the broker and other consumers: test/integration/compression.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { ConfigError, parseConfig } from '../../src/config/load.js';
import { codecId, compress, compressionNames, decompress, kafkajsConsumerCodecs, LZ4_MAX_RECORDS_BYTES } from '../../src/kafka/protocol/compression.js';

// A records section like FlowGate's: JSON flow records, similar but not equal.
const records = Buffer.from(Array.from({ length: 2000 }, (_, i) => JSON.stringify({
  dvc: `10.0.0.${i % 16}`, src: `192.168.${i % 200}.${i % 250}`, srcp: 1024 + (i * 7919) % 60000, dst: `10.1.${i % 50}.${i % 7}`, dstp: 443,
  proto: 6, flags: 24, bytes: 1500 * (i % 40), pkts: (i % 40) + 1, time: 1733500000000 + i * 13,
})).join(''));

const tool = (name: string): boolean => spawnSync(name, ['--version'], { stdio: 'ignore' }).status === 0;

for (const codec of compressionNames.filter((n) => n !== 'none')) {
  test(`${codec}: what it compresses decompresses to the same bytes, smaller`, async () => {
    const packed = await compress(codec, records);
    assert.ok(packed.length < records.length / 3, `${codec}: ${packed.length} of ${records.length} bytes`);
    assert.deepEqual(await decompress(codec, packed), records);
  });
}

test('lz4 writes a standard LZ4 frame marked "independent blocks", which the lz4 command reads', { skip: tool('lz4') ? false : 'no lz4 command (apt-get install lz4)' }, async () => {
  const frame = await compress('lz4', records);
  assert.equal(frame.readUInt32LE(0), 0x184d2204, 'LZ4 frame magic');
  assert.equal(frame[4]! & 0x20, 0x20, 'FLG: block independence (Kafka refuses dependent blocks)');
  assert.equal(frame[5], 0x70, 'BD: 4 MiB blocks');
  const out = spawnSync('lz4', ['-dc'], { input: frame, maxBuffer: 1 << 26 });
  assert.equal(out.status, 0, String(out.stderr)); // it checks the descriptor's checksum
  assert.deepEqual(out.stdout, records);
});

test('zstd writes a standard zstd frame, which the zstd command reads', { skip: tool('zstd') ? false : 'no zstd command (apt-get install zstd)' }, async () => {
  const frame = await compress('zstd', records);
  assert.equal(frame.readUInt32LE(0), 0xfd2fb528, 'zstd frame magic');
  const out = spawnSync('zstd', ['-dc'], { input: frame, maxBuffer: 1 << 26 });
  assert.equal(out.status, 0, String(out.stderr));
  assert.deepEqual(out.stdout, records);
});

test('lz4 refuses a records section larger than one block; the config refuses such batches with lz4 only', async () => {
  await assert.rejects(compress('lz4', Buffer.alloc(LZ4_MAX_RECORDS_BYTES + 1)), RangeError);
  const yaml = (codec: string, bytes: number) => `kafka:\n  compression: ${codec}\n  batch_max_bytes: ${bytes}\n`;
  assert.throws(() => parseConfig(yaml('lz4', LZ4_MAX_RECORDS_BYTES + 1)), (err: Error) => err instanceof ConfigError && /kafka\.batch_max_bytes: at most 4194304 \(4 MiB\) with kafka\.compression lz4/.test(err.message));
  assert.equal(parseConfig(yaml('lz4', LZ4_MAX_RECORDS_BYTES)).kafka.batch_max_bytes, LZ4_MAX_RECORDS_BYTES);
  assert.equal(parseConfig(yaml('zstd', 8 * 1024 * 1024)).kafka.compression, 'zstd');
});

test('kafkajs consumers get every codec but none, under its batch attribute id', async () => {
  const table = kafkajsConsumerCodecs();
  assert.deepEqual([...table.keys()].sort(), ['gzip', 'snappy', 'lz4', 'zstd'].map((n) => codecId(n as 'gzip')).sort());
  const zstd = table.get(codecId('zstd'))!();
  assert.deepEqual(await zstd.decompress(await zstd.compress({ buffer: records })), records);
});
