import type { ScalingActor } from './scaling-events.js';

export type ResizeRequest = {
  actor: ScalingActor;
  reason: string;
  /** What the scaler saw, stored with the event. */
  missRate?: number;
  lookups?: number;
  maxMiss?: number;
  minMiss?: number;
};

export type ResizeOutcome = { from: number; to: number; message: string };

/**
 * The single place that changes the pool's size: within the configured bounds,
 * serialised across processes by a lock in the database, entries migrated,
 * membership recorded with a new version, every change recorded as an event.
 */
export interface PoolController {
  /** Active nodes according to the database. */
  size(): Promise<number>;
  /** Rejects with a 4xx AppError when the target is outside the bounds. */
  resize(target: number, request: ResizeRequest): Promise<ResizeOutcome>;
}

/** The controller of a process that routes to the pool (web, manager, scaler). */
export type ManagedPoolController = PoolController & {
  /** Makes this process's pool route to the database's members (another process may have changed them). */
  sync(): Promise<void>;
  /** At a manager's start: drop members that no longer answer, then grow to the minimum. */
  reconcile(): Promise<void>;
  /**
   * Takes one chosen member out of the pool (its entries move first) and stops it.
   * Rejects with a 404 AppError for an unknown id, a 400 one below the minimum.
   */
  removeNode(id: string, request: ResizeRequest): Promise<ResizeOutcome>;
};
