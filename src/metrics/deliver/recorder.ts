// A stage's metric lines on their way to its run: copies of the command's output → MetricStream
// (lines → points) → MetricSink (batches, spill to disk, in order) → store.logBatch. The same
// recorder runs on mlrun's main thread for small outputs and in the metrics thread for large ones
// (see ../stage-metrics.ts); it knows a store, never which thread it is on.
import type { MetricConfig } from '../parse/config.ts';
import { MetricSink, type SendPoints } from './sink.ts';
import { MetricStream, type MetricsFrom, type OutputStream } from '../parse/stream.ts';
import type { LastPoint } from '../parse/points.ts';
import { describeError } from '../../report.ts';
import type { Store } from '../../tracking/store.ts';

/** What became of a stage's metric lines once its recorder finished. */
export interface MetricReport {
  lines: number;
  points: number;
  keys: number;
  delivered: number;
  undelivered: number;
  /** Each key with its latest point (delivered or not). */
  lastPoints: Map<string, LastPoint>;
  /** Why sending stopped, when it did. */
  failure?: string;
}

export class MetricRecorder {
  readonly #stream: MetricStream;
  readonly #sink: MetricSink;

  /** `send` delivers a batch of at most `batchPoints` points (the store's `metricsPerBatch`). */
  constructor(config: MetricConfig, from: MetricsFrom, runId: string, send: SendPoints, batchPoints: number) {
    this.#sink = new MetricSink({
      send,
      maxBatchPoints: batchPoints,
      // Created only if the store falls behind, and removed once it caught up.
      spillName: `mlrun-${runId}-${process.pid}.spill`,
    });
    this.#stream = new MetricStream(config, this.#sink, from);
  }

  /** A copy of a chunk the command wrote, and when mlrun read it (ms since the epoch). */
  write(stream: OutputStream, chunk: Uint8Array, time: number): void {
    this.#stream.write(stream, chunk, time);
  }

  /** Sends the points matched so far without waiting for the sink's next tick. */
  flush(): void {
    this.#sink.flush();
  }

  get delivered(): number {
    return this.#sink.stats().delivered;
  }

  /** Points waiting for the store, in memory: whoever can wait to write more checks this first. */
  get waiting(): number {
    return this.#sink.stats().inMemory;
  }

  /** True once sending stopped for good (a failure, or `finish` gave up waiting). */
  get stopped(): boolean {
    return this.#sink.stopped;
  }

  /** Matches the last lines and delivers every point, until done or `signal` aborts. */
  async finish(signal: AbortSignal): Promise<MetricReport> {
    const now = Date.now();
    this.#stream.end('stdout', now);
    this.#stream.end('stderr', now);
    await this.#sink.close({ signal });
    const { delivered, undelivered } = this.#sink.stats();
    return {
      ...this.#stream.stats(),
      lastPoints: this.#stream.lastPoints(),
      delivered,
      undelivered,
      ...(undelivered > 0 ? { failure: describeError(this.#sink.failure) } : {}),
    };
  }

  /** Once `finish` left points undelivered: records them, in order, in another run (the offline record's). */
  async deliverRest(to: { store: Store; run: { runId: string } }): Promise<void> {
    for await (const batch of this.#sink.takeUndelivered()) await to.store.logBatch(to.run.runId, { metrics: batch });
  }

  /** Nothing to release: the recorder holds no thread and no store of its own. */
  async stop(): Promise<void> {}
}
