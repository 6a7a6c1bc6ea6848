// The shape every benchmark hands back to run.ts, so printing and the JSON stay uniform.

export type BenchOptions = { runs: number; durationS: number };

/** One target of a benchmark, judged against its threshold. */
export type Verdict = { what: string; value: number; target: string; met: boolean };

export type BenchOutcome = {
  heading: string;
  rows: Record<string, string | number>[];
  verdicts: Verdict[];
  /** Extra lines printed under the table (how a number was measured). */
  notes?: string[];
  /** Everything measured, raw, for the JSON file. */
  data: unknown;
};

export type Bench = {
  id: string;
  name: string;
  /** Drives HTTP load with wrk (checked before anything starts). */
  usesWrk?: boolean;
  run(options: BenchOptions): Promise<BenchOutcome>;
};
