// The container image, proven on this machine: built by `npm run image`'s code (podman, Debian 13
// bases from mmdebstrap), run read-only as its non-root user against the test broker with its
// spool and state on volumes, a real exporter's capture replayed into it and read back from
// Kafka as Wireshark decoded it, its HEALTHCHECK run, and SIGTERM through podman: it must exit 0
// within kafka.flush_timeout_ms. The image runs the supported Node LTS with the uWebSockets.js
// build for it, which this Debian 12 host (Node 20, glibc 2.36) cannot load: this test is what
// proves that runtime. Skipped, saying why, without root, podman or mmdebstrap.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chownSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { testBrokers } from '../support/broker.js';
import { replay, truthDir } from '../support/corpus.js';
import { httpGet } from '../support/http.js';
import { freeTcpPort, freeUdpPort, imageSkipReason, imageTools, podman } from '../support/image.js';
import { readTopic, uniqueTopic } from '../support/kafka-topics.js';
import { parseMetrics, total } from '../support/prometheus.js';
import { waitUntil } from '../support/wait.js';

const IMAGE_UID = 10001; // USER in deploy/container/Containerfile
const FLUSH_TIMEOUT_MS = 10_000; // kafka.flush_timeout_ms in the image's config.yaml (the project's default)

const SKIP = imageSkipReason();
if (SKIP) process.stderr.write(`image test skipped: ${SKIP}\n`);
const { buildImage, removeImage, podmanRunArgs } = imageTools;

test('the image runs FlowGate on the supported Node LTS: a capture in, its records on Kafka, healthy, SIGTERM exits 0 within the flush timeout', { skip: SKIP, timeout: 600_000 }, async (t) => {
  const tag = `localhost/flowgate-test:${process.pid}`;
  const name = `flowgate-test-${process.pid}`;
  const built = buildImage({ tag, quiet: true, log: (line: string) => t.diagnostic(line) });
  t.after(() => removeImage(tag));
  t.diagnostic(`image ${tag}: ${(built.size / 1e6).toFixed(1)} MB, built in ${built.seconds.toFixed(0)} s`);

  const brokers = testBrokers();
  const topic = uniqueTopic('image');
  const [udpPort, httpPort] = [await freeUdpPort(), await freeTcpPort()];
  const data = mkdtempSync(join(tmpdir(), 'flowgate-image-'));
  t.after(() => rmSync(data, { recursive: true, force: true }));
  for (const dir of ['spool', 'state']) {
    mkdirSync(join(data, dir));
    chownSync(join(data, dir), IMAGE_UID, IMAGE_UID);
  }
  const env = {
    FLOWGATE_KAFKA__BROKERS: JSON.stringify(brokers),
    FLOWGATE_LISTEN__UDP: `["127.0.0.1:${udpPort}"]`,
    FLOWGATE_HTTP__LISTEN: `127.0.0.1:${httpPort}`,
    FLOWGATE_ROUTING__TENANTS: '[]',
    FLOWGATE_ROUTING__DEFAULT_TOPIC: topic,
    FLOWGATE_WORKERS: '1',
  };
  // --read-only: everything the gateway writes goes to its two volumes (as in the Kubernetes manifests).
  const started = podman(['run', '-d', '--name', name, ...podmanRunArgs, '--read-only',
    '-v', `${join(data, 'spool')}:/var/lib/flowgate/spool`, '-v', `${join(data, 'state')}:/var/lib/flowgate/state`,
    ...Object.entries(env).flatMap(([k, v]) => ['-e', `${k}=${v}`]), tag]);
  assert.equal(started.status, 0, `podman run: ${started.stderr}`);
  const spawnedAt = Date.now();
  t.after(() => void podman(['rm', '--force', '--time', '0', name]));
  const logs = () => {
    const out = podman(['logs', name]); // the container's stdout and stderr, on podman's own
    return out.stdout + out.stderr;
  };

  await waitUntil('the container answers /readyz with 200', async () => (await httpGet(`http://127.0.0.1:${httpPort}/readyz`).catch(() => ({ status: 0 }))).status === 200, { timeoutMs: 60_000 });
  t.diagnostic(`podman run to /readyz 200: ${Date.now() - spawnedAt} ms`);

  // The runtime the image promises: Node 24 and the uWebSockets.js build for its ABI, no warning on stderr.
  const startLog = logs();
  const uws = startLog.split('\n').filter((l) => l.includes('uWebSockets.js build loaded')).map((l) => JSON.parse(l) as { build: string; node: string })[0];
  assert.ok(uws, `the start-up log names the uWebSockets.js build:\n${startLog}`);
  assert.match(uws.node, /^v24\./, 'the image runs Node 24 LTS');
  assert.match(uws.build, /^@btc-vision\/uwebsockets\.js 20\.57\.0 \(uws_linux_x64_137\.node\)$/);
  const stray = startLog.split('\n').filter((l) => l.trim() && !l.startsWith('{'));
  assert.deepEqual(stray, [], 'every line on stderr is a JSON log line (no runtime warning)');

  const health = podman(['healthcheck', 'run', name]);
  assert.equal(health.status, 0, `the image's HEALTHCHECK (flowgate health) passes: ${health.stdout}${health.stderr}`);

  replay('softflowd_v10_mixed', `127.0.0.1:${udpPort}`);
  const expected = readFileSync(join(truthDir, 'softflowd_v10_mixed.jsonl'), 'utf8').trim().split('\n')
    .map((l) => JSON.parse(l) as { options?: boolean }).filter((r) => !r.options).length;
  const got = await readTopic(brokers, topic, expected);
  assert.equal(got.length, expected, 'every flow record of the capture is on the topic');
  assert.ok(got.every((m) => m.headers.exporter === '127.0.0.1' && m.headers.schema === '1'));

  // Kafka holds a batch before the producer has read its acknowledgement: the counter follows.
  const metrics = await waitUntil('the container counting every record as delivered', async () => {
    const m = parseMetrics((await httpGet(`http://127.0.0.1:${httpPort}/metrics`)).body);
    return total(m, 'flowgate_records_delivered_total') >= expected && m;
  }, { timeoutMs: 10_000 });
  assert.equal(total(metrics, 'flowgate_records_delivered_total'), expected, 'the container counts what it delivered');

  const stopAt = Date.now();
  assert.equal(podman(['kill', '--signal', 'TERM', name]).status, 0);
  const waited = podman(['wait', name]);
  const stopMs = Date.now() - stopAt;
  t.diagnostic(`SIGTERM to exit: ${stopMs} ms`);
  assert.equal(waited.stdout.trim(), '0', `exit code after SIGTERM (log:\n${logs().split('\n').slice(-5).join('\n')})`);
  assert.ok(stopMs < FLUSH_TIMEOUT_MS, `stopped within kafka.flush_timeout_ms (${stopMs} ms)`);
  assert.match(logs(), /"msg":"stopped"/);
  // The state survives on its volume for the next container (templates, sessions).
  assert.ok(readdirSync(join(data, 'state')).length > 0, 'the state file is on the state volume');
});
