// Where a stage's metric lines are matched and delivered. Matching a line and writing its point
// cost microseconds each, which would slow a command printing a million lines if the thread that
// passes its output through did them. So copies of the output wait unmatched at first: a command
// that ends soon with little output has them recorded on the main thread afterwards (starting a
// thread would cost more), and one that keeps printing gets the metrics thread, which matches and
// delivers while the main thread only forwards the output.
import os from 'node:os';
import path from 'node:path';
import type { MetricConfig, MetricConfigOptions } from '../metrics/config.ts';
import { metricsEnabled, type MetricsFrom, type OutputStream } from '../metrics/stream.ts';
import { describeError, type Reporter } from '../report.ts';
import { watchLiveness } from './liveness.ts';
import { MetricRecorder, type MetricReport } from './metric-recorder.ts';
import { MetricsThread } from './metrics-thread.ts';
import type { Tracking } from './tracked-run.ts';

/** The thread is started once this much output waits unmatched, */
const THREAD_AFTER_BYTES = 256 * 1024;
/** or once the first unmatched chunk has waited this long (the command runs on: points should flow). */
const THREAD_AFTER_MS = 200;

type Recording = MetricRecorder | MetricsThread;

export interface StageMetricsSpec {
  config: MetricConfig;
  /** The same options uncompiled, for the thread to compile again. */
  options: MetricConfigOptions;
  from: MetricsFrom;
}

export class StageMetrics {
  readonly #spec: StageMetricsSpec;
  readonly #tracking: Tracking;
  readonly #enabled: boolean;
  #waiting: { stream: OutputStream; chunk: Uint8Array; time: number }[] = [];
  #waitingBytes = 0;
  #timer: NodeJS.Timeout | undefined;
  #recording: Recording | undefined;

  constructor(spec: StageMetricsSpec, tracking: Tracking) {
    this.#spec = spec;
    this.#tracking = tracking;
    this.#enabled = metricsEnabled(spec.config);
  }

  write(stream: OutputStream, chunk: Buffer): void {
    if (!this.#enabled || (this.#spec.from !== 'both' && this.#spec.from !== stream)) return;
    const time = Date.now();
    if (this.#recording) return this.#recording.write(stream, chunk, time);
    this.#waiting.push({ stream, chunk, time });
    this.#waitingBytes += chunk.length;
    if (this.#waitingBytes >= THREAD_AFTER_BYTES) this.#start(this.#inThread());
    else this.#timer ??= setTimeout(() => this.#start(this.#inThread()), THREAD_AFTER_MS);
  }

  /**
   * Matches the last lines and delivers every point. A slow store is waited for as long as it
   * makes progress or answers (see liveness.ts); one that stops answering is given up, and what it did
   * not take goes to the offline record instead.
   */
  async finish(reporter: Reporter, hurry: AbortSignal): Promise<void> {
    if (!this.#enabled) return;
    const recording = this.#recording ?? this.#start(this.#inline());
    try {
      await this.#deliver(recording, reporter, hurry);
    } finally {
      await recording.stop();
    }
  }

  async #deliver(recording: Recording, reporter: Reporter, hurry: AbortSignal): Promise<void> {
    const liveness = watchLiveness(this.#tracking.store, () => recording.delivered);
    let report: MetricReport;
    try {
      report = await recording.finish(AbortSignal.any([liveness.signal, hurry]));
    } finally {
      liveness.stop();
    }
    const { lines, points, keys, delivered, undelivered, failure } = report;
    reporter.info(`metrics: ${lines} lines read, ${points} points from ${keys} keys, ${delivered} delivered`);
    if (undelivered === 0) return;
    const reason = failure ?? 'unknown';
    // After the user's second signal the run is closed where it is, without moving it.
    if (!hurry.aborted && (await this.#tracking.failover(reason))) {
      try {
        await recording.deliverRest(this.#tracking);
      } catch (error) {
        reporter.warn(`${undelivered} of ${points} metric points could not be recorded locally either: ${describeError(error)}`);
      }
      return;
    }
    reporter.warn(`${undelivered} of ${points} metric points were not delivered: ${reason}`);
  }

  #start(recording: Recording): Recording {
    clearTimeout(this.#timer);
    this.#recording = recording;
    for (const { stream, chunk, time } of this.#waiting) recording.write(stream, chunk, time);
    this.#waiting = [];
    return recording;
  }

  /** On the main thread, into the run's store as it is when each batch goes (after a failover, the offline record). */
  #inline(): Recording {
    const tracking = this.#tracking;
    return new MetricRecorder(
      this.#spec.config,
      this.#spec.from,
      tracking.run.runId,
      (points, options) => tracking.store.logBatch(tracking.run.runId, { metrics: points }, options),
      tracking.store.metricsPerBatch,
    );
  }

  /** In the metrics thread; on this one if no thread can be started. */
  #inThread(): Recording {
    const { run, target, env, store } = this.#tracking;
    try {
      return new MetricsThread({
        config: this.#spec.options,
        from: this.#spec.from,
        target,
        runId: run.runId,
        metricsPerBatch: store.metricsPerBatch,
        env,
        spillPath: path.join(os.tmpdir(), `mlrun-${run.runId}-${process.pid}.output`),
      });
    } catch {
      // No thread to be had (memory, a sandbox's limits): slower here, but nothing is lost.
      return this.#inline();
    }
  }
}
