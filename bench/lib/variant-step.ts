// One gateway variant (a codec, a listener) measured the way pipeline.bench measures the gateway:
// the lossless rate by the same search, then its CPU per record at one fixed rate. Each step on a
// fresh topic, deleted afterwards. Used by the benches that compare variants in one run.
import { benchTopic, deleteBenchTopics, gatewayConfig, gatewayLadder, runAt, type GatewaySpec } from './gateway-step.js';
import { searchLosslessRate, sentRate } from './lossless-search.js';
import { int } from './table.js';

export interface VariantFigures {
  /** Highest lossless rate, records/s. */
  lossless: number;
  /** The gateway's CPU µs per record at `rate` (its CPU % x 10^6 / records sent per second). */
  usPerRecord: number;
}

/** `spec` without its topic (each step gets its own), the broker to delete topics on, the fixed rate. */
export async function measureVariant(label: string, spec: Omit<GatewaySpec, 'topic'>, o: { rate: number; seconds: number; adminBrokers: string; log: (line: string) => void }): Promise<VariantFigures> {
  const run = async (rate: number) => {
    try {
      return await runAt(gatewayConfig({ ...spec, topic: benchTopic() }), rate, o.seconds, '25');
    } finally {
      await deleteBenchTopics(o.adminBrokers, o.log);
    }
  };
  const search = await searchLosslessRate({ ladder: gatewayLadder(false), bisections: 1 }, async (rate) => {
    const r = await run(rate);
    o.log(`${label} offered ${int(rate)}/s: delivered ${r.deliveredRecords}/${r.sentRecords}, kernel drops ${r.kernelDrops}, cpu ${r.cpuPct.toFixed(0)} %`);
    return r;
  });
  const fixed = await run(o.rate);
  const usPerRecord = (fixed.cpuPct / 100) * 1e6 / sentRate(fixed);
  o.log(`${label} at ${int(o.rate)}/s: cpu ${fixed.cpuPct.toFixed(0)} %, ${usPerRecord.toFixed(2)} µs/record, delivered ${fixed.deliveredRecords}/${fixed.sentRecords}`);
  return { lossless: sentRate(search.sustained), usPerRecord };
}
