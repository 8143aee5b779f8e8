#!/usr/bin/env node
// Local single-node Apache Kafka (KRaft, combined broker + controller) for development and tests.
//
//   node scripts/kafka.js start     fetch jars on first use, format storage if needed, start, wait until ready
//   node scripts/kafka.js stop      SIGTERM (then SIGKILL after KAFKA_STOP_TIMEOUT_S) the broker we started
//   node scripts/kafka.js status    exit 0 if our broker is running and answering, 1 otherwise
//   node scripts/kafka.js probe [topic]
//                                   Kafka-protocol check: ApiVersions + Metadata; with a topic name it is
//                                   auto-created (Metadata allow_auto_topic_creation) and must get a leader
//   node scripts/kafka.js smoke [topic]
//                                   create topic / produce / consume with Kafka's Java client (KafkaSmoke.java)
//
// Programmatic use (e.g. from a test runner):
//   import { startKafka, stopKafka, isKafkaRunning } from './kafka.js';
//   const { bootstrap } = await startKafka();   // '127.0.0.1:9092'
//   ...; await stopKafka();
//   startKafka({ dir, port, controllerPort, host: '10.77.0.1' })   // a private broker on an address of its own
//
// The broker is the real thing: kafka.Kafka from the org.apache.kafka:kafka_2.13 jars on Maven Central
// (tools/kafka/pom.xml), run with the system `java` (17+; or $JAVA_HOME/bin/java). Nothing but Node's
// standard library is used here. Everything it writes lives under .kafka/ at the repo root (git-ignored):
//   .kafka/lib-<version>/   broker classpath (fetched once with `mvn -q -B dependency:copy-dependencies`)
//   .kafka/data/            KRaft metadata + topic data (kept between starts unless KAFKA_FRESH=1)
//   .kafka/logs/            kafka.out (broker stdout/stderr, previous run in kafka.out.1), format.log, mvn.log
//   .kafka/run/             rendered server.properties, java.io.tmpdir
//   .kafka/kafka.pid        pid of the broker JVM
//
// Environment (all optional; options passed to the functions win over these):
//   KAFKA_PORT (9092)  KAFKA_CONTROLLER_PORT (9093)  KAFKA_DIR (<repo>/.kafka)  KAFKA_VERSION (4.3.1)
//   KAFKA_START_TIMEOUT_S (90: readiness wait, not counting the one-time jar download)
//   KAFKA_STOP_TIMEOUT_S (20)  KAFKA_HEAP_OPTS (-Xms128m -Xmx512m)  KAFKA_OPTS (extra JVM args)
//   KAFKA_LIB_DIR (<KAFKA_DIR>/lib-<version>; point several KAFKA_DIRs at one copy of the jars)
//   KAFKA_SECURE (1 = also a SASL_SSL listener on KAFKA_SECURE_PORT, default KAFKA_PORT + 2, and an mTLS one
//   on KAFKA_MTLS_PORT, default KAFKA_PORT + 3, with ACLs; see scripts/kafka-secure.js)  KAFKA_FRESH (1 = wipe .kafka/data before starting)  KAFKA_MVN_ARGS (extra mvn args, e.g.
//   -Dmaven.repo.local=/path)  KAFKA_LOG4J2_VERSION (log4j2 pinned in tools/kafka/pom.xml)  JAVA_HOME
//
// Only the broker's own address is ever contacted: its host option, 127.0.0.1 unless the caller names
// another local address (opts.host, e.g. the bridge of a network-namespace test lab, so that processes
// in other namespaces reach it). The PLAINTEXT listener listens and is advertised there; the controller
// listener stays on 127.0.0.1 (so only its free-port check goes there). Every Kafka probe goes to host.
// Processes are never matched by name: stop only signals the pid from the pid file, and only if its
// command line is our kafka.Kafka.

import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { MTLS_PRINCIPAL, ensureSecureFiles, scramFormatArgs, secureProperties, secureSettings } from './kafka-secure.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const REPO_ROOT = path.resolve(HERE, '..');
const TOOLS = path.join(REPO_ROOT, 'tools', 'kafka');

export const DEFAULT_KAFKA_VERSION = '4.3.1';
export const DEFAULT_KAFKA_HOST = '127.0.0.1';
// The controller listener is not moved by the host option: only the broker itself talks to it.
const CONTROLLER_HOST = '127.0.0.1';
// Any 16-byte base64url UUID. Fixed, so that formatting an already formatted dir is a no-op.
const CLUSTER_ID = 'Rmxvd0dhdGVMb2NhbEthZg';
const MAIN_CLASS = 'kafka.Kafka';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const envInt = (name, dflt) => {
  const v = process.env[name];
  if (v === undefined || v === '') return dflt;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new Error(`${name} must be a non-negative number, got "${v}"`);
  return n;
};
const splitArgs = (s) => (s ? s.trim().split(/\s+/).filter(Boolean) : []);

