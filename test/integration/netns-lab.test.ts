// The network-namespace lab (test/support/netns.ts) the scale-out tests build on: three hosts with
// addresses of their own on one bridge, a private broker on the bridge's address reachable from each
// of them, UDP between namespaces that a pulled cable stops and a plugged one restores, a gateway
// process inside a namespace fed by a capture replayed from another, and nothing left afterwards.
// Needs root and iproute2 (skipped otherwise), and the project's Kafka jars (KAFKA_LIB_DIR).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync, readlinkSync } from 'node:fs';
import { createLab, skipReason, type Lab } from '../support/netns.js';
import { startPrivateBroker, type PrivateBroker } from '../support/broker.js';
import { GatewayProcess } from '../support/gateway-process.js';
import { replay } from '../support/corpus.js';
import { readTopic, topicCounts, uniqueTopic } from '../support/kafka-topics.js';
import { repoRoot } from '../support/paths.js';
import { waitUntil } from '../support/wait.js';

const BROKER_PORT = 19492;
const CONTROLLER_PORT = 19493;
const UDP_PORT = 4739;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// Tiny programs run with `node -e` inside a namespace; their arguments follow the code.
const UDP_LISTENER = `
const [address, port] = process.argv.slice(1);
const s = require('node:dgram').createSocket('udp4');
s.on('message', (m, r) => process.stdout.write(JSON.stringify({ from: r.address, seq: Number(m) }) + '\\n'));
s.bind(Number(port), address, () => process.stdout.write('listening\\n'));`;
// Sends its sequence number every intervalMs; send errors (no route while a link is down) are ignored.
const UDP_SENDER = `
const [to, port, from, intervalMs] = process.argv.slice(1);
const s = require('node:dgram').createSocket('udp4');
s.on('error', () => {});
let seq = 0;
s.bind(0, from, () => setInterval(() => s.send(String(seq++), Number(port), to, () => {}), Number(intervalMs)));`;
const TCP_CONNECT = `
const [host, port] = process.argv.slice(1);
const c = require('node:net').connect(Number(port), host);
c.setTimeout(3000, () => process.exit(2));
c.on('connect', () => process.exit(0)).on('error', (e) => { console.error(e.message); process.exit(1); });`;
// kafkajs resolves from the cwd (the project): a real Kafka client, metadata and produce included.
const KAFKA_PRODUCE = `
const { Kafka, logLevel } = require('kafkajs');
const [broker, topic, value] = process.argv.slice(1);
const producer = new Kafka({ brokers: [broker], clientId: 'netns-lab', logLevel: logLevel.NOTHING }).producer({ allowAutoTopicCreation: true });
producer.connect().then(() => producer.send({ topic, messages: [{ value }] })).then(() => producer.disconnect())
  .then(() => process.exit(0), (e) => { console.error(e.message); process.exit(1); });`;

interface Received {
  from: string;
  seq: number;
}

/** A child's stdout as lines, collected as they come. */
function lines(child: ChildProcess): string[] {
  const out: string[] = [];
  let buffered = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    buffered += chunk;
    for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
      out.push(buffered.slice(0, nl));
      buffered = buffered.slice(nl + 1);
    }
  });
  return out;
}

