// The metrics thread's life as the main thread sees it: started with its memory limits, sent
// messages, asked and answered; a thread that could not start or that died makes the next call
// fail with the reason, so the stage reports it instead of waiting for ever.
import type { Worker } from 'node:worker_threads';
import type { FromThread, ThreadInit, ToThread } from './protocol.ts';

/** The thread's code, bundled into mlrun's single file by scripts/build; unset when run from src/. */
declare const MLRUN_METRICS_THREAD: string | undefined;

// A small young generation and a capped old one: the thread's garbage (a string per chunk, a
// point per line) is collected often instead of growing the process by tens of MB. Its live data
// is small (MetricSink's capped queue, a few hundred bytes per distinct key): 200,000 keys fit.
const LIMITS = { maxYoungGenerationSizeMb: 4, maxOldGenerationSizeMb: 64 };

export class ThreadWorker {
  #worker: Worker | undefined;
  #crashed: Promise<Error> = new Promise(() => undefined);
  #waiting: ((message: FromThread) => void) | undefined;
  #delivered = 0;
  readonly #onTaken: (bytes: number) => void;

  /** `onTaken`: the thread has read this many bytes of output sent to it. */
  constructor(onTaken: (bytes: number) => void) {
    this.#onTaken = onTaken;
  }

  start(init: ThreadInit): void {
    let worker: Worker;
    try {
      // Loaded only here: most stages print too little to start the thread, and loading it costs start-up time.
      const { Worker } = process.getBuiltinModule('node:worker_threads');
      worker =
        typeof MLRUN_METRICS_THREAD === 'string'
          ? new Worker(MLRUN_METRICS_THREAD, { eval: true, workerData: init, resourceLimits: LIMITS })
          : new Worker(new URL('./entry.ts', import.meta.url), { workerData: init, resourceLimits: LIMITS });
    } catch (error) {
      // No thread to be had (a sandbox's limits): the next call fails with the reason.
      this.#crashed = Promise.resolve(error instanceof Error ? error : new Error(String(error)));
      return;
    }
    worker.on('message', (message: FromThread) => this.#receive(message));
    this.#crashed = new Promise((resolve) => {
      worker.once('error', resolve);
      worker.once('exit', (code) => resolve(new Error(`the metrics thread exited (${code})`)));
    });
    this.#worker = worker;
  }

  /** Points the store has taken so far. */
  get delivered(): number {
    return this.#delivered;
  }

  /** To the thread once started; without one (it could not start) the next call fails with the reason. */
  post(message: ToThread, transfer: ArrayBuffer[] = []): void {
    this.#worker?.postMessage(message, transfer);
  }

  /** Sends a request and waits for its answer, or for the thread to fail. */
  async call<T extends FromThread['type']>(message: ToThread, answer: T): Promise<Extract<FromThread, { type: T }>> {
    const answered = new Promise<FromThread>((resolve) => (this.#waiting = resolve));
    this.post(message);
    const result = await Promise.race([answered, this.#crashed]);
    this.#waiting = undefined;
    if (result instanceof Error) throw result;
    if (result.type !== answer) throw new Error(`the metrics thread answered ${result.type} to ${message.type}`);
    return result as Extract<FromThread, { type: T }>;
  }

  async terminate(): Promise<void> {
    await this.#worker?.terminate();
  }

  #receive(message: FromThread): void {
    if (message.type === 'ack') {
      this.#onTaken(message.bytes);
      this.#delivered = message.delivered;
    } else if (message.type === 'progress') {
      this.#delivered = message.delivered;
    } else {
      this.#waiting?.(message);
    }
  }
}
