// Log-batch calls about one run made in the same turn of the event loop travel together: when a
// stage's command ends, its last metric points, its system summary and its outcome tags are logged
// at once by three parts of mlrun, and a server spends far more on each request (a handler, a
// database transaction) than on each entry in it. What one request takes is still split within
// MLflow's limits by the sender (batch.ts).
import type { Batch, Param, Tag } from '../store.ts';
import { TrackingError } from '../errors.ts';

export type SendBatch = (runId: string, batch: Batch, signal: AbortSignal | undefined) => Promise<void>;

interface Part {
  batch: Batch;
  signal: AbortSignal | undefined;
  resolve: () => void;
  reject: (error: unknown) => void;
}

interface Group {
  parts: Part[];
  /** Param and tag keys in the group: a later value of one goes in a request after it. */
  keys: Set<string>;
}

export class BatchCoalescer {
  readonly #send: SendBatch;
  /** Per run, the groups waiting for the end of this turn, in the order they go. */
  readonly #waiting = new Map<string, Group[]>();

  constructor(send: SendBatch) {
    this.#send = send;
  }

  /** Resolves once the batch is logged; rejects as its request failed (see #sendGroup for one shared with others). */
  log(runId: string, batch: Batch, signal: AbortSignal | undefined): Promise<void> {
    if (signal?.aborted) return this.#send(runId, batch, signal);
    return new Promise<void>((resolve, reject) => this.#join(runId, { batch, signal, resolve, reject }));
  }

  #join(runId: string, part: Part): void {
    let groups = this.#waiting.get(runId);
    if (!groups) {
      groups = [];
      this.#waiting.set(runId, groups);
      setImmediate(() => {
        this.#waiting.delete(runId);
        void this.#sendInOrder(runId, groups!);
      });
    }
    const keys = keysOf(part.batch);
    const last = groups.at(-1);
    // MLflow refuses a request with a param key twice (validation.py `_validate_param_keys_unique`).
    if (last && !keys.some((key) => last.keys.has(key))) {
      last.parts.push(part);
      for (const key of keys) last.keys.add(key);
    } else {
      groups.push({ parts: [part], keys: new Set(keys) });
    }
  }

  async #sendInOrder(runId: string, groups: Group[]): Promise<void> {
    for (const group of groups) await this.#sendGroup(runId, group.parts);
  }

  /**
   * A part alone goes as its own call would. Parts together share one request, which is abandoned
   * only once every one of them is: a part whose own signal aborts is answered at once with its
   * reason, and the request goes on for the others.
   */
  async #sendGroup(runId: string, parts: Part[]): Promise<void> {
    if (parts.length === 1) return this.#sendAlone(runId, parts[0]!);
    for (const { signal, reject } of parts) {
      if (signal?.aborted) reject(signal.reason);
      signal?.addEventListener('abort', () => reject(signal.reason), { once: true });
    }
    try {
      await this.#send(runId, merged(parts), allAborted(parts));
      for (const part of parts) part.resolve();
    } catch (error) {
      if (error instanceof TrackingError && !error.unreachable) {
        // A value the server refused: each part alone, so that only its own caller hears of it.
        // Sending a part again is harmless: MLflow keeps a metric point once, and a param or a tag
        // that holds the same value.
        for (const part of parts) await this.#sendAlone(runId, part);
        return;
      }
      for (const part of parts) part.reject(error);
    }
  }

  #sendAlone(runId: string, part: Part): Promise<void> {
    return this.#send(runId, part.batch, part.signal).then(part.resolve, part.reject);
  }
}

function keysOf(batch: Batch): string[] {
  const keyed = (entries: (Param | Tag)[] | undefined, kind: string) => (entries ?? []).map((entry) => `${kind}\n${entry.key}`);
  return [...keyed(batch.params, 'param'), ...keyed(batch.tags, 'tag')];
}

function merged(parts: Part[]): Batch {
  return {
    params: parts.flatMap((part) => part.batch.params ?? []),
    tags: parts.flatMap((part) => part.batch.tags ?? []),
    metrics: parts.flatMap((part) => part.batch.metrics ?? []),
  };
}

/** Aborts the shared request once no part is waiting for it any more; undefined while one has no signal. */
function allAborted(parts: Part[]): AbortSignal | undefined {
  const signals = parts.map((part) => part.signal);
  if (signals.some((signal) => signal === undefined)) return undefined;
  const controller = new AbortController();
  const check = () => {
    if (signals.every((signal) => signal!.aborted)) controller.abort(signals.at(-1)!.reason);
  };
  for (const signal of signals) signal!.addEventListener('abort', check, { once: true });
  check();
  return controller.signal;
}
