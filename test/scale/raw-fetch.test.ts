// Role decode reads the raw topic with FlowGate's own Fetch (scale/raw-consumer.ts), kafkajs's
// consumer only keeping the group: batches a receiver compressed with each codec are read; a
// second decoder joining mid-stream takes partitions over while the first goes on with those it
// keeps, and nothing is lost (what is delivered twice is at most what the first had taken and not
// committed); a decoder whose Kafka queue fills waits for room and drops nothing. Real processes, real UDP, the test broker.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { testBrokers } from '../support/broker.js';
import { topicCounts, waitForCount } from '../support/kafka-topics.js';
import { send, exporterSocket, expectedRecords } from '../support/exporter.js';
import { waitUntil } from '../support/wait.js';
import { roleCapture, roleConfigYaml, roleNames, startGateway } from '../support/roles.js';

for (const codec of ['gzip', 'snappy', 'lz4', 'zstd']) {
  test(`a raw topic a receiver wrote with ${codec} is read and decoded whole`, async (t) => {
    const datagrams = roleCapture();
    const expected = expectedRecords(datagrams);
    const n = roleNames('f');
    const receiver = await startGateway(t, roleConfigYaml('receive', n, { compression: codec }));
    const decoder = await startGateway(t, roleConfigYaml('decode', n));
    const socket = await exporterSocket(t);
    await send(socket, receiver.listening!.udp.v4!, datagrams, (m) => m);
    assert.equal(await waitForCount(testBrokers(), n.tenant, expected.full), expected.full);
    const m = await decoder.metricsWhen('every datagram consumed', (x) => (x.get('flowgate_raw_datagrams_consumed_total') ?? 0) >= datagrams.length);
    assert.equal(m.get('flowgate_raw_datagrams_consumed_total'), datagrams.length);
    for (const reason of ['raw_version', 'raw_truncated', 'raw_no_value']) assert.equal(m.get(`flowgate_raw_messages_skipped_total{reason="${reason}"}`), 0, reason);
    assert.equal(m.get('flowgate_raw_fetch_errors_total'), 0);
  });
}

test('a second decoder joining mid-stream takes partitions over: nothing lost, duplicates at most what the first had not committed', async (t) => {
  const datagrams = roleCapture();
  const expected = expectedRecords(datagrams);
  const n = roleNames('f');
  const receiver = await startGateway(t, roleConfigYaml('receive', n));
  const first = await startGateway(t, roleConfigYaml('decode', n));
  // Eight exporters (their addresses spread them over the raw partitions), four passes of the
  // capture each, the second decoder starting after the first pass.
  const sockets = await Promise.all(Array.from({ length: 8 }, (_, i) => exporterSocket(t, `127.0.0.${i + 1}`)));
  const pass = () => Promise.all(sockets.map((s) => send(s, receiver.listening!.udp.v4!, datagrams, (m) => m)));
  await pass();
  const second = await startGateway(t, roleConfigYaml('decode', n));
  for (let i = 0; i < 3; i++) await pass();
  const total = expected.full * sockets.length * 4;
  const sent = datagrams.length * sockets.length * 4;
  const consumed = async () => {
    const [a, b] = await Promise.all([first.metrics(), second.metrics()]);
    return { a, b, datagrams: (a.get('flowgate_raw_datagrams_consumed_total') ?? 0) + (b.get('flowgate_raw_datagrams_consumed_total') ?? 0) };
  };
  await waitUntil('both decoders hold partitions and every datagram is consumed', async () => {
    const c = await consumed();
    return (c.a.get('flowgate_raw_partitions_assigned') ?? 0) > 0 && (c.b.get('flowgate_raw_partitions_assigned') ?? 0) > 0 && c.datagrams >= sent;
  }, { timeoutMs: 30_000 });
  assert.ok(await waitForCount(testBrokers(), n.tenant, total) >= total);
  // Settle: then count what is there, copies included.
  await new Promise((r) => setTimeout(r, 500));
  const delivered = (await topicCounts(testBrokers(), [n.tenant]))[n.tenant]!;
  assert.ok(delivered >= total, `${delivered} of ${total} records`);
  const { a, b } = await consumed();
  const uncommitted = (a.get('flowgate_raw_uncommitted_on_revoke_total') ?? 0) + (b.get('flowgate_raw_uncommitted_on_revoke_total') ?? 0);
  t.diagnostic(`first ${a.get('flowgate_raw_datagrams_consumed_total')} datagrams, second ${b.get('flowgate_raw_datagrams_consumed_total')}; ${uncommitted} uncommitted on revoke, ${delivered - total} records twice`);
  // A raw message holds the datagrams of one exporter over 5 ms (at most 64 KiB): far fewer than 2,000 records.
  if (uncommitted === 0) assert.equal(delivered, total, 'nothing uncommitted on revoke: nothing twice');
  else assert.ok(delivered - total <= uncommitted * 2_000, `${delivered - total} records twice, ${uncommitted} raw messages uncommitted on revoke`);
  assert.ok((b.get('flowgate_raw_datagrams_consumed_total') ?? 0) > 0, 'the second decoder decoded some');
  // The first goes on from its own position on the partitions it keeps: nothing fetched twice.
  assert.equal(a.get('flowgate_raw_messages_refetched_total'), 0);
  assert.equal(a.get('flowgate_raw_fetch_errors_total'), 0);
  assert.equal(b.get('flowgate_raw_fetch_errors_total'), 0);
  assert.equal((a.get('flowgate_raw_partitions_assigned') ?? 0) + (b.get('flowgate_raw_partitions_assigned') ?? 0), 4);
});