/** Resolved settings: explicit options, then environment, then defaults. */
export function kafkaConfig(opts = {}) {
  const dir = path.resolve(opts.dir ?? process.env.KAFKA_DIR ?? path.join(REPO_ROOT, '.kafka'));
  const version = opts.version ?? process.env.KAFKA_VERSION ?? DEFAULT_KAFKA_VERSION;
  if (!/^4\.\d+\.\d+$/.test(version)) {
    throw new Error(`KAFKA_VERSION ${version} is not supported: tools/kafka/ is set up for Kafka 4.x`);
  }
  const port = opts.port ?? envInt('KAFKA_PORT', 9092);
  const controllerPort = opts.controllerPort ?? envInt('KAFKA_CONTROLLER_PORT', 9093);
  if (port === controllerPort) throw new Error('KAFKA_PORT and KAFKA_CONTROLLER_PORT must differ');
  const host = opts.host ?? DEFAULT_KAFKA_HOST;
  // Kafka wants [brackets] around an IPv6 listener address and net.connect none: not needed, not supported.
  if (!/^[A-Za-z0-9.-]+$/.test(host)) throw new Error(`host must be an IPv4 address or a host name, got "${host}"`);
  const javaHome = process.env.JAVA_HOME;
  const secure = (opts.secure ?? process.env.KAFKA_SECURE === '1')
    ? secureSettings(dir, opts.securePort ?? envInt('KAFKA_SECURE_PORT', port + 2), opts.mtlsPort ?? envInt('KAFKA_MTLS_PORT', port + 3)) : null;
  return {
    dir,
    secure,
    version,
    host,
    port,
    controllerPort,
    bootstrap: `${host}:${port}`,
    startTimeoutS: opts.startTimeoutS ?? envInt('KAFKA_START_TIMEOUT_S', 90),
    stopTimeoutS: opts.stopTimeoutS ?? envInt('KAFKA_STOP_TIMEOUT_S', 20),
    heapOpts: splitArgs(opts.heapOpts ?? process.env.KAFKA_HEAP_OPTS ?? '-Xms128m -Xmx512m'),
    extraJvmOpts: splitArgs(opts.jvmOpts ?? process.env.KAFKA_OPTS),
    fresh: opts.fresh ?? process.env.KAFKA_FRESH === '1',
    mvnArgs: splitArgs(opts.mvnArgs ?? process.env.KAFKA_MVN_ARGS),
    java: javaHome ? path.join(javaHome, 'bin', 'java') : 'java',
    // Jars can be shared between several KAFKA_DIRs (parallel test runs) with KAFKA_LIB_DIR.
    libDir: path.resolve(opts.libDir ?? process.env.KAFKA_LIB_DIR ?? path.join(dir, `lib-${version}`)),
    dataDir: path.join(dir, 'data'),
    dataStamp: path.join(dir, 'data.json'),
    logsDir: path.join(dir, 'logs'),
    runDir: path.join(dir, 'run'),
    tmpDir: path.join(dir, 'run', 'tmp'),
    pidFile: path.join(dir, 'kafka.pid'),
    stateFile: path.join(dir, 'run', 'state.json'),
    lockFile: path.join(dir, 'start.lock'),
    propsFile: path.join(dir, 'run', 'server.properties'),
    logFile: path.join(dir, 'logs', 'kafka.out'),
    log: opts.log ?? ((msg) => console.log(`[kafka] ${msg}`)),
  };
}

// ---------------------------------------------------------------------------------------------------------
// process helpers (Linux /proc)

function readPidFile(file) {
  try {
    const pid = Number(fs.readFileSync(file, 'utf8').trim());
    return Number.isInteger(pid) && pid > 1 ? pid : null;
  } catch {
    return null;
  }
}

/** Alive and not a zombie. */
function pidAlive(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X' && state !== '';
  } catch {
    return false;
  }
}

/** True only if pid is a live JVM running kafka.Kafka with *our* server.properties. */
function isOurBroker(pid, cfg) {
  if (!pid || !pidAlive(pid)) return false;
  let argv;
  try {
    argv = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  } catch {
    return false;
  }
  return argv.includes(MAIN_CLASS) && argv.includes(cfg.propsFile);
}

