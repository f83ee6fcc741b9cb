// How stages tell their pipeline which runs they made: each stage appends one line to
// .mlrun/pipelines/<parent run id>.jsonl at the project root (DVC_ROOT, the main project even
// for queued experiments running in temporary copies). Appends of one short line are atomic, so
// parallel stages need no lock. `mlrun pipeline` reads the file once its command has ended.
import fs from 'node:fs';
import path from 'node:path';
import { stateFolder } from '../settings/private-folders.ts';

export interface StageRunRecord {
  /** The expanded stage name, e.g. prepare@train. */
  stage: string;
  /** The stage's dvc.yaml, relative to the DVC project it ran in, `/`-separated. */
  dvcYaml: string;
  runId: string;
  /** The DVC project the stage ran in: the main project, or a temporary copy under `dvc exp run`. */
  dvcRoot: string;
  expName?: string;
}

function recordFile(projectRoot: string, parentRunId: string): string {
  return path.join(stateFolder(projectRoot), 'pipelines', `${parentRunId}.jsonl`);
}

export function recordStageRun(projectRoot: string, parentRunId: string, record: StageRunRecord): void {
  const file = recordFile(projectRoot, parentRunId);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.appendFileSync(file, `${JSON.stringify(record)}\n`);
}

export function readStageRuns(projectRoot: string, parentRunId: string): StageRunRecord[] {
  let text: string;
  try {
    text = fs.readFileSync(recordFile(projectRoot, parentRunId), 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as StageRunRecord);
}

export function removeStageRuns(projectRoot: string, parentRunId: string): void {
  fs.rmSync(recordFile(projectRoot, parentRunId), { force: true });
}
