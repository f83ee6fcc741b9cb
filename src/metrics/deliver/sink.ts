// Gets metric points to the tracking store without ever holding up the command: `push` is
// synchronous and cheap, batches go out one request at a time (so points arrive in order), at least
// every second, within MLflow's log-batch limits. Memory is capped; the overflow waits in a spill
// file and is read back in order. When sending fails for good, nothing is lost: the rest is handed
// back, in order, for the caller to record elsewhere.
import { MAX_BATCH_REQUEST_BYTES, MAX_METRICS_PER_BATCH } from '../../tracking/limits.ts';
import type { CallOptions, Metric } from '../../tracking/store.ts';
import { SpillFile } from './spill.ts';

export type SendPoints = (points: Metric[], options: CallOptions) => Promise<void>;

export interface MetricSinkOptions {
  /** Sends one batch; the caller wraps store.logBatch. Should honour `options.signal`. */
  send: SendPoints;
  /** The name of the file where overflow waits (temp-files.ts): created only when needed. */
  spillName: string;
  /** Points held in memory at most, in-flight batch included. */
  maxInMemory?: number;
  maxBatchPoints?: number;
  /** JSON bytes of the points of one batch; the rest of the 1 MB is left for the request around them. */
  maxBatchBytes?: number;
  flushIntervalMs?: number;
}

export interface SinkStats {
  pushed: number;
  delivered: number;
  /** Pushed and not delivered by `send`: queued, in flight, spilled, or handed back. */
  undelivered: number;
  batches: number;
  /** Points written to the spill file, in all. */
  spilled: number;
  /** Set when the spill file could not be written: the overflow then stays in memory. */
  spillError: unknown;
  inMemory: number;
  peakInMemory: number;
}

const MAX_BATCH_BYTES = MAX_BATCH_REQUEST_BYTES - 1024;
const MAX_IN_MEMORY = 20_000;
const FLUSH_INTERVAL_MS = 1000;

export class MetricSink {
  private readonly send: SendPoints;
  private readonly spill: SpillFile;
  private readonly maxBatchPoints: number;
  private readonly maxBatchBytes: number;
  /** Points are spilled this many at a time; the memory cap keeps room for one such group. */
  private readonly spillChunk: number;
  /** The most points held in `queue` + in flight + handed back; the spill group fills the rest. */
  private readonly queueCap: number;
  private readonly timer: NodeJS.Timeout;

  // In order: retained (a batch whose send failed), queue[head..], spill file, spillBuffer.
  private retained: Metric[] | undefined;
  private inFlight: Metric[] | undefined;
  private queue: Metric[] = [];
  private head = 0;
  private spillBuffer: Metric[] = [];

  private running: Promise<void> | undefined;
  private flushRequested = false;
  private closing = false;
  private stopReason: { reason: unknown } | undefined;
  private abortInFlight: AbortController | undefined;
  private closed: Promise<void> | undefined;
  private finished = false;
  /** Why the spill file could not be written; from then on the overflow stays in memory. */
  private spillError: unknown;
  private refilling: Promise<void> | undefined;

  private pushed = 0;
  private delivered = 0;
  private batches = 0;
  private spilled = 0;
  private peakInMemory = 0;

  constructor(options: MetricSinkOptions) {
    this.send = options.send;
    this.spill = new SpillFile(options.spillName);
    this.maxBatchPoints = options.maxBatchPoints ?? MAX_METRICS_PER_BATCH;
    this.maxBatchBytes = options.maxBatchBytes ?? MAX_BATCH_BYTES;
    const maxInMemory = options.maxInMemory ?? MAX_IN_MEMORY;
    this.spillChunk = Math.max(1, Math.min(1000, Math.floor(maxInMemory / 10)));
    this.queueCap = maxInMemory - this.spillChunk;
    if (this.queueCap < 1) throw new RangeError('MetricSink: maxInMemory must be at least 2');
    this.timer = setInterval(() => this.kick(true), options.flushIntervalMs ?? FLUSH_INTERVAL_MS);
    this.timer.unref();
  }