/** Pid of our running broker, or null (a stale pid file is removed). */
function ourPid(cfg) {
  const pid = readPidFile(cfg.pidFile);
  if (pid && isOurBroker(pid, cfg)) return pid;
  if (fs.existsSync(cfg.pidFile)) fs.rmSync(cfg.pidFile, { force: true });
  return null;
}

/**
 * Host/ports/version the running broker was started with (may differ from the current environment).
 * No host in the file means the default one (state files only name a host of another choice).
 */
function readState(cfg) {
  let state = {};
  try {
    state = JSON.parse(fs.readFileSync(cfg.stateFile, 'utf8'));
  } catch {}
  return { ...state, host: state.host ?? DEFAULT_KAFKA_HOST };
}

function tail(file, lines = 40) {
  try {
    const text = fs.readFileSync(file, 'utf8');
    return text.split('\n').slice(-lines - 1).join('\n').trimEnd();
  } catch {
    return `(no ${file})`;
  }
}

// A simple cross-process lock so that two concurrent `start`s on the same KAFKA_DIR don't race.
async function withLock(cfg, timeoutMs, fn) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      fs.writeFileSync(cfg.lockFile, String(process.pid), { flag: 'wx' });
      break;
    } catch (err) {
      if (err.code !== 'EEXIST') throw err;
      const holder = readPidFile(cfg.lockFile);
      if (!holder || !pidAlive(holder)) {
        fs.rmSync(cfg.lockFile, { force: true }); // stale lock from a dead process
        continue;
      }
      if (Date.now() > deadline) throw new Error(`another start (pid ${holder}) holds ${cfg.lockFile}`);
      await sleep(250);
    }
  }
  try {
    return await fn();
  } finally {
    fs.rmSync(cfg.lockFile, { force: true });
  }
}

// ---------------------------------------------------------------------------------------------------------
// minimal Kafka wire protocol over a raw socket (to the broker's host only): ApiVersions v0 and Metadata v4,
// both non-flexible versions, so no tagged fields / compact encodings are needed.

const API_METADATA = 3;
const API_VERSIONS = 18;
const CLIENT_ID = 'flowgate-kafka-probe';

function encodeRequest(apiKey, apiVersion, correlationId, body) {
  const cid = Buffer.from(CLIENT_ID);
  const header = Buffer.alloc(2 + 2 + 4 + 2 + cid.length);
  header.writeInt16BE(apiKey, 0);
  header.writeInt16BE(apiVersion, 2);
  header.writeInt32BE(correlationId, 4);
  header.writeInt16BE(cid.length, 8);
  cid.copy(header, 10);
  const size = Buffer.alloc(4);
  size.writeInt32BE(header.length + body.length);
  return Buffer.concat([size, header, body]);
}

/** Send one request on a fresh connection, resolve with the response body (after the correlation id). */
function kafkaRequest(host, port, apiKey, apiVersion, body, timeoutMs = 3000) {
  return new Promise((resolve, reject) => {
    const correlationId = (Math.random() * 0x7fffffff) | 0;
    const sock = net.connect({ host, port });
    let buf = Buffer.alloc(0);
    const done = (err, val) => {
      clearTimeout(timer);
      sock.destroy();
      if (err) reject(err);
      else resolve(val);
    };
    const timer = setTimeout(() => done(new Error(`no response from ${host}:${port} in ${timeoutMs} ms`)), timeoutMs);
    sock.on('connect', () => sock.write(encodeRequest(apiKey, apiVersion, correlationId, body)));
    sock.on('data', (chunk) => {
      buf = Buffer.concat([buf, chunk]);
      if (buf.length < 4) return;
      const size = buf.readInt32BE(0);
      if (buf.length < 4 + size) return;
      const got = buf.readInt32BE(4);
      if (got !== correlationId) return done(new Error(`correlation id mismatch (${got} != ${correlationId})`));
      done(null, buf.subarray(8, 4 + size));
    });
    sock.on('error', (err) => done(err));
    sock.on('close', () => done(new Error(`connection to ${host}:${port} closed before a response`)));
  });
}

class Reader {
  constructor(buf) {
    this.buf = buf;
    this.off = 0;
  }
  i8() { return this.buf.readInt8((this.off += 1) - 1); }
  i16() { return this.buf.readInt16BE((this.off += 2) - 2); }
  i32() { return this.buf.readInt32BE((this.off += 4) - 4); }
  str() {
    const n = this.i16();
    if (n < 0) return null;
    const s = this.buf.toString('utf8', this.off, this.off + n);
    this.off += n;
    return s;
  }
  array(fn) {
    const n = this.i32();
    const out = [];
    for (let i = 0; i < n; i++) out.push(fn());
    return out;
  }
}

