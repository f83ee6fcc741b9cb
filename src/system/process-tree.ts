// What Linux's /proc says about one process tree: its processes, their memory and CPU time. Every
// read is a small file of the kernel's: no process is started. Elsewhere (no /proc) a sample is
// undefined.
import fs from 'node:fs';
import { kilobytes, readText } from './proc.ts';

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
  /** The process has exited and waits to be reaped: its children went to init (or a subreaper). */
  exited: boolean;
  cpuSeconds: number;
  childrenCpuSeconds: number;
}

/** Fields of /proc/<pid>/stat after the command name, which may itself hold spaces and ')'. */
function readStat(pid: number | 'self'): Stat | undefined {
  const text = readText(`/proc/${pid}/stat`);
  if (text === undefined) return undefined;
  // proc(5): (3) state (4) ppid ... (14) utime (15) stime (16) cutime (17) cstime ... (20) num_threads
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const numberAt = (field: number) => Number(fields[field - 3]);
  return {
    ppid: numberAt(4),
    // A main thread that ended before the process's other threads shows Z too, but num_threads
    // still counts them.
    exited: fields[0] === 'Z' && numberAt(20) === 1,
    cpuSeconds: (numberAt(14) + numberAt(15)) / TICKS_PER_SECOND,
    childrenCpuSeconds: (numberAt(16) + numberAt(17)) / TICKS_PER_SECOND,
  };
}

/**
 * CPU seconds of every child mlrun has waited for (getrusage's RUSAGE_CHILDREN, which Node does
 * not expose): once the command is reaped, its whole tree's CPU, reaped descendants included.
 */
export function reapedChildrenCpuSeconds(): number | undefined {
  return readStat('self')?.childrenCpuSeconds;
}

let childrenListed: boolean | undefined;

/**
 * Whether the kernel lists each thread's children (/proc/<pid>/task/<tid>/children,
 * CONFIG_PROC_CHILDREN, which the usual distribution kernels set). Node's main thread has the
 * process's id.
 */
function listsChildren(): boolean {
  return (childrenListed ??= fs.existsSync(`/proc/self/task/${process.pid}/children`));
}

/**
 * The process `rootPid` and its descendants, sampled again and again: found from the root down
 * through the children the kernel lists, where it does, else by a look at every process's parent.
 */
export class ProcessTree {
  private readonly rootPid: number;
  /**
   * For the look at every process: one once seen outside the tree stays outside (a parent never
   * changes into one in the tree), so later looks read only the tree and the processes new since.
   */
  private readonly outside = new Set<number>();

  constructor(rootPid: number) {
    this.rootPid = rootPid;
  }

  /**
   * The tree now, or undefined when it is gone or there is no /proc. A root that has exited is
   * gone, though not reaped yet (a sample due before mlrun reaps the command): it holds no memory,
   * and its CPU is counted once reaped. `withDescendants: false` reads the root alone: a process
   * that has just started its program has none yet.
   */
  sample(withDescendants = true): TreeSample | undefined {
    const root = readStat(this.rootPid);
    if (!root || root.exited) return undefined;
    const alone = new Map([[this.rootPid, root]]);
    const tree = withDescendants ? (listsChildren() ? walk(alone) : this.scan(alone)) : alone;
    const sample: TreeSample = { pids: [], rssBytes: 0, largestPeakBytes: 0, cpuSeconds: 0 };
    for (const [pid, stat] of tree) {
      const memory = readMemory(pid);
      sample.pids.push(pid);
      sample.rssBytes += memory.rssBytes;
      sample.largestPeakBytes = Math.max(sample.largestPeakBytes, memory.peakBytes);
      sample.cpuSeconds += stat.cpuSeconds + stat.childrenCpuSeconds;
    }
    return sample;
  }

  /** Adds the root's descendants, from every process's parent: for kernels that list no children. */
  private scan(tree: Map<number, Stat>): Map<number, Stat> {
    let names: string[] = [];
    try {
      names = fs.readdirSync('/proc');
    } catch {
      // The root alone, as when it has just started.
    }
    const childrenOf = new Map<number, number[]>();
    const stats = new Map<number, Stat>();
    const listed = new Set<number>();
    for (const name of names) {
      const pid = Number(name);
      if (!Number.isInteger(pid)) continue;
      listed.add(pid);
      if (this.outside.has(pid) || tree.has(pid)) continue;
      const stat = readStat(pid);
      if (!stat) continue;
      stats.set(pid, stat);
      const siblings = childrenOf.get(stat.ppid);
      if (siblings) siblings.push(pid);
      else childrenOf.set(stat.ppid, [pid]);
    }
    // A Map's loop also visits what is added to it meanwhile.
    for (const pid of tree.keys()) for (const child of childrenOf.get(pid) ?? []) tree.set(child, stats.get(child)!);
    // A pid gone from /proc may come back as a new process, which may be in the tree.
    for (const pid of this.outside) if (!listed.has(pid)) this.outside.delete(pid);
    for (const pid of stats.keys()) if (!tree.has(pid)) this.outside.add(pid);
    return tree;
  }
}

/**
 * Adds the root's descendants, each process's children as its threads list them: proc(5) says
 * each thread lists those it started, and a child that ends while the list is read may hide a
 * sibling from it, as a process started after a scan read /proc is missed: the next sample sees it.
 */
function walk(tree: Map<number, Stat>): Map<number, Stat> {
  for (const pid of tree.keys()) {
    let threads: string[] = [];
    try {
      threads = fs.readdirSync(`/proc/${pid}/task`);
    } catch {
      // Gone since its parent listed it: it has no children.
    }
    for (const thread of threads) {
      for (const child of readText(`/proc/${pid}/task/${thread}/children`)?.match(/\d+/g) ?? []) {
        const stat = readStat(Number(child));
        // Its parent is checked in case it ended and its pid went to another process since.
        if (stat?.ppid === pid) tree.set(Number(child), stat);
      }
    }
  }
  return tree;
}

const VM_RSS = /^VmRSS:\s*(\d+) kB/m;
const VM_HWM = /^VmHWM:\s*(\d+) kB/m;

/** VmRSS and VmHWM of /proc/<pid>/status, in kB; a zombie has neither, nor has a process gone since it was found. */
function readMemory(pid: number): { rssBytes: number; peakBytes: number } {
  const text = readText(`/proc/${pid}/status`) ?? '';
  return { rssBytes: kilobytes(VM_RSS, text) ?? 0, peakBytes: kilobytes(VM_HWM, text) ?? 0 };
}
