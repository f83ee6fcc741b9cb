// A stage's metric lines on their way to its run: the command's output → MetricStream (lines →
// points) → MetricSink (batches, spill to disk, in order) → store.logBatch.
import os from 'node:os';
import path from 'node:path';
import type { MetricConfig } from '../metrics/config.ts';
import { MetricSink } from '../metrics/delivery.ts';
import { MetricStream, type MetricsFrom, type OutputStream } from '../metrics/stream.ts';
import { describeError, type Reporter } from '../report.ts';
import { watchLiveness } from './liveness.ts';
import type { Tracking } from './tracked-run.ts';


export class StageMetrics {
  readonly #stream: MetricStream;
  readonly #sink: MetricSink;

  readonly #tracking: Tracking;

  constructor(config: MetricConfig, from: MetricsFrom, tracking: Tracking) {
    this.#tracking = tracking;
    this.#sink = new MetricSink({
      // The store as it is when each batch goes: after a failover, the offline record.
      send: (points, options) => tracking.store.logBatch(tracking.run.runId, { metrics: points }, options),
      // Created only if the store falls behind, and removed once it caught up.
      spillPath: path.join(os.tmpdir(), `mlrun-${tracking.run.runId}-${process.pid}.spill`),
    });
    this.#stream = new MetricStream(config, this.#sink, from);
  }

  write(stream: OutputStream, chunk: Buffer): void {
    this.#stream.write(stream, chunk, Date.now());
  }

  /**
   * Matches the last lines and delivers every point. A slow store is waited for as long as it
   * makes progress or answers (see liveness.ts); one that stops answering is given up, and what it did
   * not take goes to the offline record instead.
   */
  async finish(reporter: Reporter, hurry: AbortSignal): Promise<void> {
    const now = Date.now();
    this.#stream.end('stdout', now);
    this.#stream.end('stderr', now);
    const liveness = watchLiveness(this.#tracking.store, () => this.#sink.stats().delivered);
    try {
      await this.#sink.close({ signal: AbortSignal.any([liveness.signal, hurry]) });
    } finally {
      liveness.stop();
    }
    const { lines, points, keys } = this.#stream.stats();
    const { delivered: sent, undelivered } = this.#sink.stats();
    reporter.info(`metrics: ${lines} lines read, ${points} points from ${keys} keys, ${sent} delivered`);
    if (undelivered === 0) return;
    const reason = describeError(this.#sink.failure);
    // After the user's second signal the run is closed where it is, without moving it.
    if (!hurry.aborted && (await this.#tracking.failover(reason))) {
      try {
        for await (const batch of this.#sink.takeUndelivered()) await this.#tracking.store.logBatch(this.#tracking.run.runId, { metrics: batch });
        return;
      } catch (error) {
        reporter.warn(`${undelivered} of ${points} metric points could not be recorded locally either: ${describeError(error)}`);
        return;
      }
    }
    reporter.warn(`${undelivered} of ${points} metric points were not delivered: ${reason}`);
  }
}
