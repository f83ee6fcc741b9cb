// `mlrun -- cmd >&-` starts mlrun with its stdout closed. Node then opens /dev/null in its place
// (node.cc PlatformInit, so that no file of its own lands on 0-2), and mlrun would pass the
// command's output into it without a word, where the command alone gets EBADF at its first write.
// Node's /dev/null is open for reading and writing; a shell's `>/dev/null` is write-only.
import fs from 'node:fs';

const O_ACCMODE = 3;

/** True when mlrun's descriptor `fd` (1 or 2) was closed when it started. */
export function closedAtStart(fd: number): boolean {
  try {
    if (fs.readlinkSync(`/proc/self/fd/${fd}`) !== '/dev/null') return false;
    const flags = /^flags:\s+([0-7]+)$/m.exec(fs.readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'))?.[1];
    return flags !== undefined && (parseInt(flags, 8) & O_ACCMODE) === fs.constants.O_RDWR;
  } catch {
    return false;
  }
}

/** A stand-in for a closed descriptor: /dev/null open for reading only, so writes fail with EBADF. */
export function closedStandIn(): number {
  return fs.openSync('/dev/null', 'r');
}
