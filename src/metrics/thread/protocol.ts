// The messages between mlrun's main thread and its metrics thread (see handoff.ts).
import type { MetricConfigOptions } from '../parse/config.ts';
import type { MetricsFrom } from '../parse/stream.ts';
import type { StoreTarget } from '../../tracking/open-store.ts';
import type { MetricReport } from '../deliver/recorder.ts';

/** What the thread starts with (its workerData). */
export interface ThreadInit {
  /** The stage's merged metric options, compiled again in the thread (they were checked before). */
  config: MetricConfigOptions;
  from: MetricsFrom;
  target: StoreTarget;
  runId: string;
  /** The store's metricsPerBatch. */
  metricsPerBatch: number;
  env: NodeJS.ProcessEnv;
  /** The name of the temp file where output waits while the thread is behind (temp-files.ts). */
  spillName: string;
}

/**
 * Output chunks, in order, as `parts`: for each chunk its stream (0 stdout, 1 stderr), length in
 * bytes and read time. Their bytes are `data`, or `length` bytes at `offset` in the spill file, read
 * through the main thread's descriptor `fd` (the file has no name).
 */
export type ChunksMessage =
  | { type: 'chunks'; parts: number[]; data: Uint8Array }
  | { type: 'spilled'; parts: number[]; fd: number; offset: number; length: number };

export type ToThread =
  | ChunksMessage
  | { type: 'finish' }
  | { type: 'abort' }
  /** The run failed over (see MetricsThread.deliverRest): what the thread did not deliver goes there. */
  | { type: 'redirect'; target: StoreTarget; runId: string };

export type FromThread =
  | { type: 'ack'; bytes: number; delivered: number }
  | { type: 'progress'; delivered: number }
  | { type: 'finished'; report: MetricReport }
  | { type: 'redirected'; error?: string };

export const STREAMS = ['stdout', 'stderr'] as const;
