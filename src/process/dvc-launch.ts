// Which `dvc` process launched this one. DVC gives a stage no id of its launch, but the stage is
// its descendant (`dvc` → `sh -c cmd` → mlrun, dvc/stage/run.py), and the dvc process's pid with
// its start time and the boot names that launch for good (process-identity.ts). A few /proc reads
// per generation, and a stage is a few generations below its dvc.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { statOf, type ProcessIdentity } from './process-identity.ts';

/** Past this many generations up a process is no stage's launcher (a shell within a shell at most). */
const GENERATIONS = 8;

export interface DvcLaunch {
  dvc: ProcessIdentity;
  /** The dvc command line from `dvc` on (the interpreter left out): `dvc repro -s train`. */
  argv: string[];
}

/** The nearest `dvc` ancestor; undefined when there is none, 'unreadable' where /proc is missing. */
export function dvcLaunch(): DvcLaunch | 'unreadable' | undefined {
  let pid = process.ppid;
  for (let generation = 0; generation < GENERATIONS && pid > 1; generation += 1) {
    const stat = statOf(pid);
    if (stat === undefined) return 'unreadable';
    if (stat === 'gone') return undefined;
    const argv = dvcCommandLine(pid);
    if (argv) return { dvc: { host: os.hostname(), pid, start: stat.start }, argv };
    pid = stat.parent;
  }
  return undefined;
}

/**
 * The process's command line from its `dvc` word on, when it is dvc: the `dvc` entry point itself,
 * a Python running that script (a virtualenv's `bin/dvc`) or `python -m dvc`.
 */
function dvcCommandLine(pid: number): string[] | undefined {
  let argv: string[];
  try {
    argv = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').slice(0, -1);
  } catch {
    return undefined;
  }
  const isDvc = (word: string | undefined) => word !== undefined && path.basename(word) === 'dvc';
  if (isDvc(argv[0])) return argv;
  if (/python/.test(path.basename(argv[0] ?? ''))) {
    if (isDvc(argv[1])) return argv.slice(1);
    if (argv[1] === '-m' && argv[2] === 'dvc') return ['dvc', ...argv.slice(3)];
  }
  return undefined;
}
