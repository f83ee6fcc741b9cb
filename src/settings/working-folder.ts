// The folder mlrun and its command run in. It may have been deleted meanwhile (a build folder
// removed from another shell): the kernel still runs processes there, and so must mlrun, but
// process.cwd() then fails. Linux still names the folder in /proc/self/cwd, followed by
// " (deleted)"; paths resolved against it then simply find nothing there.
import fs from 'node:fs';

export function workingFolder(): string {
  try {
    return process.cwd();
  } catch {
    try {
      return fs.readlinkSync('/proc/self/cwd').replace(/ \(deleted\)$/, '');
    } catch {
      return process.env.PWD?.startsWith('/') ? process.env.PWD : '/';
    }
  }
}