/** ApiVersions v0 → Map(apiKey → {min, max}). */
export async function kafkaApiVersions(port, timeoutMs, host = DEFAULT_KAFKA_HOST) {
  const r = new Reader(await kafkaRequest(host, port, API_VERSIONS, 0, Buffer.alloc(0), timeoutMs));
  const errorCode = r.i16();
  if (errorCode !== 0) throw new Error(`ApiVersions error code ${errorCode}`);
  const apis = new Map();
  r.array(() => apis.set(r.i16(), { min: r.i16(), max: r.i16() }));
  return apis;
}

/** Metadata v4. topics: null = all topics; autoCreate: allow_auto_topic_creation. */
export async function kafkaMetadata(port, topics = null, autoCreate = false, timeoutMs, host = DEFAULT_KAFKA_HOST) {
  const parts = [];
  const n = Buffer.alloc(4);
  n.writeInt32BE(topics === null ? -1 : topics.length);
  parts.push(n);
  for (const t of topics ?? []) {
    const name = Buffer.from(t);
    const len = Buffer.alloc(2);
    len.writeInt16BE(name.length);
    parts.push(len, name);
  }
  parts.push(Buffer.from([autoCreate ? 1 : 0]));
  const r = new Reader(await kafkaRequest(host, port, API_METADATA, 4, Buffer.concat(parts), timeoutMs));
  r.i32(); // throttle_time_ms
  const brokers = r.array(() => ({ nodeId: r.i32(), host: r.str(), port: r.i32(), rack: r.str() }));
  const clusterId = r.str();
  const controllerId = r.i32();
  const topicList = r.array(() => ({
    errorCode: r.i16(),
    name: r.str(),
    internal: r.i8() !== 0,
    partitions: r.array(() => ({
      errorCode: r.i16(),
      partition: r.i32(),
      leader: r.i32(),
      replicas: r.array(() => r.i32()),
      isr: r.array(() => r.i32()),
    })),
  }));
  return { brokers, clusterId, controllerId, topics: topicList };
}

/**
 * Kafka-level readiness: ApiVersions answers, Metadata v4 is supported and lists this broker on our port.
 * Resolves with a summary, rejects if not ready.
 */
export async function probeKafka(port = kafkaConfig().port, timeoutMs = 3000, host = DEFAULT_KAFKA_HOST) {
  const apis = await kafkaApiVersions(port, timeoutMs, host);
  const md = apis.get(API_METADATA);
  if (!md || md.min > 4 || md.max < 4) {
    throw new Error(`broker does not support Metadata v4 (range ${md ? `${md.min}-${md.max}` : 'none'})`);
  }
  const meta = await kafkaMetadata(port, [], false, timeoutMs, host);
  if (!meta.brokers.some((b) => b.port === port)) throw new Error('broker not registered in metadata yet');
  return { apis: apis.size, brokers: meta.brokers, clusterId: meta.clusterId, controllerId: meta.controllerId };
}

function portInUse(host, port, timeoutMs = 1000) {
  return new Promise((resolve) => {
    const sock = net.connect({ host, port });
    const finish = (v) => {
      clearTimeout(timer);
      sock.destroy();
      resolve(v);
    };
    const timer = setTimeout(() => finish(true), timeoutMs); // something accepted SYN but is slow: treat as taken
    sock.on('connect', () => finish(true));
    sock.on('error', () => finish(false));
  });
}

// ---------------------------------------------------------------------------------------------------------
// jars, config, storage

function run(cmd, args, logFile, extra = {}) {
  const res = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, ...extra });
  const out = `$ ${cmd} ${args.join(' ')}\n${res.stdout ?? ''}${res.stderr ?? ''}`;
  if (logFile) fs.appendFileSync(logFile, `${out}\n`);
  if (res.error) {
    const hint = res.error.code === 'ENOENT' ? ` (is ${cmd} installed and on PATH?)` : '';
    throw new Error(`cannot run ${cmd}: ${res.error.message}${hint}`);
  }
  return { ok: res.status === 0, out };
}

