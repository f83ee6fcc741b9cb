// Points that do not fit in memory while the server is slow wait here, on disk, in order: one JSON
// array per line, `[key, value, timestamp, step]`, with NaN and ±Infinity as strings (JSON has no
// spelling for them). Appends are synchronous (a local write of ~1000 points, never a network
// wait) so that pushing a point never awaits; reading back is asynchronous. The file has no name
// once open (temp-files.ts): nothing is left behind however mlrun ends.
import { closeSync, ftruncateSync, read, writeSync } from 'node:fs';
import { openTempFile } from '../../process/temp-files.ts';
import type { Metric } from '../../tracking/store.ts';

const READ_BLOCK = 1 << 20;

export class SpillFile {
  /** Its name in the temp folder while it is created. */
  readonly name: string;
  private fd: number | undefined;
  private writeOffset = 0;
  private readOffset = 0;
  private stored = 0;
  private reading = false;
  private buffer = Buffer.alloc(0);

  constructor(name: string) {
    this.name = name;
  }

  /** Points written and not yet read back. */
  get count(): number {
    return this.stored;
  }

  append(points: readonly Metric[]): void {
    if (points.length === 0) return;
    this.fd ??= openTempFile(this.name).fd;
    let text = '';
    for (const point of points) text += `${JSON.stringify([point.key, encode(point.value), point.timestamp, point.step])}\n`;
    const bytes = Buffer.from(text, 'utf8');
    let written = 0;
    while (written < bytes.length) written += writeSync(this.fd, bytes, written, bytes.length - written, this.writeOffset + written);
    this.writeOffset += bytes.length;
    this.stored += points.length;
  }

  /** Up to `max` of the oldest points, removed from the file. One read at a time. */
  async take(max: number): Promise<Metric[]> {
    if (this.reading) throw new Error('SpillFile.take: a read is already running');
    const points: Metric[] = [];
    if (this.fd === undefined || this.stored === 0 || max <= 0) return points;
    this.reading = true;
    try {
      let size = Math.min(READ_BLOCK, this.writeOffset - this.readOffset);
      while (points.length === 0) {
        if (size <= 0) throw new Error(`spill file ${this.name} ends in the middle of a point`);
        if (this.buffer.length < size) this.buffer = Buffer.alloc(size);
        const view = this.buffer.subarray(0, await readAt(this.fd, this.buffer, size, this.readOffset));
        let start = 0;
        for (let end = view.indexOf(10); end !== -1 && points.length < max; end = view.indexOf(10, start)) {
          points.push(decode(view.toString('utf8', start, end)));
          start = end + 1;
        }
        this.readOffset += start;
        // A line longer than the block: read a bigger one.
        const remaining = this.writeOffset - this.readOffset;
        if (points.length === 0) size = size >= remaining ? -1 : Math.min(size * 2, remaining);
      }
      this.stored -= points.length;
      if (this.stored === 0) {
        // Drained: start the file over so that it never grows beyond one backlog.
        ftruncateSync(this.fd, 0);
        this.readOffset = 0;
        this.writeOffset = 0;
      }
      return points;
    } finally {
      this.reading = false;
    }
  }

  /** Closes the file, which deletes it. */
  remove(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
    this.stored = 0;
    this.readOffset = 0;
    this.writeOffset = 0;
    this.buffer = Buffer.alloc(0);
  }
}

function encode(value: number): number | string {
  return Number.isFinite(value) ? value : String(value);
}

function decode(line: string): Metric {
  const [key, value, timestamp, step] = JSON.parse(line) as [string, number | string, number, number];
  return { key, value: typeof value === 'string' ? Number(value) : value, timestamp, step };
}

function readAt(fd: number, buffer: Buffer, length: number, position: number): Promise<number> {
  return new Promise((resolve, reject) => {
    read(fd, buffer, 0, length, position, (error, bytesRead) => (error ? reject(error) : resolve(bytesRead)));
  });
}
