/**
 * What one node's counters did over one publishing interval: counts are deltas
 * since the previous sample, `items` and `bytes` are gauges at `at`.
 */
export type NodeSample = {
  nodeId: string;
  at: Date;
  lookups: number;
  hits: number;
  misses: number;
  puts: number;
  requests: number;
  evictions: number;
  rejected: number;
  items: number;
  bytes: number;
};

/** Sums over a window; rates are count-weighted (Σmisses / Σlookups), 0 when idle. */
export type WindowTotals = {
  lookups: number;
  hits: number;
  misses: number;
  puts: number;
  requests: number;
  missRate: number;
  hitRate: number;
};

/** Where node statistics go: the database by default, CloudWatch on AWS. */
export interface MetricsSink {
  publish(samples: readonly NodeSample[]): Promise<void>;
  /** Totals of every sample with from <= at < to. */
  totals(from: Date, to: Date): Promise<WindowTotals>;
  close(): Promise<void>;
}