/** Broker classpath in .kafka/lib-<version>/ (fetched once; mvn runs offline first if ~/.m2 already has it). */
export function ensureKafkaJars(opts = {}) {
  const cfg = opts.propsFile ? opts : kafkaConfig(opts);
  const stamp = path.join(cfg.libDir, '.complete');
  if (fs.existsSync(stamp)) return cfg.libDir;
  fs.mkdirSync(cfg.logsDir, { recursive: true });
  const tmp = `${cfg.libDir}.tmp-${process.pid}`;
  fs.rmSync(tmp, { recursive: true, force: true });
  const args = [
    '-q', '-B', ...cfg.mvnArgs,
    '-f', path.join(TOOLS, 'pom.xml'),
    `-Dkafka.version=${cfg.version}`,
    // log4j-api, log4j-core and the SLF4J binding are pinned together in the POM (default = what Kafka 4.3 uses)
    ...(process.env.KAFKA_LOG4J2_VERSION ? [`-Dlog4j2.version=${process.env.KAFKA_LOG4J2_VERSION}`] : []),
    'dependency:copy-dependencies', '-DincludeScope=runtime', `-DoutputDirectory=${tmp}`,
  ];
  const mvnLog = path.join(cfg.logsDir, 'mvn.log');
  cfg.log(`fetching Kafka ${cfg.version} jars into ${cfg.libDir} (one time)`);
  const t0 = Date.now();
  let res = run('mvn', ['-o', ...args], mvnLog); // from the local Maven cache, no network
  if (!res.ok) res = run('mvn', args, mvnLog);
  if (!res.ok) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw new Error(`mvn could not fetch Kafka ${cfg.version} (is Maven Central reachable?); see ${mvnLog}:\n${res.out.slice(-4000)}`);
  }
  if (!fs.readdirSync(tmp).some((f) => f.startsWith('kafka_2.13-'))) {
    throw new Error(`mvn finished but ${tmp} has no kafka_2.13 jar; see ${mvnLog}`);
  }
  fs.writeFileSync(path.join(tmp, '.complete'), `${new Date().toISOString()}\n`);
  fs.rmSync(cfg.libDir, { recursive: true, force: true });
  fs.renameSync(tmp, cfg.libDir);
  cfg.log(`jars ready in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  return cfg.libDir;
}

function renderConfig(cfg) {
  let text = fs
    .readFileSync(path.join(TOOLS, 'server.properties'), 'utf8')
    .replaceAll('@HOST@', cfg.host)
    .replaceAll('@PORT@', String(cfg.port))
    .replaceAll('@CONTROLLER_PORT@', String(cfg.controllerPort))
    .replaceAll('@DATA_DIR@', cfg.dataDir);
  if (cfg.secure) text = secureProperties(text, cfg.secure, cfg.host, ensureSecureFiles(cfg.secure, cfg.host));
  fs.writeFileSync(cfg.propsFile, text);
}

function log4jOpts(cfg) {
  return [`-Dlog4j2.configurationFile=${path.join(TOOLS, 'log4j2.properties')}`, `-Dkafka.logs.dir=${cfg.logsDir}`];
}

/** Format KRaft storage once per data dir (static quorum, so no --standalone). */
function ensureFormatted(cfg) {
  let stamp = null;
  try {
    stamp = JSON.parse(fs.readFileSync(cfg.dataStamp, 'utf8'));
  } catch {}
  const formatted = fs.existsSync(path.join(cfg.dataDir, 'meta.properties'));
  // Data written by another Kafka version may not open (metadata.version); it is only test data: wipe it.
  // SCRAM users are written at format time: secure mode on or off formats afresh (test data only).
  if (cfg.fresh || (formatted && (stamp?.version !== cfg.version || Boolean(stamp?.secure) !== Boolean(cfg.secure)))) {
    fs.rmSync(cfg.dataDir, { recursive: true, force: true });
  } else if (formatted) {
    return false;
  }
  fs.mkdirSync(cfg.dataDir, { recursive: true });
  const formatLog = path.join(cfg.logsDir, 'format.log');
  fs.writeFileSync(formatLog, '');
  const res = run(
    cfg.java,
    [
      '-Xmx256m', '-XX:TieredStopAtLevel=1', '-XX:+UseSerialGC', `-Djava.io.tmpdir=${cfg.tmpDir}`,
      ...log4jOpts(cfg),
      '-cp', path.join(cfg.libDir, '*'),
      'kafka.tools.StorageTool', 'format', '-t', CLUSTER_ID, '-c', cfg.propsFile, '--ignore-formatted',
      ...(cfg.secure ? scramFormatArgs(JSON.parse(fs.readFileSync(cfg.secure.credentialsFile, 'utf8'))) : []),
    ],
    formatLog,
  );
  if (!res.ok) throw new Error(`kafka storage format failed:\n${res.out.slice(-4000)}`);
  fs.writeFileSync(cfg.dataStamp, `${JSON.stringify({ version: cfg.version, clusterId: CLUSTER_ID, ...(cfg.secure && { secure: true }) })}\n`);
  return true;
}

// ---------------------------------------------------------------------------------------------------------
// public API

/** The secured listener's user may use every topic and group but denied.* (tools/kafka/SecureAcls.java). */
function setSecureAcls(cfg, bootstrap) {
  const { username } = JSON.parse(fs.readFileSync(cfg.secure.credentialsFile, 'utf8'));
  const res = spawnSync(cfg.java, [
    '-Xmx256m', '-XX:TieredStopAtLevel=1', `-Djava.io.tmpdir=${cfg.tmpDir}`,
    `-Dlog4j2.configurationFile=${path.join(TOOLS, 'log4j2.properties')}`, '-Dflowgate.kafka.log.level=WARN',
    '-cp', path.join(cfg.libDir, '*'), path.join(TOOLS, 'SecureAcls.java'), bootstrap, username, MTLS_PRINCIPAL,
  ], { encoding: 'utf8' });
  if (res.status !== 0) throw new Error(`setting the secured listener's ACLs failed: ${(res.stderr || res.error?.message || '').trim().slice(-2000)}`);
  cfg.log(res.stdout.trim());
}

