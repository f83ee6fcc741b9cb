// A program run under `strace -f -ttt`, parsed into the system calls each of its processes made and
// when: the raw material of the timelines and breakdowns that say where the time of an unmet
// target goes. Only the calls asked for are traced (with --seccomp-bpf the others do not even stop
// the process), so the program runs at close to its normal speed.
import fs from 'node:fs';
import path from 'node:path';
import { remove, run, tempDir, type RunOptions } from './util.ts';

export interface Call {
  pid: number;
  /** ms since the first traced call: when the call was made, and when it returned */
  start: number;
  end: number;
  /** e.g. `execve`, `writev` */
  name: string;
  /** what strace shows between the parentheses, strings cut at the asked length */
  args: string;
  /** what strace shows after ` = `: a number, or `-1 EAGAIN (…)` */
  result: string;
}

interface TraceOptions extends Pick<RunOptions, 'cwd' | 'env'> {
  /** strace's `-e trace=` list */
  syscalls: string[];
  /** how much of each string argument strace prints (its -s) */
  strings?: number;
}

/** Runs file + args under strace and returns its calls in the order they were made. */
export async function traced(file: string, args: string[], options: TraceOptions): Promise<Call[]> {
  const dir = tempDir('strace');
  const traceFile = path.join(dir, 'trace');
  try {
    const strace = ['-f', '-ttt', '-qq', '--seccomp-bpf', '-s', String(options.strings ?? 32), '-o', traceFile, '-e', `trace=${options.syscalls.join(',')}`];
    await run('strace', [...strace, file, ...args], { cwd: options.cwd, env: options.env });
    return parseTrace(fs.readFileSync(traceFile, 'utf8'));
  } finally {
    remove(dir);
  }
}

const LINE = /^(\d+)\s+(\d+\.\d+)\s+(.*)$/;
const CALL = /^(\w+)\((.*)\)\s+=\s+(.*)$/s;
const RESUMED = /^<\.\.\. (\w+) resumed>(.*)$/s;

/**
 * strace's lines into calls. A call another process interrupted is printed twice, as
 * `read(3,  <unfinished ...>` and later `<... read resumed>"…", 100) = 5`: joined into one, which
 * starts at the first line and ends at the second. Signals and exits (`---`, `+++`) are skipped.
 */
function parseTrace(text: string): Call[] {
  const calls: Call[] = [];
  const unfinished = new Map<number, { start: number; head: string }>();
  let t0: number | undefined;
  for (const line of text.split('\n')) {
    const match = LINE.exec(line);
    if (!match) continue;
    const pid = Number(match[1]);
    const t = Number(match[2]) * 1000;
    t0 ??= t;
    const rest = match[3]!;
    if (rest.endsWith('<unfinished ...>')) {
      unfinished.set(pid, { start: t - t0, head: rest.slice(0, -'<unfinished ...>'.length).trimEnd() });
      continue;
    }
    const resumed = RESUMED.exec(rest);
    const head = resumed ? unfinished.get(pid) : undefined;
    if (resumed) unfinished.delete(pid);
    const whole = CALL.exec(head ? `${head.head}${resumed![2]}` : rest);
    if (!whole) continue;
    calls.push({ pid, start: head?.start ?? t - t0, end: t - t0, name: whole[1]!, args: whole[2]!, result: whole[3]! });
  }
  return calls.sort((a, b) => a.start - b.start);
}

/** The processes of a trace: who started whom (fork, vfork, clone without CLONE_THREAD), what each ran, when it ran. */
export interface TracedProcess {
  pid: number;
  parent?: number;
  /** the program of its last successful execve, e.g. `/usr/bin/git`, and its arguments as strace shows them */
  program?: string;
  argv?: string;
  /** ms: its successful execve (its fork when it never exec'd), and its exit_group */
  exec?: number;
  exit?: number;
}

export function processesOf(calls: Call[]): Map<number, TracedProcess> {
  const processes = new Map<number, TracedProcess>();
  const get = (pid: number) => processes.get(pid) ?? processes.set(pid, { pid }).get(pid)!;
  for (const call of calls) {
    if (/^(clone3?|vfork|fork)$/.test(call.name) && /^\d+$/.test(call.result) && !call.args.includes('CLONE_THREAD')) {
      get(Number(call.result)).parent = call.pid;
    } else if (call.name === 'execve' && call.result === '0') {
      const process = get(call.pid);
      const program = /^"([^"]*)"/.exec(call.args);
      process.program = program?.[1];
      process.argv = /\[(.*?)\]/.exec(call.args)?.[1];
      process.exec = call.start;
    } else if (call.name === 'exit_group') {
      get(call.pid).exit = call.start;
    }
  }
  return processes;
}
