// A copy of the command's stdout and stderr, interleaved as they arrived, for the run's
// `mlrun/output.log`. Bounded: the first HEAD_BYTES go to a temporary file as they come, and of
// the rest only the last TAIL_BYTES are kept (in memory), since the end of a log (the final
// metrics, the traceback) matters most.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const HEAD_BYTES = 2 * 1024 * 1024;
export const TAIL_BYTES = 8 * 1024 * 1024;

export class OutputLog {
  readonly path: string;
  readonly #fd: number;
  #written = 0;
  #tail: Buffer[] = [];
  #tailBytes = 0;
  #omitted = 0;

  constructor(name: string) {
    this.path = path.join(os.tmpdir(), `mlrun-${name}-${process.pid}.log`);
    this.#fd = fs.openSync(this.path, 'w', 0o600);
  }

  write(chunk: Buffer): void {
    if (this.#written < HEAD_BYTES) {
      const head = chunk.subarray(0, HEAD_BYTES - this.#written);
      fs.writeSync(this.#fd, head);
      this.#written += head.length;
      chunk = chunk.subarray(head.length);
    }
    if (chunk.length === 0) return;
    this.#tail.push(chunk);
    this.#tailBytes += chunk.length;
    while (this.#tailBytes - this.#tail[0]!.length >= TAIL_BYTES) {
      const dropped = this.#tail.shift()!;
      this.#tailBytes -= dropped.length;
      this.#omitted += dropped.length;
    }
  }

  /** Writes what was kept of the rest and closes the file; its path stays until `remove`. */
  finish(): void {
    let tail = Buffer.concat(this.#tail);
    if (tail.length > TAIL_BYTES) {
      this.#omitted += tail.length - TAIL_BYTES;
      tail = tail.subarray(tail.length - TAIL_BYTES);
    }
    if (this.#omitted > 0) fs.writeSync(this.#fd, `\n[mlrun: ${this.#omitted} bytes of output omitted here]\n`);
    fs.writeSync(this.#fd, tail);
    fs.closeSync(this.#fd);
    this.#tail = [];
  }

  remove(): void {
    fs.rmSync(this.path, { force: true });
  }
}
