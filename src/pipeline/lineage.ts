// What `mlrun pipeline` adds once DVC is done: each child run tagged with the hashes of the data
// it consumed and produced (from dvc.lock, which DVC writes after each stage), the stages DVC
// skipped listed on the parent with the run that made their current outputs, and a local index
// of which run made which outputs, for the next launch.
import fs from 'node:fs';
import path from 'node:path';
import { stateFolder } from '../settings/private-folders.ts';
import { readLock, type LockEntry, type LockStage } from '../dvc/lock.ts';
import { Project } from '../dvc/project.ts';
import { sanitizeKey } from '../metrics/parse/keys.ts';
import type { DatasetInput, Tag } from '../tracking/store.ts';
import type { StageRunRecord } from './stage-records.ts';

export interface LineageIndexEntry {
  store: string;
  dvcYaml: string;
  stage: string;
  /** The hashes of the stage's outputs, as dvc.lock has them. */
  outs: string;
  runId: string;
}

export function lineageTags(lock: LockStage): Tag[] {
  const tag = (kind: 'dep' | 'out') => (entry: LockEntry): Tag[] =>
    entry.hash ? [{ key: sanitizeKey(`dvc.${kind}.${entry.path}.${entry.hashName ?? 'md5'}`), value: entry.hash }] : [];
  return [...lock.deps.flatMap(tag('dep')), ...lock.outs.flatMap(tag('out'))];
}

/**
 * A stage's data deps (not its code: see TrackedData) as MLflow dataset inputs, the dvc.lock hash
 * as digest (MLflow keeps at most 36 characters).
 */
export function lineageInputs(lock: LockStage, isData: (dep: string) => boolean): DatasetInput[] {
  return lock.deps
    .filter((entry) => entry.hash && entry.hash.length <= 36 && isData(entry.path))
    .map((entry) => ({ name: entry.path, digest: entry.hash!, sourceType: 'local', source: JSON.stringify({ uri: entry.path }), context: 'dvc.dep' }));
}

export function outsDigest(lock: LockStage): string {
  return lock.outs.map((entry) => `${entry.path}:${entry.hash ?? ''}`).join(',');
}

/** dvc.lock of every pipeline of the project, read once: dvcYaml (relative, `/`) → stage → lock. */
export function readLocks(projectRoot: string): Map<string, Map<string, LockStage>> {
  const locks = new Map<string, Map<string, LockStage>>();
  for (const file of new Project(projectRoot).pipelineFiles()) {
    locks.set(relative(projectRoot, file), readLock(file));
  }
  return locks;
}

/** Children that ran in the main project (not in a temporary experiment copy) with their lock entries. */
export function recordedWithLocks(
  records: StageRunRecord[],
  projectRoot: string,
  locks: Map<string, Map<string, LockStage>>,
): { record: StageRunRecord; lock: LockStage }[] {
  return records
    .filter((record) => path.resolve(record.dvcRoot) === path.resolve(projectRoot))
    .flatMap((record) => {
      const lock = locks.get(record.dvcYaml)?.get(record.stage);
      return lock ? [{ record, lock }] : [];
    });
}

/**
 * Stages of the project that did not run under this launch, each with the id of the latest run
 * known to have produced its current outputs (null when none is known).
 */
export function skippedStages(
  projectRoot: string,
  records: StageRunRecord[],
  locks: Map<string, Map<string, LockStage>>,
  index: LineageIndexEntry[],
  store: string,
): Record<string, string | null> {
  const ran = new Set(records.map((record) => `${record.dvcYaml}\n${record.stage}`));
  const skipped: Record<string, string | null> = {};
  const project = new Project(projectRoot);
  for (const file of project.pipelineFiles()) {
    const dvcYaml = relative(projectRoot, file);
    for (const stage of project.pipeline(file)?.stageNames() ?? []) {
      if (ran.has(`${dvcYaml}\n${stage}`)) continue;
      const lock = locks.get(dvcYaml)?.get(stage);
      const digest = lock ? outsDigest(lock) : undefined;
      const producer = index.findLast((entry) => entry.store === store && entry.dvcYaml === dvcYaml && entry.stage === stage && entry.outs === digest);
      skipped[dvcYaml === 'dvc.yaml' ? stage : `${dvcYaml}:${stage}`] = producer?.runId ?? null;
    }
  }
  return skipped;
}

function indexFile(projectRoot: string): string {
  return path.join(stateFolder(projectRoot), 'lineage.jsonl');
}

export function readLineageIndex(projectRoot: string): LineageIndexEntry[] {
  try {
    return fs
      .readFileSync(indexFile(projectRoot), 'utf8')
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => JSON.parse(line) as LineageIndexEntry);
  } catch {
    return [];
  }
}

export function appendLineageIndex(projectRoot: string, entries: LineageIndexEntry[]): void {
  if (entries.length === 0) return;
  fs.mkdirSync(path.dirname(indexFile(projectRoot)), { recursive: true });
  fs.appendFileSync(indexFile(projectRoot), entries.map((entry) => `${JSON.stringify(entry)}\n`).join(''));
}

/** The files that define the pipeline: every dvc.yaml, params.yaml beside it, and every params file a stage reads. */
export function pipelineDefinitionFiles(projectRoot: string): string[] {
  const project = new Project(projectRoot);
  const files = new Set<string>();
  for (const file of project.pipelineFiles()) {
    files.add(file);
    files.add(path.join(path.dirname(file), 'params.yaml'));
    for (const stage of project.pipeline(file)?.stages() ?? []) {
      for (const params of stage.params) files.add(path.resolve(stage.wdir, params.file));
    }
  }
  return [...files].filter((file) => fs.existsSync(file)).sort();
}

export function lockFiles(projectRoot: string): string[] {
  return new Project(projectRoot)
    .pipelineFiles()
    .map((file) => path.join(path.dirname(file), 'dvc.lock'))
    .filter((file) => fs.existsSync(file));
}

export function relative(projectRoot: string, file: string): string {
  return path.relative(projectRoot, file).split(path.sep).join('/');
}