/** The secured listener's address, CA and credentials, or null when the broker has none. */
function secureInfo(cfg) {
  if (!cfg.secure || !fs.existsSync(cfg.secure.credentialsFile)) return null;
  return {
    bootstrap: `${cfg.host}:${cfg.secure.port}`, caFile: cfg.secure.caFile, ...JSON.parse(fs.readFileSync(cfg.secure.credentialsFile, 'utf8')),
    mtls: { bootstrap: `${cfg.host}:${cfg.secure.mtlsPort}`, certFile: cfg.secure.clientCertFile, keyFile: cfg.secure.clientKeyFile },
  };
}

/**
 * Start the broker (idempotent) and wait until it answers Kafka requests.
 * Resolves with { pid, bootstrap, port, version, alreadyRunning, seconds }; rejects with an Error whose
 * message includes the tail of the broker log.
 */
export async function startKafka(opts = {}) {
  const cfg = kafkaConfig(opts);
  const t0 = Date.now();
  for (const d of [cfg.dir, cfg.logsDir, cfg.runDir, cfg.tmpDir]) fs.mkdirSync(d, { recursive: true });

  return withLock(cfg, (cfg.startTimeoutS + 600) * 1000, async () => {
    let pid = ourPid(cfg);
    let child = null;
    let { host, port, version } = cfg;
    if (pid) {
      const state = readState(cfg);
      if (state.pid === pid) ({ host, port, version } = state);
      if (port !== cfg.port) cfg.log(`note: the running broker uses port ${port}, not ${cfg.port}`);
      if (host !== cfg.host) cfg.log(`note: the running broker listens on ${host}, not ${cfg.host}`);
      try {
        await probeKafka(port, undefined, host);
        cfg.log(`already running (pid ${pid}) on ${host}:${port}`);
        return { pid, bootstrap: `${host}:${port}`, port, version, alreadyRunning: true, seconds: 0, secure: secureInfo(cfg) };
      } catch {
        cfg.log(`broker pid ${pid} is up but not answering yet; waiting`);
      }
    } else {
      for (const [h, p] of [[cfg.host, cfg.port], [CONTROLLER_HOST, cfg.controllerPort]]) {
        if (await portInUse(h, p)) {
          throw new Error(`${h}:${p} is already in use by another process (not a broker started from ${cfg.dir}); ` +
            'stop it or set KAFKA_PORT / KAFKA_CONTROLLER_PORT');
        }
      }
      ensureKafkaJars(cfg);
      renderConfig(cfg);
      const tf = Date.now();
      if (ensureFormatted(cfg)) cfg.log(`formatted ${cfg.dataDir} in ${((Date.now() - tf) / 1000).toFixed(1)} s`);

      if (fs.existsSync(cfg.logFile)) fs.renameSync(cfg.logFile, `${cfg.logFile}.1`);
      const out = fs.openSync(cfg.logFile, 'a');
      const jvmArgs = [
        ...cfg.heapOpts,
        '-XX:+UseG1GC', '-XX:MaxGCPauseMillis=20', '-XX:InitiatingHeapOccupancyPercent=35',
        '-XX:+ExplicitGCInvokesConcurrent', '-XX:MaxInlineLevel=15', '-XX:+ExitOnOutOfMemoryError',
        '-Djava.awt.headless=true', `-Djava.io.tmpdir=${cfg.tmpDir}`,
        ...log4jOpts(cfg),
        ...cfg.extraJvmOpts,
        '-cp', path.join(cfg.libDir, '*'),
        MAIN_CLASS, cfg.propsFile,
      ];
      child = spawn(cfg.java, jvmArgs, { cwd: cfg.dir, detached: true, stdio: ['ignore', out, out] });
      fs.closeSync(out);
      child.exitInfo = null;
      child.on('exit', (code, signal) => (child.exitInfo = { code, signal }));
      child.on('error', (err) => (child.exitInfo = { error: err }));
      child.unref();
      if (!child.pid) {
        await sleep(50);
        throw new Error(`cannot start ${cfg.java}: ${child.exitInfo?.error?.message ?? 'spawn failed'}`);
      }
      pid = child.pid;
      fs.writeFileSync(cfg.pidFile, `${pid}\n`);
      // The default host is left out: the file then reads as it did before the host option.
      const state = { pid, ...(cfg.host !== DEFAULT_KAFKA_HOST && { host: cfg.host }), port: cfg.port,
        controllerPort: cfg.controllerPort, version: cfg.version };
      fs.writeFileSync(cfg.stateFile, `${JSON.stringify(state)}\n`);
      cfg.log(`started Kafka ${cfg.version} (pid ${pid}), log ${cfg.logFile}; waiting for ${cfg.bootstrap}`);
    }

    const deadline = Date.now() + cfg.startTimeoutS * 1000;
    let lastErr = null;
    for (;;) {
      const exited = child ? child.exitInfo : !pidAlive(pid) ? {} : null;
      if (exited) {
        fs.rmSync(cfg.pidFile, { force: true });
        fs.rmSync(cfg.stateFile, { force: true });
        const how = exited.error ? exited.error.message : exited.signal ? `signal ${exited.signal}` : `code ${exited.code ?? '?'}`;
        throw new Error(`Kafka exited during startup (${how}). Last lines of ${cfg.logFile}:\n${tail(cfg.logFile)}`);
      }
      try {
        await probeKafka(port, 2000, host);
        break;
      } catch (err) {
        lastErr = err;
      }
      if (Date.now() > deadline) {
        const msg = `Kafka not ready on ${host}:${port} after ${cfg.startTimeoutS} s (last probe error: ${lastErr?.message}). ` +
          `Last lines of ${cfg.logFile}:\n${tail(cfg.logFile)}`;
        await stopKafka({ ...opts, log: () => {} }).catch(() => {});
        throw new Error(msg);
      }
      await sleep(250);
    }
    if (cfg.secure) setSecureAcls(cfg, `${host}:${port}`);
    const seconds = (Date.now() - t0) / 1000;
    cfg.log(`Kafka ${version} ready on ${host}:${port} (pid ${pid}) after ${seconds.toFixed(1)} s`);
    return { pid, bootstrap: `${host}:${port}`, port, version, alreadyRunning: false, seconds, secure: secureInfo(cfg) };
  });
}

