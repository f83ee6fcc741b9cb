// When waiting output gets matched. Matching lines and writing points take CPU that passing the
// command's output through needs while it streams: on 2 cores, a thread that started and matched
// during a burst of a million lines cut passthrough to about 70% of the command alone, and merely
// starting it to about 84% (alternating runs, 7 to 9 of each). So output waits, unmatched, until
// the command pauses, and at most a second, which keeps points flowing from a command that never
// pauses.

/** A pause this long ends a burst of output. */
export const QUIET_MS = 50;
/** Output waits unmatched no longer than this. */
export const MAX_WAIT_MS = 1000;

/**
 * Milliseconds until waiting output is due to be matched (0: now), given when its first and its
 * last chunk were read.
 */
export function burstOverIn(first: number, last: number, now = Date.now()): number {
  return Math.max(0, Math.min(last + QUIET_MS, first + MAX_WAIT_MS) - now);
}
