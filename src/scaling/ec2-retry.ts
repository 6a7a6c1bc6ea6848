import { setTimeout as delay } from 'node:timers/promises';

/** Waits `ms`; rejects early when `signal` aborts (the provider closing). */
export type Sleep = (ms: number, signal?: AbortSignal) => Promise<void>;

export type RetryOptions = {
  /** Tries in all, the first included. */
  attempts?: number;
  baseMs?: number;
  /** Cap of one wait, before the jitter. */
  maxMs?: number;
  sleep?: Sleep;
  /** In [0, 1): which fraction of the capped wait to use. */
  random?: () => number;
  signal?: AbortSignal;
  /** Told before each wait, e.g. to log the throttling. */
  onRetry?: (error: unknown, attempt: number, waitMs: number) => void;
};

export const defaultSleep: Sleep = (ms, signal) => delay(ms, undefined, { signal });

const THROTTLING = new Set(['RequestLimitExceeded', 'Throttling', 'ThrottlingException', 'TooManyRequestsException']);
const TRANSIENT = new Set([
  'InternalError',
  'InternalFailure',
  'ServiceUnavailable',
  'Unavailable',
  'RequestTimeout',
  'RequestTimeoutException',
  'TimeoutError',
]);
const NETWORK = new Set(['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN', 'ENETUNREACH', 'EHOSTUNREACH', 'UND_ERR_SOCKET']);

type AwsLikeError = { name?: string; code?: string; $metadata?: { httpStatusCode?: number } };

/**
 * Whether another try may succeed: throttling, a server-side fault or a dropped
 * connection. Anything else (a missing instance, a denied permission, a bad
 * request) would fail the same way again.
 */
export function isRetryable(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const { name = '', code = '', $metadata } = error as AwsLikeError;
  if (THROTTLING.has(name) || THROTTLING.has(code) || TRANSIENT.has(name) || TRANSIENT.has(code)) return true;
  if (NETWORK.has(code)) return true;
  const status = $metadata?.httpStatusCode;
  if (status !== undefined) return status >= 500 || status === 429;
  const cause = (error as { cause?: unknown }).cause;
  return cause !== undefined && cause !== error && isRetryable(cause);
}

/** An error for a message: AWS errors carry their code (UnauthorizedOperation...) in the name, not the message. */
export function reasonOf(error: unknown): string {
  const { name, message } = error as Error;
  return name && name !== 'Error' && !message.startsWith(name) ? `${name}: ${message}` : message;
}

/** Runs `operation`, retrying retryable failures with capped exponential backoff and full jitter. */
export async function withRetry<T>(operation: () => Promise<T>, options: RetryOptions = {}): Promise<T> {
  const { attempts = 5, baseMs = 200, maxMs = 5000, sleep = defaultSleep, random = Math.random, signal, onRetry } = options;
  for (let attempt = 1; ; attempt++) {
    try {
      return await operation();
    } catch (error) {
      if (attempt >= attempts || !isRetryable(error) || signal?.aborted) throw error;
      // Full jitter: callers throttled together spread out instead of retrying in step.
      const waitMs = Math.floor(random() * Math.min(maxMs, baseMs * 2 ** (attempt - 1)));
      onRetry?.(error, attempt, waitMs);
      await sleep(waitMs, signal);
    }
  }
}