/**
 * Stop the broker from the pid file (SIGTERM, then SIGKILL after stopTimeoutS). Idempotent.
 * Resolves with { wasRunning, pid, forced, seconds }.
 */
export async function stopKafka(opts = {}) {
  const cfg = kafkaConfig(opts);
  const t0 = Date.now();
  const filePid = readPidFile(cfg.pidFile);
  const pid = ourPid(cfg);
  if (!pid) {
    cfg.log(filePid ? `not running (removed stale pid file for pid ${filePid})` : 'not running');
    return { wasRunning: false, pid: null, forced: false, seconds: 0 };
  }
  try {
    process.kill(pid, 'SIGTERM'); // same signal as Kafka's bin/kafka-server-stop.sh: controlled shutdown
  } catch (err) {
    if (err.code !== 'ESRCH') throw err;
  }
  let forced = false;
  const deadline = Date.now() + cfg.stopTimeoutS * 1000;
  while (pidAlive(pid) && Date.now() < deadline) await sleep(100);
  if (pidAlive(pid)) {
    cfg.log(`pid ${pid} still up after ${cfg.stopTimeoutS} s; sending SIGKILL`);
    forced = true;
    try {
      process.kill(pid, 'SIGKILL');
    } catch {}
    const killDeadline = Date.now() + 5000;
    while (pidAlive(pid) && Date.now() < killDeadline) await sleep(100);
  }
  fs.rmSync(cfg.pidFile, { force: true });
  fs.rmSync(cfg.stateFile, { force: true });
  const seconds = (Date.now() - t0) / 1000;
  cfg.log(`stopped (pid ${pid}) in ${seconds.toFixed(1)} s${forced ? ' (SIGKILL)' : ''}`);
  return { wasRunning: true, pid, forced, seconds };
}