/** Runs a `node -e` program in a lab host and resolves with its exit code and stderr. */
function runNode(lab: Lab, host: string, code: string, args: string[]): Promise<{ code: number | null; stderr: string }> {
  const child = lab.spawn(host, process.execPath, ['-e', code, ...args], { cwd: repoRoot, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  return new Promise((resolve) => child.once('exit', (c) => resolve({ code: c, stderr })));
}

const alive = (c: ChildProcess) => c.exitCode === null && c.signalCode === null;
const exitOf = (c: ChildProcess) => (alive(c) ? new Promise<void>((r) => c.once('exit', () => r())) : Promise.resolve());

test('a network-namespace lab: hosts with their own addresses, a broker on the bridge, links that go down and up, nothing left behind', { skip: skipReason() ?? false, timeout: 300_000 }, async (t) => {
  const lab = createLab('smoke', [{ name: 'a', extraAddresses: 1 }, { name: 'b' }, { name: 'c' }]);
  const a = lab.host('a');
  const b = lab.host('b');
  const c = lab.host('c');
  const started: ChildProcess[] = [];
  let broker: PrivateBroker | undefined;
  let gateway: GatewayProcess | undefined;
  // One hook, in order: processes by pid, then the broker (while its address still exists), then the lab.
  t.after(async () => {
    for (const child of started) if (alive(child)) process.kill(child.pid!, 'SIGKILL');
    await Promise.all(started.map(exitOf));
    await gateway?.dispose();
    await broker?.dispose();
    lab.dispose();
  });

  await t.test('every host has its namespace, eth0 with its addresses, lo up; the bridge has bridgeAddress', () => {
    assert.match(lab.bridgeAddress, /^10\.77\.\d+\.1$/);
    assert.deepEqual([a.address, b.address, c.address], [10, 11, 12].map((n) => lab.bridgeAddress.replace(/1$/, String(n))));
    assert.equal(a.addresses.length, 2);
    const namespaces = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout;
    for (const h of [a, b, c]) {
      assert.match(namespaces, new RegExp(`^${h.netns}\\b`, 'm'));
      const eth0 = JSON.parse(lab.exec(h.name, 'ip', ['-j', '-4', 'addr', 'show', 'dev', 'eth0']).stdout) as { operstate: string; addr_info: { local: string; prefixlen: number }[] }[];
      assert.deepEqual(eth0[0]!.addr_info.map((x) => `${x.local}/${x.prefixlen}`), h.addresses.map((x) => `${x}/24`));
      assert.equal(eth0[0]!.operstate, 'UP');
      assert.match(lab.exec(h.name, 'ip', ['link', 'show', 'dev', 'lo']).stdout, /[<,]UP[,>]/);
    }
    const bridge = JSON.parse(spawnSync('ip', ['-j', '-4', 'addr', 'show', 'dev', lab.bridge], { encoding: 'utf8' }).stdout) as { addr_info: { local: string }[] }[];
    assert.deepEqual(bridge[0]!.addr_info.map((x) => x.local), [lab.bridgeAddress]);
  });

  let listener: ChildProcess | undefined;
  let listenerOut: string[] = [];
  // What the listener in b printed after 'listening': one line per datagram.
  const received = (): Received[] => listenerOut.slice(1).map((l) => JSON.parse(l) as Received);
  await t.test('a datagram from host a\'s namespace reaches a UDP socket in host b\'s, from each of a\'s addresses', async () => {
    listener = lab.spawn('b', process.execPath, ['-e', UDP_LISTENER, b.address, String(UDP_PORT)], { stdio: ['ignore', 'pipe', 'inherit'] });
    started.push(listener);
    listenerOut = lines(listener);
    await waitUntil('the listener in b bound its socket', () => listenerOut[0] === 'listening', { timeoutMs: 10_000 });
    for (const from of a.addresses) {
      const sender = lab.spawn('a', process.execPath, ['-e', UDP_SENDER, b.address, String(UDP_PORT), from, '20'], { stdio: 'ignore' });
      started.push(sender);
      await waitUntil(`datagrams from ${from}`, () => received().some((r) => r.from === from), { timeoutMs: 10_000 });
      process.kill(sender.pid!, 'SIGTERM');
      await exitOf(sender);
    }
  });

  await t.test('ip netns exec execs: the pid spawn() returns is the command\'s own, in the host\'s namespace', () => {
    const pid = listener!.pid!;
    assert.equal(readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[0], process.execPath);
    assert.notEqual(readlinkSync(`/proc/${pid}/ns/net`), readlinkSync('/proc/self/ns/net'));
    assert.equal(spawnSync('ip', ['netns', 'identify', String(pid)], { encoding: 'utf8' }).stdout.trim(), b.netns);
    assert.ok(lab.pids('b').includes(pid));
  });

  await t.test('linkDown stops the datagrams, linkUp brings them back', async () => {
    const sender = lab.spawn('a', process.execPath, ['-e', UDP_SENDER, b.address, String(UDP_PORT), a.address, '10'], { stdio: 'ignore' });
    started.push(sender);
    const before = received().length;
    await waitUntil('this sender\'s datagrams flowing', () => received().length > before + 5, { timeoutMs: 10_000 });
    await lab.linkDown('b');
    await sleep(200); // what was on its way when the cable went
    const atDown = received().length;
    const lastBefore = received().at(-1)!.seq;
    await sleep(1000);
    assert.equal(received().length, atDown, 'nothing arrives while b\'s link is down');
    await lab.linkUp('b');
    await waitUntil('datagrams again after linkUp', () => received().length > atDown, { timeoutMs: 10_000 });
    // ~100 were sent during the outage (10 ms apart for 1 s): none of them arrived late.
    const firstAfter = received()[atDown]!.seq;
    assert.ok(firstAfter - lastBefore > 50, `seq ${lastBefore} before the outage, ${firstAfter} after`);
    process.kill(sender.pid!, 'SIGTERM');
    await exitOf(sender);
  });

  await t.test('a private broker on the bridge address: a TCP connect from every host, a Kafka produce from c read back on the host', async () => {
    broker = await startPrivateBroker({ port: BROKER_PORT, controllerPort: CONTROLLER_PORT, host: lab.bridgeAddress });
    assert.equal(broker.bootstrap, `${lab.bridgeAddress}:${BROKER_PORT}`);
    for (const h of [a, b, c]) {
      const r = await runNode(lab, h.name, TCP_CONNECT, [lab.bridgeAddress, String(BROKER_PORT)]);
      assert.equal(r.code, 0, `${h.name}: ${r.stderr}`);
    }
    const topic = uniqueTopic('netns.produce');
    const produced = await runNode(lab, 'c', KAFKA_PRODUCE, [broker.bootstrap, topic, 'from c']);
    assert.equal(produced.code, 0, produced.stderr);
    assert.deepEqual((await readTopic([broker.bootstrap], topic, 1)).map((m) => m.value), ['from c']);
  });

  await t.test('a gateway in c (HTTP on c\'s address) gets a capture replayed from a\'s second address and routes it by that exporter', async () => {
    const tenantTopic = uniqueTopic('netns.tenant');
    const otherTopic = uniqueTopic('netns.other');
    const exporter = a.addresses[1]!;
    gateway = new GatewayProcess(`listen:
  udp: ["${c.address}:0"]
http:
  listen: "${c.address}:0"
workers: 1
kafka:
  brokers: ["${broker!.bootstrap}"]
  linger_ms: 5
routing:
  default_topic: ${otherTopic}
  unknown_exporters: default
  tenants:
    - { name: lab, topic: ${tenantTopic}, exporters: ["${exporter}"] }
stats:
  log_interval_s: 0
`, { netns: c.netns, httpHost: c.address });
    const { udp } = await gateway.ready();
    assert.equal(spawnSync('ip', ['netns', 'identify', String(gateway.pid)], { encoding: 'utf8' }).stdout.trim(), c.netns);
    replay('softflowd_v10_mixed', `${c.address}:${udp.v4}`, { netns: a.netns, bind: exporter });
    const got = await readTopic([broker!.bootstrap], tenantTopic, 1406);
    assert.equal(got.length, 1406);
    assert.ok(got.every((m) => m.headers.exporter === exporter), `exporter headers: ${[...new Set(got.map((m) => m.headers.exporter))].join(',')}`);
    assert.deepEqual(await topicCounts([broker!.bootstrap], [otherTopic]), { [otherTopic]: 0 });
    const { code } = await gateway.stop('SIGTERM');
    assert.equal(code, 0);
    assert.equal(gateway.accounting().records.delivered, 1406);
  });

  await t.test('dispose kills what still runs inside, removes every namespace, veth and the bridge, and may be called again', async () => {
    process.kill(listener!.pid!, 'SIGTERM');
    await exitOf(listener!);
    assert.equal(listener!.signalCode, 'SIGTERM');
    // A process the lab did not start itself, still inside c when the lab goes: dispose SIGKILLs it by pid.
    const stray = spawn('ip', ['netns', 'exec', c.netns, 'sleep', '600'], { stdio: 'ignore' });
    started.push(stray);
    await waitUntil('the stray sleep inside c', () => lab.pids('c').includes(stray.pid!), { timeoutMs: 5000 });
    await broker!.dispose(); // before its address goes
    lab.dispose();
    await exitOf(stray);
    assert.equal(stray.signalCode, 'SIGKILL');
    lab.dispose();
    const namespaces = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout;
    const links = spawnSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' }).stdout;
    for (const h of lab.hosts) {
      assert.doesNotMatch(namespaces, new RegExp(`^${h.netns}\\b`, 'm'));
      assert.doesNotMatch(links, new RegExp(`: ${h.vethHostEnd}[@:]`));
    }
    assert.doesNotMatch(links, new RegExp(`: ${lab.bridge}[@:]`));
    assert.ok(lab.disposed);
  });
});