test('a decoder whose Kafka queue and rings are small waits for room, counted, and drops nothing: the raw topic is the buffer', async (t) => {
  const datagrams = roleCapture();
  const expected = expectedRecords(datagrams);
  const n = roleNames('f');
  const receiver = await startGateway(t, roleConfigYaml('receive', n));
  const sockets = await Promise.all(Array.from({ length: 4 }, (_, i) => exporterSocket(t, `127.0.0.${i + 1}`)));
  for (let pass = 0; pass < 4; pass++) await Promise.all(sockets.map((s) => send(s, receiver.listening!.udp.v4!, datagrams, (m) => m)));
  const sent = datagrams.length * sockets.length * 4;
  await receiver.metricsWhen('every datagram received', (m) => (m.get('flowgate_datagrams_received_total') ?? 0) >= sent);
  // A backlog on the raw topic (about 11,000 records per worker), a decoder whose Kafka queue holds
  // 10,000 records (it stops taking at half, as its worker last reported) and whose rings hold 64
  // datagrams (it stops at half).
  const decoder = await startGateway(t, roleConfigYaml('decode', n, { queueMaxRecords: 10_000, ringSlots: 64 }));
  const total = expected.full * sockets.length * 4;
  assert.equal(await waitForCount(testBrokers(), n.tenant, total), total);
  const m = await decoder.metricsWhen('every datagram consumed', (x) => (x.get('flowgate_raw_datagrams_consumed_total') ?? 0) >= sent);
  assert.equal(m.get('flowgate_raw_datagrams_consumed_total'), sent);
  assert.ok((m.get('flowgate_raw_push_wait_seconds_total') ?? 0) > 0, 'it waited for room');
  assert.equal(m.get('flowgate_records_dropped_total{reason="queue_full"}') ?? 0, 0);
  await new Promise((r) => setTimeout(r, 300));
  assert.equal((await topicCounts(testBrokers(), [n.tenant]))[n.tenant], total, 'nothing twice');
});

test('an idle decoder fetches the idle way (the first byte, or 100 ms), not every 20 ms; the first datagrams after the quiet spell are decoded whole', async (t) => {
  const datagrams = roleCapture();
  const expected = expectedRecords(datagrams);
  const n = roleNames('f');
  const receiver = await startGateway(t, roleConfigYaml('receive', n));
  const decoder = await startGateway(t, roleConfigYaml('decode', n));
  const fetches = (m: Map<string, number>) => ({ gathering: m.get('flowgate_raw_fetches_total{mode="gathering"}') ?? 0, idle: m.get('flowgate_raw_fetches_total{mode="idle"}') ?? 0 });
  // Assigned and fetching the empty topic: the idle way after the first empty fetch.
  const before = fetches(await decoder.metricsWhen('fetching the idle way', (m) => fetches(m).idle > 0));
  const quietMs = 2000;
  await new Promise((r) => setTimeout(r, quietMs));
  const after = fetches(await decoder.metrics());
  const sent = after.gathering + after.idle - before.gathering - before.idle;
  // Fetched every 20 ms, 2 s would take about 100 fetches; the idle way (one leader here) about 20.
  // A slow machine only fetches less: the bound cannot fail for slowness.
  assert.ok(sent <= quietMs / 100 + 10, `${sent} fetches in ${quietMs} ms of quiet`);
  assert.equal(after.gathering, before.gathering, 'no gathering fetch while nothing comes');
  const socket = await exporterSocket(t);
  await send(socket, receiver.listening!.udp.v4!, datagrams, (m) => m);
  assert.equal(await waitForCount(testBrokers(), n.tenant, expected.full), expected.full);
  const m = await decoder.metricsWhen('every datagram consumed', (x) => (x.get('flowgate_raw_datagrams_consumed_total') ?? 0) >= datagrams.length);
  assert.equal(m.get('flowgate_raw_datagrams_consumed_total'), datagrams.length);
  assert.ok(fetches(m).gathering > after.gathering, 'a fetch that brought records makes the next one gather');
});
