// When to retry and how long to wait, as urllib3 2.x's `Retry` does it for the MLflow Python client
// (mlflow/utils/request_utils.py): the first retry is immediate, then factor·2^(n-1) seconds plus
// jitter, capped at 120 s; a Retry-After header replaces the backoff when it asks for a wait.
// `withRetries` is the attempt loop of every request to the server, JSON or file.
import { setTimeout as sleep } from 'node:timers/promises';
import type { RetryPolicy } from './config.ts';
import {
  abortedError, bodyError, describeNetworkError, httpError, isRetriedNetworkError, networkError, sanitized, type Attempted,
} from './errors.ts';

/** `_TRANSIENT_FAILURE_RESPONSE_CODES` */
const RETRIED_STATUSES = new Set([408, 429, 500, 502, 503, 504]);
/**
 * urllib3 also retries these when they carry a Retry-After header (`Retry.RETRY_AFTER_STATUS_CODES`
 * is 413, 429, 503, and MLflow's client keeps urllib3's default). 413 is left out here, even with
 * the header: the same body meets the same limit (a proxy's client_max_body_size, a load
 * balancer's cap), and each attempt would send the whole file again for nothing.
 */
const RETRY_AFTER_STATUSES = new Set([429, 503]);
const BACKOFF_MAX_SECONDS = 120;
const RETRY_AFTER_MAX_SECONDS = 21_600;

/** What the attempt loop reads of an answer. */
export interface Answer {
  status: number;
  statusText: string;
  /** the Retry-After header, if any */
  retryAfter: string | undefined;
  body: string;
}

/** An attempt never throws: no answer is either the network's failure or the body's (a file gone). */
export type Outcome<A extends Answer> = { answer: A } | { failure: unknown } | { bodyFailure: unknown };

/**
 * Makes attempts until a 2xx answer, retrying transient failures with backoff until the policy's
 * limit; `signal` ends the attempt and any pending backoff at once.
 * @throws TrackingError for any other answer, a network failure, a body failure or the abort.
 */
export async function withRetries<A extends Answer>(
  policy: RetryPolicy,
  signal: AbortSignal | undefined,
  attempted: (attempts: number) => Attempted,
  attempt: () => Promise<Outcome<A>>,
): Promise<A> {
  let lastFailure: string | undefined;
  for (let attempts = 1; ; attempts++) {
    const at = attempted(attempts);
    const outcome = await attempt();
    if (signal?.aborted) throw abortedError(lastFailure, at, signal.reason);
    if ('bodyFailure' in outcome) throw bodyError(outcome.bodyFailure, at);
    if ('failure' in outcome) {
      const cause = sanitized(outcome.failure, at.scrub);
      if (!isRetriedNetworkError(outcome.failure) || attempts > policy.maxRetries) throw networkError(cause, at);
      lastFailure = describeNetworkError(cause);
      await pause(delaySeconds(attempts, policy, undefined), signal, lastFailure, at);
      continue;
    }
    const { answer } = outcome;
    if (answer.status >= 200 && answer.status < 300) return answer;
    const retryAfter = retryAfterSeconds(answer.retryAfter);
    if (attempts <= policy.maxRetries && isRetriedStatus(answer.status, retryAfter !== undefined, policy)) {
      lastFailure = `HTTP ${answer.status}`;
      await pause(delaySeconds(attempts, policy, retryAfter), signal, lastFailure, at);
      continue;
    }
    throw httpError(answer.status, answer.statusText, answer.body, at);
  }
}

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

async function pause(seconds: number, signal: AbortSignal | undefined, lastFailure: string, at: Attempted): Promise<void> {
  try {
    await wait(seconds, signal);
  } catch (error) {
    throw abortedError(lastFailure, at, signal?.reason ?? error);
  }
}
