// A copy of the command's stdout and stderr, interleaved as they arrived, for the run's
// `mlrun/output.log`. Bounded: the first HEAD_BYTES go to a temporary file as they come, and of
// the rest only the last TAIL_BYTES are kept, since the end of a log (the final metrics, the
// traceback) matters most. The tail waits in a second file used as a ring, not in memory: a
// command printing without end costs mlrun disk pages the system can drop, not its own memory.
// Both are temp files that vanish with mlrun (temp-files.ts).
import fs from 'node:fs';
import { ChunkGatherer } from './chunk-gatherer.ts';
import { openTempFile } from './temp-files.ts';

const HEAD_BYTES = 2 * 1024 * 1024;
const TAIL_BYTES = 8 * 1024 * 1024;
/** Chunks are gathered up to this size before they are written (see chunk-gatherer.ts). */
const GATHER_BYTES = 64 * 1024;

export class OutputLog {
  /** Opens the log again (for its upload) until `close`. */
  readonly path: string;
  readonly #name: string;
  readonly #fd: number;
  readonly #headBytes: number;
  readonly #tailBytes: number;
  #written = 0;
  #ring: { fd: number } | undefined;
  /** Bytes that went past the head, in all: the ring holds the last `#tailBytes` of them. */
  #tailWritten = 0;
  readonly #gathered = new ChunkGatherer(GATHER_BYTES, (piece) => this.#store(piece));

  constructor(name: string, limits: { headBytes?: number; tailBytes?: number } = {}) {
    this.#name = `mlrun-${name}-${process.pid}.log`;
    ({ fd: this.#fd, path: this.path } = openTempFile(this.#name));
    this.#headBytes = limits.headBytes ?? HEAD_BYTES;
    this.#tailBytes = limits.tailBytes ?? TAIL_BYTES;
  }

  /** A chunk of the output, valid only during the call: what is kept is copied. */
  write(chunk: Uint8Array): void {
    this.#gathered.add(chunk);
  }

  #store(chunk: Uint8Array): void {
    if (this.#written < this.#headBytes) {
      const head = chunk.subarray(0, this.#headBytes - this.#written);
      fs.writeSync(this.#fd, head);
      this.#written += head.length;
      chunk = chunk.subarray(head.length);
    }
    if (chunk.length === 0) return;
    // Of a chunk longer than the ring, only its end can stay.
    const skipped = Math.max(0, chunk.length - this.#tailBytes);
    this.#tailWritten += skipped;
    chunk = chunk.subarray(skipped);
    this.#ring ??= this.#openRing();
    const at = this.#tailWritten % this.#tailBytes;
    const first = chunk.subarray(0, this.#tailBytes - at);
    fs.writeSync(this.#ring.fd, first, 0, first.length, at);
    if (first.length < chunk.length) fs.writeSync(this.#ring.fd, chunk, first.length, chunk.length - first.length, 0);
    this.#tailWritten += chunk.length;
  }

  /** Writes what was kept of the rest after the head; the log is complete at `path` until `close`. */
  finish(): void {
    this.#gathered.flush();
    if (this.#ring) {
      const omitted = this.#tailWritten - this.#tailBytes;
      if (omitted > 0) {
        fs.writeSync(this.#fd, `\n[mlrun: ${omitted} bytes of output omitted here]\n`);
        // The oldest kept byte is where the next would have been written.
        const start = this.#tailWritten % this.#tailBytes;
        this.#copyRing(start, this.#tailBytes);
        this.#copyRing(0, start);
      } else {
        this.#copyRing(0, this.#tailWritten);
      }
      fs.closeSync(this.#ring.fd);
      this.#ring = undefined;
    }
  }

  /** After `finish`: the command printed nothing. */
  get empty(): boolean {
    return this.#written === 0 && this.#tailWritten === 0;
  }

  /** The log is gone once closed. */
  close(): void {
    fs.closeSync(this.#fd);
  }

  #openRing(): { fd: number } {
    return openTempFile(`${this.#name}.tail`);
  }

  #copyRing(from: number, to: number): void {
    const buffer = Buffer.allocUnsafe(Math.min(1024 * 1024, Math.max(0, to - from)));
    for (let at = from; at < to; ) {
      const read = fs.readSync(this.#ring!.fd, buffer, 0, Math.min(buffer.length, to - at), at);
      fs.writeSync(this.#fd, buffer, 0, read);
      at += read;
    }
  }
}
