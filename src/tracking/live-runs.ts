// Every run an mlrun has open is listed in `.mlrun/live/<run id>.json` at the project root, with
// the mlrun process that owns it and the store the run is in, until that mlrun closed the run. An
// entry whose process is gone (SIGKILL, an OOM killer, a reboot) names a run nobody will close:
// a later mlrun or `mlrun sync` closes it (abandoned-runs.ts). The entry's mtime is the run's last
// sign of life: its owner touches it on a timer, one utimes call per period whatever the run
// logs, so a closer can end the run at about the time its mlrun died.
//
// The store is named without any credential (redacted, like everything mlrun writes): whoever
// closes the run reaches the store with the MLflow settings of its own environment.
import fs from 'node:fs';
import path from 'node:path';
import { stateFolder } from '../settings/private-folders.ts';
import { readEntries, writeEntry } from '../settings/state-entries.ts';
import type { ProcessIdentity } from '../process/process-identity.ts';
import type { StoreTarget } from './open-store.ts';
import { sameServerKey } from './redact.ts';

export interface LiveRunEntry {
  runId: string;
  /** The store the run is in (storeKey). */
  store: string;
  owner: ProcessIdentity;
}

export interface ListedLiveRun extends LiveRunEntry {
  /** Milliseconds since the epoch: when the owner last touched the entry. */
  lastActivity: number;
  file: string;
}

/**
 * The store as entries name it: a server by its redacted URI, a database file by its path
 * relative to the project root when it is inside (a project shared between hosts may be mounted
 * at different places).
 */
export function storeKey(target: StoreTarget, projectRoot: string): string {
  if (target.kind === 'rest') return sameServerKey(target.uri);
  const relative = path.relative(projectRoot, target.dbPath);
  return relative.startsWith('..') || path.isAbsolute(relative) ? target.dbPath : relative;
}

function liveFolder(projectRoot: string): string {
  return path.join(projectRoot, '.mlrun', 'live');
}

/** Lists the run as open by this process; returns the entry's file. */
export function addLiveRun(projectRoot: string, entry: LiveRunEntry): string {
  stateFolder(projectRoot);
  const folder = liveFolder(projectRoot);
  fs.mkdirSync(folder, { recursive: true });
  const file = path.join(folder, `${entry.runId}.json`);
  writeEntry(file, entry);
  return file;
}

/** The run showed a sign of life now. */
export function touchLiveRun(file: string): void {
  const now = new Date();
  fs.utimesSync(file, now, now);
}

export function removeLiveRun(file: string): void {
  fs.rmSync(file, { force: true });
}

/** The entries of runs in `store` (storeKey), unreadable ones skipped. */
export function liveRunsIn(projectRoot: string, store: string): ListedLiveRun[] {
  return readEntries<LiveRunEntry>(liveFolder(projectRoot))
    .filter(({ entry }) => entry.store === store)
    .map(({ entry, file, mtimeMs }) => ({ ...entry, lastActivity: Math.floor(mtimeMs), file }));
}
