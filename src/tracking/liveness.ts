// How mlrun tells a busy server from a lost one while it waits at the end of a run: whenever
// `idleMs` pass without progress, it asks the store for any answer (`ping`); a store that still
// answers is only busy (parallel stages queue at one server) and is waited for, one that does not
// is lost, and the wait ends. So a lost server costs at most idleMs + PING_MS.
import { TrackingError } from './errors.ts';
import type { Store } from './store.ts';

const IDLE_MS = 5000;
const PING_MS = 3000;

export interface Liveness {
  /** Aborts once the store stopped answering, with an unreachable TrackingError: a loss (failover-store.ts). */
  signal: AbortSignal;
  stop(): void;
}

/** `progress` counts work done (e.g. points delivered); without it, every idle period is checked. */
export function watchLiveness(store: Store, progress: () => number = () => 0, idleMs = IDLE_MS): Liveness {
  const lost = new AbortController();
  let last = progress();
  let pinging = false;
  const timer = setInterval(() => {
    const now = progress();
    const progressed = now !== last;
    last = now;
    if (progressed || pinging) return;
    pinging = true;
    void answers(store)
      .then((answered) => {
        if (!answered) lost.abort(new TrackingError(`no answer from ${store.displayUri}`, 'DEADLINE_EXCEEDED', { unreachable: true }));
      })
      .finally(() => (pinging = false));
  }, idleMs);
  return { signal: lost.signal, stop: () => clearInterval(timer) };
}

/** Whether the store answers at all within PING_MS. Never rejects. */
export function answers(store: Store): Promise<boolean> {
  return store.ping({ signal: AbortSignal.timeout(PING_MS) }).then(
    () => true,
    () => false,
  );
}
