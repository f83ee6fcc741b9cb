// What every benchmark shares: running a process and timing it, peak RSS through /usr/bin/time,
// contenders measured alternately (ABAB…), and the statistics the report prints.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const benchDir = path.join(repoRoot, 'bench');
export const mlrunBinary = path.join(repoRoot, 'build', 'mlrun');
export const mlrunBundle = path.join(repoRoot, 'build', 'mlrun.cjs');
export const nodeBinary = path.join(repoRoot, 'node_modules', '.bin', 'node');
export const venvBin = path.join(repoRoot, '.venv', 'bin');
export const python = path.join(venvBin, 'python');
export const dvc = path.join(venvBin, 'dvc');
export const mlflowCli = path.join(venvBin, 'mlflow');

/** The environment of every measured process: no MLflow, mlrun or DVC setting leaks in from ours. */
export function cleanEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!/^(MLFLOW_|MLRUN_|DVC_)/.test(key)) env[key] = value;
  }
  env.PATH = [path.join(repoRoot, 'build'), path.join(repoRoot, 'node_modules', '.bin'), venvBin, process.env.PATH ?? ''].join(':');
  // Python's stdout is a pipe in every benchmark: keep it line-buffered like a terminal's would be
  // irrelevant here, but MLflow's "run … at: url" notices and telemetry must not skew the recipe.
  env.MLFLOW_DISABLE_TELEMETRY = 'true';
  env.DO_NOT_TRACK = 'true';
  for (const [key, value] of Object.entries(extra)) {
    if (value === undefined) delete env[key];
    else env[key] = value;
  }
  return env;
}

export interface RunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Measure peak RSS and CPU time with /usr/bin/time. */
  rss?: boolean;
  /** Keep stdout (otherwise it is read and dropped). */
  keepStdout?: boolean;
  /** Where stdout goes: 'pipe' (read by us, the default) or 'null' (/dev/null). */
  stdout?: 'pipe' | 'null';
  /** Fail (throw) on a non-zero exit; default true. */
  check?: boolean;
}

export interface RunResult {
  /** wall time from spawn to exit, ms */
  ms: number;
  stdout: string;
  stderr: string;
  code: number | null;
  /** peak RSS in MB, when asked for */
  rssMb?: number;
  /** user + system CPU time of the process and the children it waited for, ms, with rssMb */
  cpuMs?: number;
}

/** Runs a program to its end and times it. */
export function run(file: string, args: string[], options: RunOptions = {}): Promise<RunResult> {
  let rssFile: string | undefined;
  let argv = [file, ...args];
  if (options.rss) {
    rssFile = path.join(os.tmpdir(), `mlrun-bench-rss-${process.pid}-${Math.random().toString(36).slice(2)}`);
    argv = ['/usr/bin/time', '-f', '%M %U %S', '-o', rssFile, ...argv];
  }
  return new Promise((resolve, reject) => {
    const stdoutTarget = options.stdout === 'null' ? fs.openSync('/dev/null', 'w') : 'pipe';
    const started = performance.now();
    const child = spawn(argv[0]!, argv.slice(1), {
      cwd: options.cwd,
      env: options.env ?? cleanEnv(),
      stdio: ['ignore', stdoutTarget, 'pipe'],
    });
    if (typeof stdoutTarget === 'number') fs.closeSync(stdoutTarget);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout?.on('data', (chunk: Buffer) => {
      if (options.keepStdout) out.push(chunk);
    });
    child.stderr!.on('data', (chunk: Buffer) => err.push(chunk));
    child.on('error', reject);
    child.on('close', (code) => {
      const ms = performance.now() - started;
      const result: RunResult = {
        ms,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
        code,
      };
      if (rssFile) {
        const [rssKb, user, system] = (fs.readFileSync(rssFile, 'utf8').trim().split('\n').pop() ?? '').split(' ').map(Number);
        fs.rmSync(rssFile, { force: true });
        result.rssMb = rssKb! / 1024;
        result.cpuMs = (user! + system!) * 1000;
      }
      if ((options.check ?? true) && code !== 0) {
        reject(new Error(`${argv.join(' ')} exited with ${code}:\n${result.stderr.slice(-2000)}`));
        return;
      }
      resolve(result);
    });
  });
}

/** One measurement of a contender: its time and whatever else it reports. */
export interface Sample {
  ms: number;
  [extra: string]: number;
}

export interface Contender {
  name: string;
  /** repetitions (rounds it takes part in, from the first) */
  reps: number;
  /** untimed runs before the first round (page cache, first-run costs) */
  warmup?: number;
  measure: (rep: number) => Promise<Sample>;
}

