// The highest lossless offered rate: the one question every pipeline benchmark asks, FlowGate's
// and every baseline's alike, with one rule and one search.
//
// Rule: a step (a fresh system under test, the load generator at an offered rate for some
// seconds) is lossless when every record the generator sent was delivered, the kernel dropped no
// datagram on the receiving socket, and the last record was delivered within DRAIN_ALLOWANCE_S of
// the generator's stop (a system still draining longer was buffering a rate it could not keep up
// with: a longer run would lose records).
//
// Search: a ladder of rising rates, stopped at the first lossy step (or when the generator could
// not send much more than asked: its own ceiling); below the ladder, halving while nothing is
// lossless; then bisection between the last lossless and the first lossy offered rate.

/** Seconds after the generator's stop within which the last record must be delivered (covers a 1 s flush interval and a purge). */
export const DRAIN_ALLOWANCE_S = 3;

/** What one step measured, in terms every system under test reports. */
export interface StepOutcome {
  /** Records per second asked of the generator. */
  offered: number;
  /** Records the generator sent, and in how many seconds. */
  sentRecords: number;
  sentSeconds: number;
  /** Records that reached the sink (Kafka, or the discard sink). */
  deliveredRecords: number;
  /** Datagrams the kernel dropped on the receiving socket; null when the system's socket cannot be read (delivered === sent still proves none was lost). */
  kernelDrops: number | null;
  /** Seconds from the generator's stop to the last delivery. */
  drainS: number;
}

export function isLossless(s: StepOutcome): boolean {
  return s.deliveredRecords === s.sentRecords && (s.kernelDrops ?? 0) === 0 && s.drainS <= DRAIN_ALLOWANCE_S;
}

/** Records per second the generator actually sent: the figure a lossless step stands for. */
export function sentRate(s: StepOutcome | undefined): number {
  return s && s.sentSeconds > 0 ? Math.round(s.sentRecords / s.sentSeconds) : 0;
}

export interface SearchPlan {
  /** Offered rates to try in order, rising. */
  ladder: readonly number[];
  /** Bisection steps after the ladder (default 1). */
  bisections?: number;
  /** Halvings below the ladder's first rate when it was lossy already (default 2). */
  halvings?: number;
}

export interface SearchResult<S extends StepOutcome> {
  /** The highest offered rate that was lossless. */
  sustained: S | undefined;
  /** The lowest offered rate that was not. */
  dropsAt: S | undefined;
  steps: S[];
}

/** Bisection stops when the lossy rate is within this factor of the lossless one. */
const BISECT_MIN_RATIO = 1.25;
/** A step whose sent rate is below this share of the offered rate met the generator's ceiling. */
const GENERATOR_CEILING_SHARE = 0.9;

/** Runs `step` at the rates the search picks (each rounded to a whole record per second). */
export async function searchLosslessRate<S extends StepOutcome>(plan: SearchPlan, step: (offered: number) => Promise<S>): Promise<SearchResult<S>> {
  const steps: S[] = [];
  let sustained: S | undefined;
  let dropsAt: S | undefined;
  const run = async (rate: number): Promise<S> => {
    const s = await step(Math.round(rate));
    steps.push(s);
    return s;
  };
  for (const rate of plan.ladder) {
    const s = await run(rate);
    if (!isLossless(s)) {
      dropsAt = s;
      break;
    }
    sustained = s;
    if (sentRate(s) < rate * GENERATOR_CEILING_SHARE) break; // nothing higher can be offered
  }
  if (plan.ladder.length) {
    for (let rate = plan.ladder[0]! / 2, i = 0; !sustained && i < (plan.halvings ?? 2); rate /= 2, i++) {
      const s = await run(rate);
      if (isLossless(s)) sustained = s;
      else dropsAt = s;
    }
  }
  for (let i = 0; i < (plan.bisections ?? 1) && sustained && dropsAt; i++) {
    if (dropsAt.offered / sustained.offered < BISECT_MIN_RATIO) break;
    const s = await run((sustained.offered + dropsAt.offered) / 2);
    if (isLossless(s)) sustained = s;
    else dropsAt = s;
  }
  return { sustained, dropsAt, steps };
}
