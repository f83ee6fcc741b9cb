// Where a stage's metric lines are matched and delivered. Matching a line and writing its point
// cost microseconds each, which would slow a command printing a million lines if the thread that
// passes its output through did them. So copies of the output wait unmatched in one queue
// (thread/handoff.ts): a command that ends soon with little output has them matched on the main
// thread afterwards (starting a thread would cost more), and one that keeps printing gets the
// metrics thread, which matches and delivers while the main thread only forwards the output.
import type { MetricConfig, MetricConfigOptions } from './parse/config.ts';
import type { LastPoint } from './parse/points.ts';
import { metricsEnabled, type MetricsFrom, type OutputStream } from './parse/stream.ts';
import { describeError, type Reporter } from '../report.ts';
import { watchLiveness } from '../tracking/liveness.ts';
import { MetricRecorder, type MetricReport } from './deliver/recorder.ts';
import { MetricsThread } from './thread/handoff.ts';
import type { ThreadInit } from './thread/protocol.ts';
import type { Tracking } from '../tracking/tracked-run.ts';

/** A stage that ended before its thread started, with less output than this, has it matched on the main thread. */
const MATCH_HERE_UP_TO_BYTES = 256 * 1024;

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
  /** The output waiting to be matched, from the first chunk on. */
  #queue: MetricsThread | undefined;

  constructor(spec: StageMetricsSpec, tracking: Tracking) {
    this.#spec = spec;
    this.#tracking = tracking;
    this.#enabled = metricsEnabled(spec.config);
  }

  /** A chunk of the command's output, valid only during the call (see pass-through.ts): the queue copies it. */
  write(stream: OutputStream, chunk: Buffer): void {
    if (!this.#enabled || (this.#spec.from !== 'both' && this.#spec.from !== stream)) return;
    (this.#queue ??= new MetricsThread(this.#threadInit())).write(stream, chunk, Date.now());
  }

  /**
   * Matches the last lines and delivers every point. A slow store is waited for as long as it
   * makes progress or answers (see liveness.ts); one that stops answering is given up, and what it did
   * not take goes to the offline record instead. Resolves to each key's latest point.
   */
  async finish(reporter: Reporter, hurry: AbortSignal): Promise<ReadonlyMap<string, LastPoint>> {
    if (!this.#enabled) return new Map();
    const queue = this.#queue;
    const recording = queue && (queue.started || queue.written >= MATCH_HERE_UP_TO_BYTES) ? queue : this.#inline(queue);
    try {
      return await this.#deliver(recording, reporter, hurry);
    } catch (error) {
      // The thread failed (it could not start, or crashed): the run's other records still go.
      reporter.warn(`the metric lines of the output were not recorded: ${describeError(error)}`);
      return new Map();
    } finally {
      await recording.stop();
    }
  }

  async #deliver(recording: Recording, reporter: Reporter, hurry: AbortSignal): Promise<ReadonlyMap<string, LastPoint>> {
    const liveness = watchLiveness(this.#tracking.store, () => recording.delivered);
    let report: MetricReport;
    try {
      report = await recording.finish(AbortSignal.any([liveness.signal, hurry]));
    } finally {
      liveness.stop();
    }
    const { lines, points, keys, delivered, undelivered, failure, lastPoints } = report;
    reporter.info(`metrics: ${lines} lines read, ${points} points from ${keys} keys, ${delivered} delivered`);
    if (undelivered === 0) return lastPoints;
    const reason = failure ?? 'unknown';
    // A loss the inline recorder's own calls met already moved the run (it writes through the
    // failover store); what a given-up wait or the thread's own store left behind follows it now.
    // After the user's second signal the run is closed where it is, without moving it.
    if (!hurry.aborted && (await this.#tracking.store.failover(reason))) {
      try {
        await recording.deliverRest(this.#tracking);
      } catch (error) {
        reporter.warn(`${undelivered} of ${points} metric points could not be recorded locally either: ${describeError(error)}`);
      }
      return lastPoints;
    }
    reporter.warn(`${undelivered} of ${points} metric points were not delivered: ${reason}`);
    return lastPoints;
  }

  /** On the main thread, through the run's failover store: after a failover, into the offline copy. */
  #inline(queue: MetricsThread | undefined): Recording {
    const { store, run } = this.#tracking;
    const recorder = new MetricRecorder(
      this.#spec.config,
      this.#spec.from,
      run.runId,
      (points, options) => store.logBatch(run.runId, { metrics: points }, options),
      store.metricsPerBatch,
    );
    queue?.drain((stream, chunk, time) => recorder.write(stream, chunk, time));
    return recorder;
  }

  #threadInit(): ThreadInit {
    const { run, target, env, store } = this.#tracking;
    return {
      config: this.#spec.options,
      from: this.#spec.from,
      target,
      runId: run.runId,
      metricsPerBatch: store.metricsPerBatch,
      env,
      spillName: `mlrun-${run.runId}-${process.pid}.output`,
    };
  }
}
