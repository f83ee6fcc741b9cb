// A stage's metric lines on their way to its run: the command's output → MetricStream (lines →
// points) → MetricSink (batches, spill to disk, in order) → store.logBatch.
import os from 'node:os';
import path from 'node:path';
import type { MetricConfig } from '../metrics/config.ts';
import { MetricSink } from '../metrics/delivery.ts';
import { MetricStream, type MetricsFrom, type OutputStream } from '../metrics/stream.ts';
import { describeError, type Reporter } from '../report.ts';
import type { Tracking } from './tracked-run.ts';

/** After the command ended, delivery goes on while the store makes progress, and stops after this long without any. */
export const DELIVERY_IDLE_MS = 5000;
/** How long a server that delivers nothing has to show it is still there. */
const PING_MS = 3000;

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
   * makes progress; one that stops answering is given up after DELIVERY_IDLE_MS, and what it did
   * not take goes to the offline record instead.
   */
  async finish(reporter: Reporter, hurry: AbortSignal): Promise<void> {
    const now = Date.now();
    this.#stream.end('stdout', now);
    this.#stream.end('stderr', now);
    const idle = new AbortController();
    let delivered = -1;
    const watchdog = setInterval(() => {
      const now = this.#sink.stats().delivered;
      const progressed = now !== delivered;
      delivered = now;
      if (progressed) return;
      // No batch went through for a while: a server that still answers is only busy (parallel
      // stages queue at it), one that does not is lost.
      this.#tracking.store.ping({ signal: AbortSignal.timeout(PING_MS) }).catch(() => {
        idle.abort(new Error(`no answer for ${DELIVERY_IDLE_MS / 1000} s`));
      });
    }, DELIVERY_IDLE_MS);
    try {
      await this.#sink.close({ signal: AbortSignal.any([idle.signal, hurry]) });
    } finally {
      clearInterval(watchdog);
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
