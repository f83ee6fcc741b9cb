// An mlrun killed with SIGKILL while its command prints metric lines, as an OOM killer or a
// scheduler would: its run is left RUNNING, listed in `.mlrun/live/` of the project.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { runMlrun } from './mlrun.ts';
import type { PyRun } from './python.ts';

export interface KilledRun {
  runId: string;
  /** Its entry in the project's list of open runs, which outlives the kill. */
  entry: string;
  /** The entry's mtime in whole milliseconds, read after the kill: the run's last sign of life. */
  lastActivity: number;
  /** Taken right after both processes were killed. */
  killedAt: number;
}

// Names its own pid and run, then prints a metric line every 100 ms until killed.
const COMMAND = "console.log('started', process.pid, process.env.MLFLOW_RUN_ID); let i = 0; setInterval(() => console.log('loss=' + i++), 100);";

/**
 * Kills mlrun and its command once 3 metric lines went out; with `afterSignOfLife`, only once the
 * entry was touched again after it was written (mlrun's periodic sign of life).
 */
export async function killMlrunMidRun(
  cwd: string,
  env: Record<string, string>,
  options: { name?: string; afterSignOfLife?: boolean } = {},
): Promise<KilledRun> {
  let mlrunPid = 0;
  let output = '';
  let killedAt = 0;
  let firstMtime: number | undefined;
  const result = await runMlrun([...(options.name ? ['--name', options.name] : []), '--', process.execPath, '-e', COMMAND], {
    cwd,
    env,
    onSpawn: (child) => (mlrunPid = child.pid!),
    onStdout: (chunk) => {
      output += chunk.toString();
      if (killedAt !== 0 || (output.match(/^loss=/gm) ?? []).length < 3) return;
      const [, commandPid, runId] = /^started (\d+) (\w+)$/m.exec(output)!;
      // Without an entry there is nothing to wait for: the assertion below says so.
      const entry = entryOf(cwd, runId!);
      if (options.afterSignOfLife && fs.existsSync(entry)) {
        const mtime = fs.statSync(entry).mtimeMs;
        firstMtime ??= mtime;
        if (mtime === firstMtime) return;
      }
      process.kill(mlrunPid, 'SIGKILL');
      process.kill(Number(commandPid), 'SIGKILL');
      killedAt = Date.now();
    },
  });
  assert.equal(result.signal, 'SIGKILL', result.stderr);
  const runId = /^started \d+ (\w+)$/m.exec(output)![1]!;
  const entry = entryOf(cwd, runId);
  assert.ok(fs.existsSync(entry), `no entry ${entry} for the killed run`);
  return { runId, entry, lastActivity: Math.floor(fs.statSync(entry).mtimeMs), killedAt };
}

function entryOf(project: string, runId: string): string {
  return path.join(project, '.mlrun', 'live', `${runId}.json`);
}

/** The entries left in the project's list of open runs. */
export function liveEntries(project: string): string[] {
  const folder = path.join(project, '.mlrun', 'live');
  return fs.existsSync(folder) ? fs.readdirSync(folder).filter((name) => name.endsWith('.json')) : [];
}

/** The run as another mlrun closed it: KILLED at its last sign of life, tagged with what closed it, its entry gone. */
export function assertClosedAbandoned(run: PyRun, killed: KilledRun, closedBy: string): void {
  assert.equal(run.info.status, 'KILLED');
  assert.equal(run.info.end_time, killed.lastActivity);
  assert.ok(run.info.start_time <= killed.lastActivity && killed.lastActivity <= killed.killedAt);
  assert.equal(run.tags['mlrun.closed_by'], closedBy);
  assert.equal(fs.existsSync(killed.entry), false);
}