  /** Never blocks on the network, never awaits. */
  push(point: Metric): void {
    // After a clean close nothing would ever send it (after a stop, it is handed back as usual).
    if (this.finished && this.stopReason === undefined) throw new Error('MetricSink.push after close');
    this.pushed++;
    if (!this.spilling() && this.held() < this.queueCap) {
      this.queue.push(point);
      if (this.queue.length - this.head === this.maxBatchPoints) queueMicrotask(() => this.kick(false));
    } else {
      this.spillBuffer.push(point);
      if (this.spillBuffer.length >= this.spillChunk && this.spillError === undefined) this.writeSpill();
    }
    this.notePeak();
  }

  /** Sends what waits now rather than at the next tick of the interval. */
  flush(): void {
    this.kick(true);
  }

  /** Why sending stopped (the error `send` threw, close's abort), if it did. */
  get failure(): unknown {
    return this.stopReason?.reason;
  }

  get stopped(): boolean {
    return this.stopReason !== undefined;
  }

  /**
   * Sends everything left and resolves when done, or as soon as `signal` aborts (the in-flight
   * request is aborted and kept). Afterwards `stats().undelivered` says whether anything is left
   * for `takeUndelivered`.
   */
  close(options: { signal?: AbortSignal } = {}): Promise<void> {
    this.closed ??= this.finish(options.signal);
    return this.closed;
  }

  /**
   * Everything not delivered, in order, in batches within the limits: for the caller to record
   * elsewhere. Only once sending has stopped (`send` failed, `fail`, or close aborted).
   */
  async *takeUndelivered(): AsyncGenerator<Metric[]> {
    if (this.stopReason === undefined) throw new Error('MetricSink.takeUndelivered: the sink is still sending');
    if (this.retained !== undefined) {
      const batch = this.retained;
      this.retained = undefined;
      yield batch;
    }
    for (;;) {
      if (this.queue.length === this.head) await this.refill();
      if (this.queue.length === this.head) break;
      yield this.takeBatch();
    }
    this.spill.remove();
  }

  stats(): SinkStats {
    return {
      pushed: this.pushed,
      delivered: this.delivered,
      undelivered: this.pushed - this.delivered,
      batches: this.batches,
      spilled: this.spilled,
      spillError: this.spillError,
      inMemory: this.inMemory(),
      peakInMemory: this.peakInMemory,
    };
  }

  private async finish(signal: AbortSignal | undefined): Promise<void> {
    clearInterval(this.timer);
    this.closing = true;
    let onAbort = (): void => {};
    const aborted = new Promise<void>((resolve) => {
      onAbort = () => {
        this.stop(signal?.reason);
        resolve();
      };
    });
    if (signal?.aborted === true) onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      while (this.stopReason === undefined && this.pending()) {
        this.kick(true);
        await Promise.race([this.running, aborted]);
      }
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
    if (this.stopReason === undefined) this.spill.remove();
    this.finished = true;
  }

  private kick(flush: boolean): void {
    if (flush) this.flushRequested = true;
    if (this.running !== undefined || this.stopReason !== undefined || !this.pending()) return;
    this.running = this.drain()
      // A spill file that cannot be read back is a failure like any other: stop and hand back.
      .catch((error: unknown) => this.stop(error))
      .finally(() => {
        this.running = undefined;
      });
  }

  /** The one loop that sends: one batch in flight at a time. */
  private async drain(): Promise<void> {
    while (this.stopReason === undefined) {
      if (this.queue.length === this.head) await this.refill();
      if (this.stopReason !== undefined) return;
      const queued = this.queue.length - this.head;
      if (queued === 0) break;
      const full = queued >= this.maxBatchPoints || this.spilling();
      if (!full && !this.flushRequested && !this.closing) return;
      const batch = this.takeBatch();
      this.inFlight = batch;
      const sent = await this.deliver(batch);
      if (!sent) return; // stop() kept the batch
      this.inFlight = undefined;
      this.delivered += batch.length;
      this.batches++;
    }
    this.flushRequested = false;
  }