/** Every contender once per round, in the same order (A B C A B C …), so load drifts hit all alike. */
export async function interleave(contenders: Contender[], log: (line: string) => void = () => undefined): Promise<Map<string, Sample[]>> {
  const samples = new Map<string, Sample[]>(contenders.map((c) => [c.name, []]));
  for (const contender of contenders) {
    for (let i = 0; i < (contender.warmup ?? 0); i++) await contender.measure(-1 - i);
  }
  const rounds = Math.max(...contenders.map((c) => c.reps));
  for (let round = 0; round < rounds; round++) {
    for (const contender of contenders) {
      if (round >= contender.reps) continue;
      const sample = await contender.measure(round);
      samples.get(contender.name)!.push(sample);
      log(`  ${contender.name} #${round + 1}: ${fmtMs(sample.ms)}${sample.span === undefined ? '' : ` (first to last byte ${fmtMs(sample.span)})`}`);
    }
  }
  return samples;
}

export interface Stat {
  median: number;
  min: number;
  max: number;
  n: number;
}

export function stat(values: number[]): Stat {
  if (values.length === 0) return { median: NaN, min: NaN, max: NaN, n: 0 };
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return { median, min: sorted[0]!, max: sorted[sorted.length - 1]!, n: sorted.length };
}

/**
 * The statistic of baseline ÷ contender for one field, one ratio per round both took part in. This
 * host has slow and fast spells longer than a round (`awk` alone and `awk | cat` slowed down and sped
 * up together, round by round), which a ratio of two medians mixes and a round's own ratio cancels.
 * Shorter hiccups remain: one run's per-round ratios ranged from 46% to 194%, hence many rounds.
 */
export function pairedRatio(samples: Map<string, Sample[]>, baseline: string, contender: string, field = 'ms'): Stat {
  const base = samples.get(baseline) ?? [];
  const other = samples.get(contender) ?? [];
  const ratios = other.slice(0, base.length).map((sample, round) => base[round]![field]! / sample[field]!);
  return stat(ratios.filter((value) => Number.isFinite(value)));
}

/** The statistic of one field of a contender's samples. */
export function statOf(samples: Map<string, Sample[]>, name: string, field = 'ms'): Stat {
  return stat((samples.get(name) ?? []).map((sample) => sample[field]!).filter((value) => value !== undefined && !Number.isNaN(value)));
}

export function fmtMs(ms: number): string {
  if (Number.isNaN(ms)) return 'n/a';
  if (ms >= 10_000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms >= 1000) return `${(ms / 1000).toFixed(2)} s`;
  return `${ms.toFixed(ms < 10 ? 1 : 0)} ms`;
}

/** `median (min–max)` in ms or s. */
export function fmtStat(s: Stat, format: (value: number) => string = fmtMs): string {
  if (s.n === 0) return 'n/a';
  if (s.n === 1) return `${format(s.median)} (n=1)`;
  return `${format(s.median)} (${format(s.min)}–${format(s.max)}, n=${s.n})`;
}

export function tempDir(label: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `mlrun-bench-${label}-`));
}

/** Removes a folder, never failing the benchmark over it. */
export function remove(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
}

/** A DVC project (no git unless asked) in `dir`. */
export async function dvcProject(dir: string, options: { git?: boolean } = {}): Promise<void> {
  fs.mkdirSync(dir, { recursive: true });
  if (options.git) {
    await run('git', ['init', '-q', '-b', 'main'], { cwd: dir });
    await run('git', ['-c', 'user.email=bench@example.com', '-c', 'user.name=bench', 'commit', '-q', '--allow-empty', '-m', 'bench'], { cwd: dir });
    await run('git', ['remote', 'add', 'origin', 'https://example.com/bench/project.git'], { cwd: dir });
    await run(dvc, ['init', '-q'], { cwd: dir });
  } else {
    await run(dvc, ['init', '--no-scm', '-q'], { cwd: dir });
  }
}

/** The run id mlrun -v reports on its last line: `mlrun: run <id> in <uri>: FINISHED`. */
export function runIdFromVerbose(stderr: string): string {
  const match = /mlrun: run ([0-9a-f]{32}) in /.exec(stderr);
  if (!match) throw new Error(`no run id in mlrun's output:\n${stderr.slice(-1500)}`);
  return match[1]!;
}

export function loadAverage(): string {
  return os.loadavg().map((value) => value.toFixed(2)).join(' / ');
}

export const MB = 1024 * 1024;
