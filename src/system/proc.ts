// What Linux's /proc says about one process tree and about the machine. Every read is a small
// file of the kernel's: no process is started. Elsewhere (no /proc) the readers return undefined.
import fs from 'node:fs';

/** /proc gives CPU times in USER_HZ ticks, 100 per second on every Linux ABI (proc(5)). */
const TICKS_PER_SECOND = 100;

export interface TreeSample {
  pids: number[];
  /** The sum of the processes' resident memory (VmRSS) now. */
  rssBytes: number;
  /** The largest of the processes' own peaks (VmHWM): a peak between two samples is not missed. */
  largestPeakBytes: number;
  /**
   * CPU of the tree so far: each process's own user+system time plus that of its children it
   * waited for (which holds their waited-for children in turn), so every process counts once.
   */
  cpuSeconds: number;
}

interface Stat {
  ppid: number;
  cpuSeconds: number;
  childrenCpuSeconds: number;
}

/** Fields of /proc/<pid>/stat after the command name, which may itself hold spaces and ')'. */
function readStat(pid: number | 'self'): Stat | undefined {
  let text: string;
  try {
    text = fs.readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch {
    return undefined;
  }
  // proc(5): (3) state (4) ppid ... (14) utime (15) stime (16) cutime (17) cstime
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const ticks = (field: number) => Number(fields[field - 3]);
  return {
    ppid: ticks(4),
    cpuSeconds: (ticks(14) + ticks(15)) / TICKS_PER_SECOND,
    childrenCpuSeconds: (ticks(16) + ticks(17)) / TICKS_PER_SECOND,
  };
}

/**
 * CPU seconds of every child mlrun has waited for (getrusage's RUSAGE_CHILDREN, which Node does
 * not expose): once the command is reaped, its whole tree's CPU, reaped descendants included.
 */
export function reapedChildrenCpuSeconds(): number | undefined {
  return readStat('self')?.childrenCpuSeconds;
}

/**
 * The process `rootPid` and its descendants, sampled again and again. Finding the descendants
 * takes a look at every process's parent (this kernel may not list a process's children); a
 * process once seen outside the tree stays outside (a parent never changes into one in the tree),
 * so later samples read only the tree and the processes that are new since.
 */
export class ProcessTree {
  private readonly rootPid: number;
  private readonly outside = new Set<number>();

  constructor(rootPid: number) {
    this.rootPid = rootPid;
  }

  /**
   * The tree now, or undefined when it is gone or there is no /proc. `withDescendants: false`
   * reads the root alone: a process that has just started its program has none yet.
   */
  sample(withDescendants = true): TreeSample | undefined {
    let names: string[];
    try {
      names = withDescendants ? fs.readdirSync('/proc') : [String(this.rootPid)];
    } catch {
      return undefined;
    }
    const childrenOf = new Map<number, number[]>();
    const stats = new Map<number, Stat>();
    const listed = new Set<number>();
    for (const name of names) {
      const pid = Number(name);
      if (!Number.isInteger(pid)) continue;
      listed.add(pid);
      if (this.outside.has(pid)) continue;
      const stat = readStat(pid);
      if (!stat) continue;
      stats.set(pid, stat);
      const siblings = childrenOf.get(stat.ppid);
      if (siblings) siblings.push(pid);
      else childrenOf.set(stat.ppid, [pid]);
    }
    if (!stats.has(this.rootPid)) return undefined;
    const sample: TreeSample = { pids: [], rssBytes: 0, largestPeakBytes: 0, cpuSeconds: 0 };
    for (let queue = [this.rootPid]; queue.length > 0; ) {
      const pid = queue.pop()!;
      const stat = stats.get(pid)!;
      const memory = readMemory(pid);
      sample.pids.push(pid);
      sample.rssBytes += memory.rssBytes;
      sample.largestPeakBytes = Math.max(sample.largestPeakBytes, memory.peakBytes);
      sample.cpuSeconds += stat.cpuSeconds + stat.childrenCpuSeconds;
      queue = queue.concat(childrenOf.get(pid) ?? []);
    }
    if (withDescendants) {
      // A pid gone from /proc may come back as a new process, which may be in the tree.
      for (const pid of this.outside) if (!listed.has(pid)) this.outside.delete(pid);
      const inside = new Set(sample.pids);
      for (const pid of stats.keys()) if (!inside.has(pid)) this.outside.add(pid);
    }
    return sample;
  }
}

const VM_RSS = /^VmRSS:\s*(\d+) kB/m;
const VM_HWM = /^VmHWM:\s*(\d+) kB/m;

/** VmRSS and VmHWM of /proc/<pid>/status, in kB; a zombie has neither. */
function readMemory(pid: number): { rssBytes: number; peakBytes: number } {
  let text = '';
  try {
    text = fs.readFileSync(`/proc/${pid}/status`, 'latin1');
  } catch {
    // Gone since the scan: it holds no memory.
  }
  return { rssBytes: kilobytes(VM_RSS, text) ?? 0, peakBytes: kilobytes(VM_HWM, text) ?? 0 };
}

/** Busy and total CPU time of the whole machine (/proc/stat), as psutil counts them for cpu_percent. */
export function machineCpuTicks(): { busy: number; total: number } | undefined {
  const line = readText('/proc/stat')?.split('\n', 1)[0];
  if (!line?.startsWith('cpu ')) return undefined;
  // user nice system idle iowait irq softirq steal guest guest_nice; guest time is already in
  // user and nice, and idle + iowait is not busy (psutil/__init__.py, _cpu_tot_time, _cpu_busy_time).
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = line.split(/\s+/).slice(1).map(Number);
  const total = user + nice + system + idle + iowait + irq + softirq + steal;
  return { busy: total - idle - iowait, total };
}

/** Used memory as psutil's virtual_memory() counts it on Linux: total − MemAvailable. */
export function machineMemory(): { usedBytes: number; totalBytes: number } | undefined {
  const text = readText('/proc/meminfo');
  const total = kilobytes(/^MemTotal:\s*(\d+) kB/m, text ?? '');
  const available = kilobytes(/^MemAvailable:\s*(\d+) kB/m, text ?? '');
  return total !== undefined && available !== undefined ? { usedBytes: total - available, totalBytes: total } : undefined;
}

/** Bytes received and sent by all interfaces, loopback included (psutil's net_io_counters()). */
export function networkBytes(): { received: number; sent: number } | undefined {
  const lines = readText('/proc/net/dev')?.split('\n').slice(2);
  if (!lines) return undefined;
  let received = 0;
  let sent = 0;
  for (const line of lines) {
    const counters = line.slice(line.indexOf(':') + 1).trim().split(/\s+/);
    if (counters.length < 9) continue;
    received += Number(counters[0]);
    sent += Number(counters[8]);
  }
  return { received, sent };
}

/** A `Name:  123 kB` line of a /proc file, in bytes. */
function kilobytes(line: RegExp, text: string): number | undefined {
  const value = line.exec(text)?.[1];
  return value === undefined ? undefined : Number(value) * 1024;
}

function readText(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'latin1');
  } catch {
    return undefined;
  }
}