  /** One attempt: the store's client already retried what is worth retrying, so a failure stops sending. */
  private async deliver(batch: Metric[]): Promise<boolean> {
    const controller = new AbortController();
    this.abortInFlight = controller;
    try {
      await this.send(batch, { signal: controller.signal });
      if (this.stopReason !== undefined && this.retained === batch) {
        // Stopped while this request was out, and it made it after all: not to be handed back.
        this.retained = undefined;
        this.delivered += batch.length;
        this.batches++;
      }
      return this.stopReason === undefined;
    } catch (error) {
      this.stop(error);
      return false;
    } finally {
      this.abortInFlight = undefined;
    }
  }

  private stop(reason: unknown): void {
    if (this.stopReason !== undefined) return;
    this.stopReason = { reason };
    clearInterval(this.timer);
    if (this.inFlight !== undefined) {
      this.retained = this.inFlight;
      this.inFlight = undefined;
    }
    this.abortInFlight?.abort(reason);
  }

  /** The next batch from the queue: at most maxBatchPoints, at most maxBatchBytes of JSON. */
  private takeBatch(): Metric[] {
    const start = this.head;
    const end = Math.min(this.queue.length, start + this.maxBatchPoints);
    let bytes = 0;
    let i = start;
    for (; i < end; i++) {
      bytes += jsonBound(this.queue[i] as Metric);
      if (bytes > this.maxBatchBytes && i > start) break;
    }
    const batch = this.queue.slice(start, i);
    this.head = i;
    if (this.head === this.queue.length) {
      this.queue = [];
      this.head = 0;
    } else if (this.head >= 4096 && this.head * 2 >= this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    return batch;
  }

  /** Moves the oldest spilled points back into the queue, as many as the cap allows. */
  private refill(): Promise<void> {
    // The sending loop and takeUndelivered may both ask; the spill file serves one read at a time.
    this.refilling ??= this.readBack().finally(() => {
      this.refilling = undefined;
    });
    return this.refilling;
  }

  private async readBack(): Promise<void> {
    if (this.spill.count > 0) {
      const room = this.queueCap - this.held();
      const points = await this.spill.take(Math.max(1, Math.min(room, this.maxBatchPoints * 4)));
      for (const point of points) this.queue.push(point);
    } else if (this.spillBuffer.length > 0) {
      for (const point of this.spillBuffer) this.queue.push(point);
      this.spillBuffer = [];
    }
    this.notePeak();
  }

  private writeSpill(): void {
    try {
      this.spill.append(this.spillBuffer);
    } catch (error) {
      // The disk is full or gone: losing points would be worse than going over the memory cap.
      this.spillError = error;
      return;
    }
    this.spilled += this.spillBuffer.length;
    this.spillBuffer = [];
  }

  private spilling(): boolean {
    return this.spill.count > 0 || this.spillBuffer.length > 0;
  }

  private pending(): boolean {
    return this.queue.length > this.head || this.spilling() || this.inFlight !== undefined;
  }

  private held(): number {
    return this.queue.length - this.head + (this.inFlight?.length ?? 0) + (this.retained?.length ?? 0);
  }

  private inMemory(): number {
    return this.held() + this.spillBuffer.length;
  }

  private notePeak(): void {
    const now = this.inMemory();
    if (now > this.peakInMemory) this.peakInMemory = now;
  }
}

/**
 * An upper bound on the JSON of one metric in a log-batch request:
 * `{"key":"…","value":…,"timestamp":…,"step":…},` is 41 characters around at most 24 for the
 * value, 16 for the timestamp and 20 for the step, and a key character takes at most 6 (`\u0000`).
 */
function jsonBound(point: Metric): number {
  return 101 + 6 * point.key.length;
}
