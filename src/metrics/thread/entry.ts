// The metrics thread: matches the command's output and delivers the points with its own
// connection to the store, so that neither the matching nor the writing ever holds up the main
// thread, which passes the command's output through (see handoff.ts).
import { readlinkSync } from 'node:fs';
import os from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import { compileMetricConfig } from '../parse/config.ts';
import { describeError } from '../../report.ts';
import { openStore, type StoreTarget } from '../../tracking/open-store.ts';
import type { Store } from '../../tracking/store.ts';
import { MetricRecorder } from '../deliver/recorder.ts';
import { forEachChunk } from './chunks.ts';
import { type ChunksMessage, type FromThread, type ThreadInit, type ToThread } from './protocol.ts';

const PROGRESS_MS = 500;
/** Below the main thread's and the command's priority: when the CPUs are busy, the output goes first. */
const NICE = 10;

// As on the main thread (main.ts): Node's deprecation notices are not for the user.
(process as { noDeprecation?: boolean }).noDeprecation = true;

const init = workerData as ThreadInit;
const port = parentPort!;
const post = (message: FromThread): void => port.postMessage(message);
lowerPriority();

const store = openStore(init.target, init.env);
store.catch(() => undefined); // an open that fails fails each send: the points are handed back
const recorder = new MetricRecorder(
  compileMetricConfig(init.config),
  init.from,
  init.runId,
  async (points, options) => {
    try {
      await (await store).logBatch(init.runId, { metrics: points }, options);
    } finally {
      setImmediate(pump);
    }
  },
  init.metricsPerBatch,
);

// Chunks wait here, unmatched, while the store is behind: a few bytes a point instead of a point
// object, and the main thread, which counts what was not taken yet, keeps the excess on disk.
// (They arrive only once the output paused: handoff.ts holds them back during a burst.)
const backlog: ChunksMessage[] = [];
const room = 2 * init.metricsPerBatch;
const abort = new AbortController();
let backlogTaken: (() => void) | undefined;

// The main thread's liveness check counts delivered points: tell it whenever there are more.
let reported = 0;
setInterval(() => {
  if (recorder.delivered === reported) return;
  reported = recorder.delivered;
  post({ type: 'progress', delivered: reported });
}, PROGRESS_MS).unref();

port.on('message', (message: ToThread) => {
  switch (message.type) {
    case 'chunks':
    case 'spilled':
      backlog.push(message);
      pump();
      return;
    case 'finish':
      void finish();
      return;
    case 'abort':
      abort.abort(new Error('stopped waiting for the store'));
      pump();
      return;
    case 'redirect':
      void redirect(message.target, message.runId);
      return;
  }
});

/** Matches waiting chunks while the store keeps up (or will take no more: then they are handed back). */
function pump(): void {
  while (backlog.length > 0 && (recorder.waiting < room || recorder.stopped || abort.signal.aborted)) {
    const message = backlog.shift()!;
    forEachChunk(message, (stream, chunk, time) => recorder.write(stream, chunk, time));
    post({ type: 'ack', bytes: message.type === 'chunks' ? message.data.length : 0, delivered: recorder.delivered });
  }
  if (backlog.length > 0) return;
  // The output paused or waited its longest: its points go now, not at the sink's next tick.
  recorder.flush();
  backlogTaken?.();
}

async function finish(): Promise<void> {
  await new Promise<void>((resolve) => {
    backlogTaken = resolve;
    pump();
  });
  const report = await recorder.finish(abort.signal);
  await closeStore(store);
  post({ type: 'finished', report });
}

async function redirect(target: StoreTarget, runId: string): Promise<void> {
  const other = openStore(target, init.env);
  try {
    await recorder.deliverRest({ store: await other, run: { runId } });
    post({ type: 'redirected' });
  } catch (error) {
    post({ type: 'redirected', error: describeError(error) });
  } finally {
    await closeStore(other);
  }
}

/** On Linux each thread has a nice value of its own, set through its thread id. */
function lowerPriority(): void {
  try {
    os.setPriority(Number(readlinkSync('/proc/thread-self').split('/').pop()), NICE);
  } catch {
    // Elsewhere the thread keeps the process's priority.
  }
}

async function closeStore(opened: Promise<Store>): Promise<void> {
  await opened.then((s) => s.close()).catch(() => undefined);
}