/** { running, pid, bootstrap, host, port, answering, detail } — running means our JVM is alive AND answers Kafka requests. */
export async function kafkaStatus(opts = {}) {
  const cfg = kafkaConfig(opts);
  const pid = ourPid(cfg);
  if (!pid) return { running: false, pid: null, bootstrap: cfg.bootstrap, host: cfg.host, answering: false, detail: 'no broker process' };
  const state = readState(cfg);
  const { host, port } = state.pid === pid ? state : cfg;
  const bootstrap = `${host}:${port}`;
  try {
    const p = await probeKafka(port, undefined, host);
    return { running: true, pid, bootstrap, host, port, answering: true, detail: `cluster ${p.clusterId}` };
  } catch (err) {
    return { running: false, pid, bootstrap, host, port, answering: false, detail: `process up, not answering: ${err.message}` };
  }
}

export async function isKafkaRunning(opts = {}) {
  return (await kafkaStatus(opts)).running;
}

// ---------------------------------------------------------------------------------------------------------
// CLI

async function main(argv) {
  const [cmd, ...rest] = argv;
  switch (cmd) {
    case 'start':
      await startKafka();
      return 0;
    case 'stop':
      await stopKafka();
      return 0;
    case 'status': {
      const s = await kafkaStatus();
      console.log(s.running ? `kafka running (pid ${s.pid}) on ${s.bootstrap}` : `kafka not running (${s.detail})`);
      return s.running ? 0 : 1;
    }
    case 'probe': {
      const cfg = kafkaConfig();
      const st = await kafkaStatus();
      cfg.port = st.port ?? cfg.port;
      cfg.host = st.host;
      const p = await probeKafka(cfg.port, undefined, cfg.host);
      console.log(`ApiVersions ok (${p.apis} APIs), cluster ${p.clusterId}, controller ${p.controllerId}, ` +
        `brokers ${p.brokers.map((b) => `${b.nodeId}@${b.host}:${b.port}`).join(',')}`);
      const topic = rest[0];
      if (topic) {
        const deadline = Date.now() + 15000;
        for (;;) {
          const md = await kafkaMetadata(cfg.port, [topic], true, undefined, cfg.host);
          const t = md.topics[0];
          if (t && t.errorCode === 0 && t.partitions.length > 0 && t.partitions.every((x) => x.leader >= 0)) {
            console.log(`topic ${topic}: ${t.partitions.length} partition(s), leaders ${t.partitions.map((x) => x.leader).join(',')}`);
            break;
          }
          if (Date.now() > deadline) throw new Error(`topic ${topic} not ready: error code ${t?.errorCode}`);
          await sleep(200);
        }
      }
      const all = await kafkaMetadata(cfg.port, null, false, undefined, cfg.host);
      console.log(`topics: ${all.topics.map((t) => t.name).sort().join(', ') || '(none)'}`);
      return 0;
    }
    case 'smoke': {
      // Real produce/consume round trip with Kafka's own Java client (tools/kafka/KafkaSmoke.java).
      const cfg = kafkaConfig();
      const st = await kafkaStatus();
      if (st.port) Object.assign(cfg, { host: st.host, port: st.port, bootstrap: st.bootstrap });
      if (!fs.existsSync(path.join(cfg.libDir, '.complete'))) throw new Error('no Kafka jars yet: run `start` first');
      await probeKafka(cfg.port, undefined, cfg.host).catch((err) => {
        throw new Error(`no broker answering on ${cfg.bootstrap} (${err.message}): run \`start\` first`);
      });
      const res = spawnSync(
        cfg.java,
        [
          '-Xmx256m', '-XX:TieredStopAtLevel=1', `-Djava.io.tmpdir=${cfg.tmpDir}`,
          `-Dlog4j2.configurationFile=${path.join(TOOLS, 'log4j2.properties')}`, '-Dflowgate.kafka.log.level=WARN',
          '-cp', path.join(cfg.libDir, '*'),
          path.join(TOOLS, 'KafkaSmoke.java'), cfg.bootstrap, ...rest.slice(0, 1),
        ],
        { stdio: 'inherit' },
      );
      if (res.error) throw new Error(`cannot run ${cfg.java}: ${res.error.message}`);
      return res.status === 0 ? 0 : 1;
    }
    default:
      console.error('usage: node scripts/kafka.js start|stop|status|probe [topic]|smoke [topic]');
      return 2;
  }
}

const invokedDirectly = (() => {
  try {
    return process.argv[1] && fs.realpathSync(process.argv[1]) === fs.realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
})();

if (invokedDirectly) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err) => {
      console.error(`[kafka] error: ${err.message}`);
      process.exit(1);
    },
  );
}
