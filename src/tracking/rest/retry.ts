// When to retry and how long to wait, as urllib3 2.x's `Retry` does it for the MLflow Python client
// (mlflow/utils/request_utils.py): the first retry is immediate, then factor·2^(n-1) seconds plus
// jitter, capped at 120 s; a Retry-After header replaces the backoff when it asks for a wait.
import { setTimeout as sleep } from 'node:timers/promises';
import type { RetryPolicy } from './config.ts';

/** `_TRANSIENT_FAILURE_RESPONSE_CODES` */
const RETRIED_STATUSES = new Set([408, 429, 500, 502, 503, 504]);
/** urllib3 also retries these when they carry a Retry-After header. */
const RETRY_AFTER_STATUSES = new Set([413, 429, 503]);
const BACKOFF_MAX_SECONDS = 120;
const RETRY_AFTER_MAX_SECONDS = 21_600;

export function isRetriedStatus(status: number, hasRetryAfter: boolean, policy: RetryPolicy): boolean {
  return RETRIED_STATUSES.has(status) || (policy.respectRetryAfter && hasRetryAfter && RETRY_AFTER_STATUSES.has(status));
}

/** Seconds to wait after the `failures`-th consecutive failed attempt (1-based). */
export function backoffSeconds(failures: number, policy: RetryPolicy, random: () => number = Math.random): number {
  if (failures <= 1) return 0;
  let seconds = policy.backoffFactor * 2 ** (failures - 1);
  if (policy.backoffJitter !== 0) seconds += random() * policy.backoffJitter;
  return Math.max(0, Math.min(BACKOFF_MAX_SECONDS, seconds));
}

/** Seconds a Retry-After header asks for (delta-seconds or an HTTP date), or undefined. */
export function retryAfterSeconds(header: string | undefined, now: number = Date.now()): number | undefined {
  if (header === undefined) return undefined;
  const trimmed = header.trim();
  const seconds = /^\d+$/.test(trimmed) ? Number(trimmed) : (Date.parse(trimmed) - now) / 1000;
  if (Number.isNaN(seconds)) return undefined;
  return Math.min(Math.max(seconds, 0), RETRY_AFTER_MAX_SECONDS);
}

/** The wait before the next attempt; a zero Retry-After falls back to the backoff, as in urllib3. */
export function delaySeconds(failures: number, policy: RetryPolicy, retryAfter: number | undefined): number {
  if (policy.respectRetryAfter && retryAfter) return retryAfter;
  return backoffSeconds(failures, policy);
}

/** Resolves after `seconds`, or rejects with the signal's reason as soon as it aborts. */
export async function wait(seconds: number, signal: AbortSignal | undefined): Promise<void> {
  if (seconds <= 0) {
    signal?.throwIfAborted();
    return;
  }
  await sleep(seconds * 1000, undefined, { signal });
}
