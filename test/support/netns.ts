// Several "hosts" on this one machine: a lab is a Linux bridge on the host side plus, per host, a
// network namespace joined to it by a veth pair, all on one IPv4 /24 (one L2 segment, no routing).
// Exporters, receivers and decoders then each have addresses of their own, and a broker listening on
// the bridge's address (startPrivateBroker({ host: lab.bridgeAddress })) is reachable from every host.
//
//   const lab = createLab('smoke', [{ name: 'a' }, { name: 'b', extraAddresses: 2 }]);
//   lab.spawn('b', process.execPath, ['-e', '...']);   // runs in namespace fg-smoke-b
//   await lab.linkDown('b'); await lab.linkUp('b');
//   lab.dispose();
//
// Names (interface names are at most 15 characters, so a lab name is at most 8 of [a-z0-9]):
//   bridge             fgb-<lab>          10.77.N.1/24
//   namespace per host fg-<lab>-<host>    eth0 10.77.N.(10+i)/24, lo up; extra addresses follow the
//                                         last host's (10+hosts, ...), in the order the hosts are listed
//   host end of veth i fgv-<lab>-<i>      enslaved to the bridge (i < 100)
// N is `subnet` when given (an error if 10.77.N.0/24 overlaps an address or route already on this
// machine), else derived from a hash of the lab's name and moved up past subnets already in use: two
// labs with different names never share a subnet, even when their hashes collide (two processes that
// pick the same one at the same instant: one or both fail rather than share it). Tests should read
// addresses from the lab (bridgeAddress, host().address) rather than compute them.
//
// Processes: `ip netns exec NS CMD` enters the namespace and then execs CMD in its own process (no
// fork), so a child's pid is CMD's pid: a signal sent to it (SIGTERM, SIGKILL) reaches CMD itself.
// A CMD that cannot be executed shows as an exit code of 1 and a message on stderr, not a spawn error.
//
// Firewalls: with br_netfilter loaded (net.bridge.bridge-nf-call-iptables=1, as here) datagrams between
// two lab hosts, though only bridged, cross the host's iptables FORWARD chain: a FORWARD policy of DROP
// (Docker sets one) silently cuts them off from each other. Traffic to the bridge address (the broker)
// is the host's own, through its INPUT chain.
//
// dispose() removes exactly the names this lab created (never anything found by a pattern), after a
// SIGKILL by pid to every process still inside its namespaces (they can only have been started there
// by this lab's user). It is idempotent, and runs at process exit and on SIGINT/SIGTERM for labs not
// disposed yet; after a SIGKILL of the test process the names stay, and createLab() then refuses to
// reuse them, naming the commands that remove them.
import { spawn, spawnSync, type ChildProcess, type SpawnOptions, type SpawnSyncReturns } from 'node:child_process';

const SUBNET_PREFIX = '10.77';
const FIRST_HOST_OCTET = 10;
const MAX_HOSTS = 100; // veth names end in -<i>, two digits at most
const LAB_NAME = /^[a-z0-9]{1,8}$/;
const HOST_NAME = /^[a-z0-9][a-z0-9-]{0,31}$/;

export interface LabHostSpec {
  name: string;
  /** More addresses on eth0 besides the host's own, from the same /24 (an exporter with several sources). */
  extraAddresses?: number;
}

export interface LabOptions {
  /** N of 10.77.N.0/24 (0-255); default: from a hash of the lab's name, past subnets in use. */
  subnet?: number;
  /** MTU of the bridge and every veth end (default 1500, as a real Ethernet). */
  mtu?: number;
}

export interface LabHost {
  readonly name: string;
  /** The network namespace's name (`ip netns exec <netns> ...`). */
  readonly netns: string;
  /** The host's own address on eth0 (10.77.N.(10+i)). */
  readonly address: string;
  /** address first, then the extra addresses. */
  readonly addresses: readonly string[];
  /** The host side of its veth pair, a port of the lab's bridge. */
  readonly vethHostEnd: string;
}

/** Why this machine cannot run a lab (not Linux, not root, no `ip`), or undefined when it can. */
export function skipReason(): string | undefined {
  if (process.platform !== 'linux') return `network namespaces need Linux (this is ${process.platform})`;
  if (process.getuid?.() !== 0) return 'network namespaces need root (creating namespaces, veths and bridges)';
  const ip = spawnSync('ip', ['-V'], { encoding: 'utf8' });
  if (ip.error || ip.status !== 0) return `no usable \`ip\` command (iproute2): ${ip.error?.message ?? ip.stderr}`;
  const netns = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  if (netns.status !== 0) return `\`ip netns\` does not work here: ${netns.stderr.trim()}`;
  return undefined;
}

