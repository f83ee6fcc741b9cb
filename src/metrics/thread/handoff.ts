// The one queue between the command's pipes and the matching of its metric lines. The main thread
// only forwards the command's output; copies of its chunks are gathered (chunk-gatherer.ts) into
// messages that wait here, unmatched, while the output streams: matching during a burst would slow
// the burst (pacing.ts decides when it is over). Then they go to the metrics thread, started for
// the first burst that lasts (worker.ts; a short stage never pays for a thread: `drain` matches its output on
// the main thread instead). A message holds at most GATHER_BYTES (or one larger chunk): the thread
// matches a message whole, and a larger one could push its points past the sink's memory cap.
// Beyond MAX_IN_FLIGHT bytes not yet taken by the thread, chunks wait in a file instead of in
// memory and are read back in order: the command is never held up and mlrun's memory stays
// bounded, whatever the command prints.
import { closeSync, writeSync } from 'node:fs';
import type { OutputStream } from '../parse/stream.ts';
import { ChunkGatherer } from '../../process/chunk-gatherer.ts';
import { openTempFile } from '../../process/temp-files.ts';
import type { StoreTarget } from '../../tracking/open-store.ts';
import type { MetricReport } from '../deliver/recorder.ts';
import { burstOverIn } from '../pacing.ts';
import { forEachChunk, type ChunkHandler } from './chunks.ts';
import { STREAMS, type ChunksMessage, type ThreadInit } from './protocol.ts';
import { ThreadWorker } from './worker.ts';

const MAX_IN_FLIGHT = 1024 * 1024;
/** Chunks are gathered into messages this large. */
const GATHER_BYTES = 64 * 1024;
/** The thread starts no sooner than this after the first chunk: a short stage never pays for it. */
const THREAD_AFTER_MS = 200;

export interface MetricsThreadOptions {
  /** Bytes handed to the thread and not yet taken by it, before the rest waits on disk. */
  maxInFlight?: number;
}

export class MetricsThread {
  readonly #init: ThreadInit;
  #started = false;
  readonly #thread = new ThreadWorker((bytes) => (this.#inFlight -= bytes));
  /** Messages that wait for the thread: until it starts, then until the burst is over. */
  #held: { message: ChunksMessage; transfer: ArrayBuffer[] }[] = [];
  readonly #spillName: string;
  readonly #maxInFlight: number;
  /** Stream, length and read time of each chunk gathered and not sent yet, in order. */
  #parts: number[] = [];
  readonly #gathered = new ChunkGatherer(GATHER_BYTES, (piece) => this.#send(piece));
  #written = 0;
  /** When the first chunk of all, and the first and last one that waits, were read. */
  #born = 0;
  #first = 0;
  #last = 0;
  #timer: NodeJS.Timeout | undefined;
  #inFlight = 0;
  #spillFd: number | undefined;
  #spilledBytes = 0;

  constructor(init: ThreadInit, options: MetricsThreadOptions = {}) {
    this.#init = init;
    this.#spillName = init.spillName;
    this.#maxInFlight = options.maxInFlight ?? MAX_IN_FLIGHT;
  }

