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
  /**
   * Whether any node reported in the window. Idle nodes report zeros; no report at all means
   * the statistics did not arrive (their publisher is down), which is not an idle pool.
   */
  reported: boolean;
  lookups: number;
  hits: number;
  misses: number;
  puts: number;
  requests: number;
  missRate: number;
  hitRate: number;
};

/**
 * One minute of the pool for the console's charts. A minute in which no node reported
 * is a gap: every field but `at` is null, never an invented zero. A minute with samples
 * but no lookups has rates of 0 (idle, as the scaler sees it).
 */
export type MinutePoint = {
  /** Start of the minute. */
  at: Date;
  /** Distinct nodes that reported in the minute. */
  nodes: number | null;
  lookups: number | null;
  hits: number | null;
  misses: number | null;
  /** Σmisses / Σlookups over the minute. */
  missRate: number | null;
  hitRate: number | null;
  /** Sum over nodes of each node's last gauge in the minute. */
  items: number | null;
  bytes: number | null;
  /** Requests served in the minute, all nodes. */
  requests: number | null;
};

/** Where node statistics go: the database by default, CloudWatch on AWS. */
export interface MetricsSink {
  /**
   * How long after its timestamp a published sample may still be missing from reads (0 when
   * absent): a decision on a window should end it this far in the past.
   */
  readonly readLagMs?: number;
  publish(samples: readonly NodeSample[]): Promise<void>;
  /** Totals of every sample with from <= at < to. */
  totals(from: Date, to: Date): Promise<WindowTotals>;
  /** Exactly `minutes` one-minute points, the first starting at `from` floored to the minute. */
  series(from: Date, minutes: number): Promise<MinutePoint[]>;
  close(): Promise<void>;
}
