import type { ScalingActor } from './scaling-events.js';

export type ResizeRequest = {
  actor: ScalingActor;
  reason: string;
  /** What the scaler saw, stored with the event. */
  missRate?: number;
  lookups?: number;
  maxMiss?: number;
  minMiss?: number;
  cpu?: number;
  growCpu?: number;
  shrinkCpu?: number;
};

export type ResizeOutcome = { from: number; to: number; message: string };

/** What a scaler needs of its pool: its desired size, and a way to ask for another. */
export interface PoolController {
  /** The desired size, as recorded. */
  size(): Promise<number>;
  /** Records a new desired size; rejects with a 4xx AppError outside the bounds. */
  resize(target: number, request: ResizeRequest): Promise<ResizeOutcome>;
}