  /** Starts the thread, which takes the chunks that wait once the burst is over. */
  start(): void {
    if (this.#started) return;
    this.#started = true;
    this.#thread.start(this.#init);
  }

  /** Takes a copy of the chunk (read at `time`): it may be reused once this returns. */
  write(stream: OutputStream, chunk: Uint8Array, time: number): void {
    this.#parts.push(STREAMS.indexOf(stream), chunk.length, time);
    this.#gathered.add(chunk);
    this.#written += chunk.length;
    if (this.#born === 0) this.#born = time;
    if (this.#first === 0) this.#first = time;
    this.#last = time;
    this.#timer ??= setTimeout(() => this.#releaseWhenDue(), this.#dueIn(Date.now()));
  }

  /** Output bytes written in all. */
  get written(): number {
    return this.#written;
  }

  get started(): boolean {
    return this.#started;
  }

  /**
   * Instead of starting the thread: gives every chunk that waits, in order, to `take` on this
   * thread. For a stage that ended before its output was worth a thread.
   */
  drain(take: ChunkHandler): void {
    this.#stopTimer();
    this.#gathered.flush();
    for (const { message } of this.#held) forEachChunk(message, take);
    this.#held = [];
    this.#closeSpill();
  }

  /** Points the store has taken so far. */
  get delivered(): number {
    return this.#thread.delivered;
  }

  /** Output bytes that waited on disk, in all. */
  get spilledBytes(): number {
    return this.#spilledBytes;
  }

  /** Everything written is matched and delivered; `signal` stops the wait (the rest stays undelivered). */
  async finish(signal: AbortSignal): Promise<MetricReport> {
    this.#stopTimer();
    this.start();
    this.#release();
    const onAbort = (): void => this.#thread.post({ type: 'abort' });
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      const answer = await this.#thread.call({ type: 'finish' }, 'finished');
      return answer.report;
    } finally {
      signal.removeEventListener('abort', onAbort);
      // The thread has read all it was sent: what was spilled is no longer needed.
      this.#closeSpill();
    }
  }

  /**
   * After `finish`, once the run failed over: records what was not delivered in the offline copy.
   * The thread writes through a store of its own (a worker cannot share the main thread's
   * FailoverStore), so it is told where the run went.
   */
  async deliverRest(to: { target: StoreTarget; run: { runId: string } }): Promise<void> {
    const answer = await this.#thread.call({ type: 'redirect', target: to.target, runId: to.run.runId }, 'redirected');
    if (answer.error !== undefined) throw new Error(answer.error);
  }

  async stop(): Promise<void> {
    this.#stopTimer();
    await this.#thread.terminate();
    this.#closeSpill();
  }

  /** Milliseconds until what waits is due to go to the thread: once the burst is over and, the first time, the stage has lasted. */
  #dueIn(now: number): number {
    return Math.max(burstOverIn(this.#first, this.#last, now), this.#started ? 0 : this.#born + THREAD_AFTER_MS - now);
  }

  #releaseWhenDue(): void {
    const dueIn = this.#dueIn(Date.now());
    if (dueIn > 0) {
      this.#timer = setTimeout(() => this.#releaseWhenDue(), dueIn);
      return;
    }
    this.#timer = undefined;
    this.start();
    this.#release();
  }

  /** Everything that waits goes to the thread. */
  #release(): void {
    this.#gathered.flush();
    this.#first = 0;
    for (const { message, transfer } of this.#held) this.#thread.post(message, transfer);
    this.#held = [];
  }

  #stopTimer(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** Sends a gathered piece, in memory or through the file. */
  #send(piece: Uint8Array): void {
    const { length } = piece;
    const parts = this.#takeParts(length);
    if (this.#inFlight + length <= this.#maxInFlight) {
      this.#inFlight += length;
      // A copy in a buffer of its own, so it can be moved: the piece's is used again. (Not
      // `slice`: a piece can be a Buffer, whose `slice` is a view of the same memory.)
      const data = new Uint8Array(piece);
      this.#held.push({ message: { type: 'chunks', parts, data }, transfer: [data.buffer] });
    } else {
      this.#spillFd ??= openTempFile(this.#spillName).fd;
      const offset = this.#spilledBytes;
      for (let written = 0; written < length; ) written += writeSync(this.#spillFd, piece, written, length - written, offset + written);
      this.#spilledBytes += length;
      this.#held.push({ message: { type: 'spilled', parts, fd: this.#spillFd, offset, length }, transfer: [] });
    }
  }

  /** The parts of the oldest chunks, `bytes` in all: a piece always ends where a chunk ends. */
  #takeParts(bytes: number): number[] {
    let count = 0;
    for (let sum = 0; sum < bytes; count += 3) sum += this.#parts[count + 1]!;
    return this.#parts.splice(0, count);
  }

  #closeSpill(): void {
    if (this.#spillFd !== undefined) closeSync(this.#spillFd);
    this.#spillFd = undefined;
  }
}
