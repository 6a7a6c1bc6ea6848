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

/** What one web worker did over one publishing interval (counts are deltas). */
export type WorkerStats = {
  workerId: string;
  at: Date;
  /** CPU time over wall time in the interval, as a fraction of one core (a busy multi-threaded worker may pass 1). */
  cpu: number;
  requests: number;
  bytesIn: number;
  bytesOut: number;
  /**
   * The EC2 instance the worker runs on, if any. CloudWatch measures such a worker's CPU itself
   * (AWS/EC2 CPUUtilization), so the CloudWatch sink does not publish it again.
   */
  instanceId?: string;
};

/** The web pool's CPU over a window, for the scaler. */
export type WorkerWindow = {
  /** Whether any worker reported in the window: none is not an idle pool. */
  reported: boolean;
  /** Mean over the workers that reported of each one's average CPU (0..1), 0 when none did. */
  cpu: number;
  /** How many workers reported. */
  workers: number;
};

/**
 * One minute of the web pool (or of one worker) for the charts. A minute in which no worker
 * reported is a gap: `workers` is 0 and every measure null, never an invented zero.
 */
export type WorkerMinute = {
  /** Start of the minute. */
  at: Date;
  workers: number;
  /** Mean over the workers of each one's average CPU in the minute. */
  cpu: number | null;
  /** Sums over the workers. */
  requests: number | null;
  bytesIn: number | null;
  bytesOut: number | null;
};

/** Where node and worker statistics go: the database by default, CloudWatch on AWS. */
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
  publishWorkers(samples: readonly WorkerStats[]): Promise<void>;
  /** The workers' CPU over samples with from <= at < to. */
  workerWindow(from: Date, to: Date): Promise<WorkerWindow>;
  /** One point per minute from `from` floored to the minute up to `to`, of every worker or of one. */
  workerSeries(from: Date, to: Date, workerId?: string): Promise<WorkerMinute[]>;
  close(): Promise<void>;
}
