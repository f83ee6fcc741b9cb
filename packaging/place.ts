// Putting the release's files into the trees that are packed: hard links where the file system
// allows (the executable is 120 MB, and it is placed five times), else copies.
import fs from 'node:fs';
import path from 'node:path';

/** The notices every package carries: file name in the package → file on disk. */
export type Notices = Record<string, string>;

export function placeFile(source: string, destination: string, mode: number): void {
  fs.mkdirSync(path.dirname(destination), { recursive: true });
  fs.rmSync(destination, { force: true });
  try {
    fs.linkSync(source, destination);
  } catch {
    fs.copyFileSync(source, destination);
  }
  fs.chmodSync(destination, mode);
}
