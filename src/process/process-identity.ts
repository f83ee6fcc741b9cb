// Names a process so that another process can later tell whether it still runs. A pid alone is
// not enough: pids are reused, so a dead mlrun's pid may belong to any process by the time anyone
// looks. Linux gives every process a start time (field 22 of /proc/<pid>/stat, in clock ticks
// since boot, proc(5)), and the boot its own id: together with the pid they name one process for
// good. Where /proc is missing, the pid alone is what there is.
import fs from 'node:fs';
import os from 'node:os';

export interface ProcessIdentity {
  host: string;
  pid: number;
  /** `<boot id>/<start ticks>`; absent where the system does not tell. */
  start?: string;
}

/** Running; ended (or its pid now names another process); or on another host, where no pid can be checked. */
export type ProcessState = 'running' | 'ended' | 'elsewhere';

export function thisProcess(): ProcessIdentity {
  return identityOf(process.pid);
}

export function processState(identity: ProcessIdentity): ProcessState {
  if (identity.host !== os.hostname()) return 'elsewhere';
  if (!Number.isInteger(identity.pid) || identity.pid <= 0) return 'running';
  const start = startOf(identity.pid);
  if (start === 'gone') return 'ended';
  if (start === undefined) return pidExists(identity.pid) ? 'running' : 'ended';
  return identity.start === undefined || identity.start === start ? 'running' : 'ended';
}

/** The process's start, 'gone' when no such process runs (a zombie has ended too), undefined without /proc. */
function startOf(pid: number): string | 'gone' | undefined {
  const stat = statOf(pid);
  if (stat === undefined || stat === 'gone') return stat;
  return stat.state === 'Z' ? 'gone' : stat.start;
}

/** A process's parent and start as /proc tells them: 'gone' when no such process runs, undefined without /proc. */
export function statOf(pid: number): { state: string; parent: number; start: string } | 'gone' | undefined {
  let stat: string;
  let boot: string;
  try {
    stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    boot = bootId ??= fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code === 'ENOENT' && fs.existsSync('/proc/self/stat') ? 'gone' : undefined;
  }
  // The command name (field 2) is in parentheses and may hold spaces and parentheses itself.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (the state), so the parent (field 4) is fields[1] and field 22 is fields[19].
  return { state: fields[0]!, parent: Number(fields[1]), start: `${boot}/${fields[19]}` };
}

/** The process's identity, read once it runs (a child just spawned); the pid alone where /proc is missing. */
export function identityOf(pid: number): ProcessIdentity {
  const start = startOf(pid);
  return { host: os.hostname(), pid, ...(typeof start === 'string' ? { start } : {}) };
}

/** Read once: it names the boot, which cannot change while mlrun runs. */
let bootId: string | undefined;

/** Whether some process has that pid on this host. Signal 0 only checks; EPERM means it exists, as another user's. */
export function pidExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