/** Runs `ip ARGS` and returns its stdout; throws with its stderr when it fails. */
function ip(args: readonly string[]): string {
  const r = spawnSync('ip', args, { encoding: 'utf8' });
  if (r.error) throw new Error(`ip ${args.join(' ')}: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`ip ${args.join(' ')} exited ${r.status}: ${r.stderr.trim()}`);
  return r.stdout;
}

/** ip() for removals of things that may be gone already: true when it succeeded, never throws. */
function ipQuiet(args: readonly string[]): boolean {
  return spawnSync('ip', args, { stdio: 'ignore' }).status === 0;
}

const linkExists = (name: string): boolean => ipQuiet(['link', 'show', 'dev', name]);
const netnsExists = (name: string): boolean =>
  ip(['netns', 'list']).split('\n').some((line) => line.split(' ')[0] === name);

/** FNV-1a: the same lab name picks the same first subnet on every run. */
function hashName(name: string): number {
  let h = 0x811c9dc5;
  for (const ch of Buffer.from(name)) h = Math.imul(h ^ ch, 0x01000193) >>> 0;
  return h;
}

const ipv4ToInt = (a: string): number => a.split('.').reduce((n, octet) => (n << 8) + Number(octet), 0) >>> 0;

/** IPv4 prefixes (as [network, length]) of every address and route on this machine's side. */
function prefixesInUse(): [number, number][] {
  const out: [number, number][] = [];
  const addrs = JSON.parse(ip(['-j', '-4', 'addr', 'show'])) as { addr_info?: { local: string; prefixlen: number }[] }[];
  for (const link of addrs) for (const a of link.addr_info ?? []) out.push([ipv4ToInt(a.local), a.prefixlen]);
  for (const table of ['main', 'local']) {
    const routes = JSON.parse(ip(['-j', '-4', 'route', 'show', 'table', table])) as { dst: string }[];
    for (const r of routes) {
      if (r.dst === 'default') continue;
      const [net, len] = r.dst.split('/');
      out.push([ipv4ToInt(net!), len === undefined ? 32 : Number(len)]);
    }
  }
  return out;
}

function overlaps(a: [number, number], b: [number, number]): boolean {
  const len = Math.min(a[1], b[1]);
  const mask = len === 0 ? 0 : (~0 << (32 - len)) >>> 0;
  return ((a[0] & mask) >>> 0) === ((b[0] & mask) >>> 0);
}

function pickSubnet(labName: string, wanted: number | undefined): number {
  const inUse = prefixesInUse();
  const free = (n: number) => !inUse.some((p) => overlaps(p, [ipv4ToInt(`${SUBNET_PREFIX}.${n}.0`), 24]));
  if (wanted !== undefined) {
    if (!Number.isInteger(wanted) || wanted < 0 || wanted > 255) throw new Error(`subnet must be 0-255, got ${wanted}`);
    if (!free(wanted)) throw new Error(`${SUBNET_PREFIX}.${wanted}.0/24 overlaps an address or route already on this machine`);
    return wanted;
  }
  const first = hashName(labName) % 256;
  for (let k = 0; k < 256; k++) {
    const n = (first + k) % 256;
    if (free(n)) return n;
  }
  throw new Error(`no free /24 left in ${SUBNET_PREFIX}.0.0/16`);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// Labs not disposed yet, for the process-exit safety net.
const liveLabs = new Set<Lab>();
let safetyNetInstalled = false;

function disposeLiveLabs(): void {
  for (const lab of liveLabs) lab.dispose();
}

function onSignal(signal: NodeJS.Signals): void {
  disposeLiveLabs();
  // Listening kept the default action (exit) from happening: give it back when nobody else handles it.
  if (process.listenerCount(signal) === 1) {
    process.removeListener(signal, onSignal);
    process.kill(process.pid, signal);
  }
}

function installSafetyNet(): void {
  if (safetyNetInstalled) return;
  safetyNetInstalled = true;
  process.on('exit', disposeLiveLabs);
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}

export class Lab {
  readonly name: string;
  /** 10.77.N.0/24 */
  readonly subnet: string;
  readonly bridge: string;
  /** The host side's address on the bridge: where a broker for the lab listens. */
  readonly bridgeAddress: string;
  readonly hosts: readonly LabHost[];
  readonly #byName = new Map<string, LabHost>();
  readonly #children = new Set<ChildProcess>();
  // What was created so far, removed in reverse order by dispose().
  readonly #created: { kind: 'link' | 'netns'; name: string }[] = [];
  #disposed = false;

  /** Use createLab(). */
  constructor(name: string, specs: readonly LabHostSpec[], o: LabOptions = {}) {
    if (!LAB_NAME.test(name)) throw new Error(`lab name must be 1-8 of [a-z0-9] (interface names are short), got "${name}"`);
    if (specs.length === 0 || specs.length > MAX_HOSTS) throw new Error(`a lab has 1-${MAX_HOSTS} hosts, got ${specs.length}`);
    const seen = new Set<string>();
    for (const s of specs) {
      if (!HOST_NAME.test(s.name)) throw new Error(`host name must be [a-z0-9-], 1-32 long, not starting with -, got "${s.name}"`);
      if (seen.has(s.name)) throw new Error(`host "${s.name}" is listed twice`);
      seen.add(s.name);
    }
    const extras = specs.reduce((n, s) => n + (s.extraAddresses ?? 0), 0);
    if (FIRST_HOST_OCTET + specs.length + extras > 255) throw new Error(`${specs.length} hosts and ${extras} extra addresses do not fit in a /24`);

    this.name = name;
    this.bridge = `fgb-${name}`;
    const hostNames = specs.map((s, i) => ({ netns: `fg-${name}-${s.name}`, veth: `fgv-${name}-${i}` }));
    const leftovers = [
      ...[this.bridge, ...hostNames.map((h) => h.veth)].filter(linkExists).map((l) => `ip link delete ${l}`),
      ...hostNames.map((h) => h.netns).filter(netnsExists).map((ns) => `ip netns delete ${ns}`),
    ];
    if (leftovers.length > 0) {
      throw new Error(`lab "${name}" exists already (another run of it, or one killed before it disposed it); ` +
        `if none runs, remove it with: ${leftovers.join('; ')}`);
    }

    const n = pickSubnet(name, o.subnet);
    const base = `${SUBNET_PREFIX}.${n}`;
    this.subnet = `${base}.0/24`;
    this.bridgeAddress = `${base}.1`;
    let nextExtra = FIRST_HOST_OCTET + specs.length;
    this.hosts = specs.map((s, i): LabHost => {
      const extra = Array.from({ length: s.extraAddresses ?? 0 }, () => `${base}.${nextExtra++}`);
      const address = `${base}.${FIRST_HOST_OCTET + i}`;
      return { name: s.name, netns: hostNames[i]!.netns, address, addresses: [address, ...extra], vethHostEnd: hostNames[i]!.veth };
    });
    for (const h of this.hosts) this.#byName.set(h.name, h);

    liveLabs.add(this);
    installSafetyNet();
    try {
      this.#build(o.mtu ?? 1500);
    } catch (err) {
      this.dispose();
      throw err;
    }
  }

  #build(mtu: number): void {
    const mtuArgs = ['mtu', String(mtu)];
    // STP off and no forward delay: a port (re)joining after linkUp forwards at once, not after 15 s.
    ip(['link', 'add', 'name', this.bridge, ...mtuArgs, 'type', 'bridge', 'stp_state', '0', 'forward_delay', '0']);
    this.#created.push({ kind: 'link', name: this.bridge });
    ip(['addr', 'add', `${this.bridgeAddress}/24`, 'dev', this.bridge]);
    // Another process may have picked the same subnet between our check and now: then fail, not share.
    const rivals = (JSON.parse(ip(['-j', '-4', 'addr', 'show'])) as { ifname: string; addr_info?: { local: string }[] }[])
      .filter((l) => l.ifname !== this.bridge && (l.addr_info ?? []).some((a) => overlaps([ipv4ToInt(a.local), 32], [ipv4ToInt(this.bridgeAddress), 24])));
    if (rivals.length > 0) throw new Error(`${this.subnet} was taken meanwhile by ${rivals.map((l) => l.ifname).join(', ')}`);
    ip(['link', 'set', this.bridge, 'up']);
    for (const h of this.hosts) {
      ip(['netns', 'add', h.netns]);
      this.#created.push({ kind: 'netns', name: h.netns });
      // The peer is created inside the namespace under its final name: no temporary name on the host side.
      ip(['link', 'add', h.vethHostEnd, ...mtuArgs, 'type', 'veth', 'peer', 'name', 'eth0', ...mtuArgs, 'netns', h.netns]);
      this.#created.push({ kind: 'link', name: h.vethHostEnd });
      ip(['link', 'set', h.vethHostEnd, 'master', this.bridge, 'up']);
      for (const a of h.addresses) ip(['-n', h.netns, 'addr', 'add', `${a}/24`, 'dev', 'eth0']);
      ip(['-n', h.netns, 'link', 'set', 'lo', 'up']);
      ip(['-n', h.netns, 'link', 'set', 'eth0', 'up']);
    }
  }

  host(name: string): LabHost {
    const h = this.#byName.get(name);
    if (!h) throw new Error(`lab "${this.name}" has no host "${name}" (it has ${[...this.#byName.keys()].join(', ')})`);
    return h;
  }

  /** `ip netns exec <ns> command args...`: the child's pid is command's own (see the header). */
  spawn(hostName: string, command: string, args: readonly string[] = [], options: SpawnOptions = {}): ChildProcess {
    this.#assertLive();
    const child = spawn('ip', ['netns', 'exec', this.host(hostName).netns, command, ...args], options);
    this.#children.add(child);
    child.once('exit', () => this.#children.delete(child));
    return child;
  }

  /** spawnSync of `command args...` inside the host's namespace; never throws for a non-zero exit. */
  exec(hostName: string, command: string, args: readonly string[] = [], options: { input?: string; timeoutMs?: number } = {}): SpawnSyncReturns<string> {
    this.#assertLive();
    return spawnSync('ip', ['netns', 'exec', this.host(hostName).netns, command, ...args], {
      encoding: 'utf8',
      ...(options.input !== undefined && { input: options.input }),
      ...(options.timeoutMs !== undefined && { timeout: options.timeoutMs }),
    });
  }

  /** Cable pulled: the host's eth0 goes down (its addresses stay; datagrams to and from it are lost). */
  async linkDown(hostName: string): Promise<void> {
    this.#execOk(hostName, 'ip', ['link', 'set', 'eth0', 'down']);
  }

  /** Cable back: eth0 up, and resolves once the bridge forwards on the host's port again. */
  async linkUp(hostName: string, timeoutMs = 5000): Promise<void> {
    const h = this.host(hostName);
    this.#execOk(hostName, 'ip', ['link', 'set', 'eth0', 'up']);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const port = (JSON.parse(ip(['-j', '-d', 'link', 'show', 'dev', h.vethHostEnd])) as
        { operstate: string; linkinfo?: { info_slave_data?: { state?: string } } }[])[0];
      if (port?.operstate === 'UP' && port.linkinfo?.info_slave_data?.state === 'forwarding') return;
      if (Date.now() > deadline) throw new Error(`${h.vethHostEnd} not forwarding ${timeoutMs} ms after linkUp(${hostName}): ${JSON.stringify(port)}`);
      await sleep(20);
    }
  }

  /** Pids of every process inside the host's namespace (whoever started it). */
  pids(hostName: string): number[] {
    const h = this.host(hostName);
    const r = spawnSync('ip', ['netns', 'pids', h.netns], { encoding: 'utf8' });
    return r.status === 0 ? r.stdout.split('\n').filter(Boolean).map(Number) : [];
  }

  /**
   * Removes everything this lab created, by name, in reverse order; first SIGKILLs (by pid) the
   * processes still inside its namespaces. Idempotent; never throws (what it could not remove it
   * reports on stderr).
   */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    liveLabs.delete(this);
    for (const child of this.#children) child.kill('SIGKILL');
    for (const h of this.hosts) {
      if (!this.#created.some((c) => c.kind === 'netns' && c.name === h.netns)) continue;
      for (const pid of this.pids(h.name)) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // gone already
        }
      }
    }
    // Deleting a veth's host end removes its namespace end too, whether or not the namespace lives on.
    for (const c of this.#created.reverse()) {
      const ok = c.kind === 'link' ? ipQuiet(['link', 'delete', 'dev', c.name]) : ipQuiet(['netns', 'delete', c.name]);
      if (!ok && (c.kind === 'link' ? linkExists(c.name) : netnsExists(c.name))) {
        process.stderr.write(`netns lab ${this.name}: could not remove ${c.kind} ${c.name}\n`);
      }
    }
    this.#created.length = 0;
  }

  get disposed(): boolean {
    return this.#disposed;
  }

  #assertLive(): void {
    if (this.#disposed) throw new Error(`lab "${this.name}" is disposed`);
  }

  #execOk(hostName: string, command: string, args: readonly string[]): void {
    const r = this.exec(hostName, command, args);
    if (r.error || r.status !== 0) throw new Error(`${command} ${args.join(' ')} in ${this.host(hostName).netns}: ${r.error?.message ?? `exit ${r.status}: ${r.stderr.trim()}`}`);
  }
}

/**
 * Creates the bridge, and per host a namespace joined to it (see the header for names and addresses).
 * Throws (having removed what it made) when any step fails or a name is taken already.
 */
export function createLab(name: string, hosts: readonly LabHostSpec[], o: LabOptions = {}): Lab {
  return new Lab(name, hosts, o);
}
