// Where a stage's metric lines are matched and delivered. Matching a line and writing its point
// cost microseconds each, which would slow a command printing a million lines if the thread that
// passes its output through did them. So copies of the output wait unmatched at first: a command
// that ends soon with little output has them recorded on the main thread afterwards (starting a
// thread would cost more), and one that keeps printing gets the metrics thread, which matches and
// delivers while the main thread only forwards the output. The thread starts once the output
// pauses (pacing.ts): in the middle of a burst its start alone would slow the burst.
import type { MetricConfig, MetricConfigOptions } from './parse/config.ts';
import type { LastPoint } from './parse/points.ts';
import { metricsEnabled, type MetricsFrom, type OutputStream } from './parse/stream.ts';
import { describeError, type Reporter } from '../report.ts';
import { watchLiveness } from '../tracking/liveness.ts';
import { MetricRecorder, type MetricReport } from './deliver/recorder.ts';
import { burstOverIn } from './pacing.ts';
import { MetricsThread } from './thread/handoff.ts';
import type { ThreadInit } from './thread/protocol.ts';
import type { Tracking } from '../tracking/tracked-run.ts';

/** Output that waits for the thread beyond this goes into the thread's hand-off (bounded memory, then disk). */
const HANDOFF_AFTER_BYTES = 256 * 1024;
/** The thread starts no sooner than this after the first chunk: a short stage never pays for it. */
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
  /** When the first and the last chunk waiting for a recording were read. */
  #first = 0;
  #last = 0;
  #timer: NodeJS.Timeout | undefined;
  /** The thread, not started yet, holding the output that waits for it once there is much. */
  #handoff: MetricsThread | undefined;
  #recording: Recording | undefined;

  constructor(spec: StageMetricsSpec, tracking: Tracking) {
    this.#spec = spec;
    this.#tracking = tracking;
    this.#enabled = metricsEnabled(spec.config);
  }

  /** A chunk of the command's output, valid only during the call (see pass-through.ts): what waits is copied. */
  write(stream: OutputStream, chunk: Buffer): void {
    if (!this.#enabled || (this.#spec.from !== 'both' && this.#spec.from !== stream)) return;
    const time = Date.now();
    if (this.#recording) return this.#recording.write(stream, chunk, time);
    if (this.#handoff) this.#handoff.write(stream, chunk, time);
    else {
      this.#waiting.push({ stream, chunk: Buffer.copyBytesFrom(chunk), time });
      this.#waitingBytes += chunk.length;
      if (this.#waitingBytes >= HANDOFF_AFTER_BYTES) this.#handoff = this.#takeWaiting(new MetricsThread(this.#threadInit()));
    }
    if (this.#first === 0) this.#first = time;
    this.#last = time;
    this.#timer ??= setTimeout(() => this.#startThreadWhenDue(), this.#threadDueIn(time));
  }

  /**
   * Matches the last lines and delivers every point. A slow store is waited for as long as it
   * makes progress or answers (see liveness.ts); one that stops answering is given up, and what it did
   * not take goes to the offline record instead. Resolves to each key's latest point.
   */
  async finish(reporter: Reporter, hurry: AbortSignal): Promise<ReadonlyMap<string, LastPoint>> {
    if (!this.#enabled) return new Map();
    const recording = this.#recording ?? this.#start(this.#handoff ?? this.#inline());
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
    // After the user's second signal the run is closed where it is, without moving it.
    if (!hurry.aborted && (await this.#tracking.failover(reason))) {
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

  #threadDueIn(now: number): number {
    return Math.max(burstOverIn(this.#first, this.#last, now), this.#first + THREAD_AFTER_MS - now);
  }

  #startThreadWhenDue(): void {
    const dueIn = this.#threadDueIn(Date.now());
    if (dueIn > 0) this.#timer = setTimeout(() => this.#startThreadWhenDue(), dueIn);
    else this.#start(this.#handoff ?? new MetricsThread(this.#threadInit())).start();
  }

  #start<T extends Recording>(recording: T): T {
    clearTimeout(this.#timer);
    this.#handoff = undefined;
    return (this.#recording = this.#takeWaiting(recording));
  }

  #takeWaiting<T extends Recording>(recording: T): T {
    for (const { stream, chunk, time } of this.#waiting) recording.write(stream, chunk, time);
    this.#waiting = [];
    this.#waitingBytes = 0;
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
