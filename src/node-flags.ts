// The Node flags every launcher starts the gateway with: its heap sizing, as a JVM service ships
// its -Xms. The one definition; bin/flowgate.js (its #! line), package.json's start script, the
// image's entry point, deploy/flowgate.service, the Kubernetes manifests and the test and
// benchmark gateways pass exactly these (test/deploy/node-flags.test.ts and kubernetes.test.ts
// check each).
//
// Why: V8 starts a heap with a small old generation and, while it stays small, marks it whenever
// its heuristics say space is short: in role decode the main thread's heap (16-19 MB) was marked
// three times a second under load, by concurrent marking on the GC threads, and every process
// paid for it. An initial old generation of 64 MB lets the heap grow to what the gateway keeps
// before the first full collections (docs/performance.md section 18: CPU per record -15 % in role
// all, -28 % in role decode, no measurable memory: V8 reserves the space, it does not fill it).
// V8 reads the flag when an isolate is created, so it must be on the command line (NODE_OPTIONS
// refuses it, and v8.setFlagsFromString comes too late for the main thread).
export const GATEWAY_NODE_FLAGS: readonly string[] = ['--initial-old-space-size=64'];

/** Flag names V8 spells with '-' or '_' alike. */
function flagName(arg: string): string {
  return arg.split('=')[0]!.replaceAll('_', '-');
}

/**
 * The gateway flags this process was started without (an operator's own value for one counts as
 * given): `serve` logs them once at start, so a hand-made launcher that drops them is seen.
 */
export function missingNodeFlags(execArgv: readonly string[] = process.execArgv): string[] {
  const given = new Set(execArgv.map(flagName));
  return GATEWAY_NODE_FLAGS.filter((f) => !given.has(flagName(f)));
}
