// Files mlrun keeps only while it runs (the output log, output and points waiting on disk). Each is
// unlinked as soon as it is open, so that no way mlrun can end, SIGKILL included, leaves one
// behind; it is then reached through its descriptor, or opened again as /proc/self/fd/N (Linux).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** Where TMPDIR is unset, gone or read-only, the usual system folders take its place. */
const FALLBACK_FOLDERS = ['/tmp', '/var/tmp', '/dev/shm'];

let folder: string | undefined;

/** The first writable folder of TMPDIR (as Node reads it) and the fallbacks; the current folder as a last resort. */
export function tempFolder(): string {
  folder ??= [os.tmpdir(), ...FALLBACK_FOLDERS].find(isWritableFolder) ?? '.';
  return folder;
}

/** A new file `name` in the temp folder, open for reading and writing and already unlinked. */
export function openTempFile(name: string): { fd: number; path: string } {
  const file = path.join(tempFolder(), name);
  const fd = fs.openSync(file, 'wx+', 0o600);
  fs.unlinkSync(file);
  return { fd, path: `/proc/self/fd/${fd}` };
}

function isWritableFolder(candidate: string): boolean {
  try {
    fs.accessSync(candidate, fs.constants.W_OK | fs.constants.X_OK);
    return fs.statSync(candidate).isDirectory();
  } catch {
    return false;
  }
}
