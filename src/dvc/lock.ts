/** `dvc.lock` (schema 2.0), beside its dvc.yaml: what DVC recorded after each stage's last success. */
import { statSync } from 'node:fs';
import path from 'node:path';
import type { Data } from './data.ts';
import { isMap, scalarToStr } from './data.ts';
import { DvcError } from './errors.ts';
import { parseYaml, readText, shownPath } from './files.ts';
import { flattenParams, paramsPrefix } from './params.ts';

export interface LockEntry {
  /** As written in dvc.yaml, relative to the stage wdir. */
  path: string;
  /** Which field holds the hash: `md5` (local), `etag` (S3/GCS/Azure/HTTP), `checksum` (HDFS). */
  hashName?: 'md5' | 'etag' | 'checksum';
  /** The hash; directories end in `.dir`. */
  hash?: string;
  /** The lock's `hash:` field (`md5` in DVC 3; absent for DVC 2 `md5-dos2unix` hashes). */
  algorithm?: string;
  size?: number;
  nfiles?: number;
  isDir: boolean;
}

export interface LockStage {
  cmd: string | string[];
  deps: LockEntry[];
  outs: LockEntry[];
  /** Same keys and text as `readStageParams` gives for the stage. */
  params: Record<string, string>;
}

function entry(item: Data, file: string): LockEntry {
  if (!isMap(item) || typeof item['path'] !== 'string') throw new DvcError(`'${shownPath(file)}': an entry has no path`);
  const hashName = (['md5', 'etag', 'checksum'] as const).find((k) => typeof item[k] === 'string');
  const hash = hashName ? (item[hashName] as string) : undefined;
  const number = (v: Data | undefined): number | undefined => (typeof v === 'bigint' || typeof v === 'number' ? Number(v) : undefined);
  const size = number(item['size']);
  const nfiles = number(item['nfiles']);
  return {
    path: item['path'],
    ...(hashName ? { hashName, hash } : {}),
    ...(typeof item['hash'] === 'string' ? { algorithm: item['hash'] } : {}),
    ...(size !== undefined ? { size } : {}),
    ...(nfiles !== undefined ? { nfiles } : {}),
    isDir: hash?.endsWith('.dir') ?? false,
  };
}

/** Stages by expanded name; empty when the pipeline has no dvc.lock yet. */
export function readLock(dvcYamlPath: string): Map<string, LockStage> {
  const file = path.join(path.dirname(path.resolve(dvcYamlPath)), 'dvc.lock');
  const stages = new Map<string, LockStage>();
  if (!statSync(file, { throwIfNoEntry: false })) return stages;
  const data = parseYaml(readText(file), file);
  const raw = isMap(data) ? (data['stages'] ?? {}) : null;
  if (!isMap(raw)) throw new DvcError(`'${shownPath(file)}' has no 'stages' mapping`);
  for (const [name, stage] of Object.entries(raw)) {
    if (!isMap(stage)) throw new DvcError(`'${shownPath(file)}': stage '${name}' is not a mapping`);
    const list = (key: string): LockEntry[] => {
      const v = stage[key] ?? [];
      return Array.isArray(v) ? v.map((item) => entry(item, file)) : [];
    };
    const params: Record<string, string> = {};
    const rawParams = stage['params'] ?? {};
    if (isMap(rawParams)) {
      for (const [paramsFile, values] of Object.entries(rawParams)) {
        for (const [k, v] of Object.entries(flattenParams(values, ''))) params[paramsPrefix(paramsFile) + k] = v;
      }
    }
    const cmd = stage['cmd'] ?? '';
    stages.set(name, {
      cmd: Array.isArray(cmd) ? cmd.map(scalarToStr) : scalarToStr(cmd),
      deps: list('deps'),
      outs: list('outs'),
      params,
    });
  }
  return stages;
}
