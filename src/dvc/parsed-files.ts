// Parsed YAML kept from one stage to the next. Cold, as at every stage's start, the `yaml` library
// takes ~0.1 ms a line (a 110-line dvc.yaml: 12 ms, the largest part of a stage's own start-up), and
// every stage of a pipeline parses the same dvc.yaml and params.yaml again. A file's value is kept
// beside the exact text it was parsed from and used only for that text: an edit is never missed,
// whatever the file's times say. Nothing here may fail a stage: an unreadable or unwritable entry
// just means parsing again.
import fs from 'node:fs';
import path from 'node:path';
import type { Data } from './data.ts';

/** Marks the values JSON cannot hold (bigints, NaN, ±Infinity, -0) as strings no YAML value starts with. */
const MARK = '\u0000mlrun:';

let folder: string | undefined;

/** From now on, parsed files are kept in `dir` (made when first written). */
export function keepParsedFilesIn(dir: string): void {
  folder = dir;
}

/** `parse()`'s value for `text`, the file's content: kept from an earlier parse of the same text, or parsed now and kept. */
export function parsedOnce(file: string, text: string, parse: () => Data): Data {
  if (!folder) return parse();
  const entry = path.join(folder, `${hashOf(file)}.json`);
  const kept = readEntry(entry, text);
  if (kept !== undefined) return kept;
  const value = parse();
  writeEntry(entry, text, value);
  return value;
}

function readEntry(entry: string, text: string): Data | undefined {
  try {
    const kept = JSON.parse(fs.readFileSync(entry, 'utf8'), revive) as { text: string; value: Data };
    return kept.text === text ? kept.value : undefined;
  } catch {
    return undefined;
  }
}

function writeEntry(entry: string, text: string, value: Data): void {
  try {
    const json = JSON.stringify({ text, value }, (_key, item: unknown) => mark(item));
    fs.mkdirSync(path.dirname(entry), { recursive: true });
    // Whole or not at all, for the stages that read it meanwhile.
    const partial = `${entry}.${process.pid}.tmp`;
    fs.writeFileSync(partial, json);
    fs.renameSync(partial, entry);
  } catch {
    // Unmarkable (a string that starts with MARK) or not writable: parsed again next time.
  }
}

function mark(item: unknown): unknown {
  if (typeof item === 'bigint') return `${MARK}n${item}`;
  if (Object.is(item, -0)) return `${MARK}f-0`;
  if (typeof item === 'number' && !Number.isFinite(item)) return `${MARK}f${item}`;
  if (typeof item === 'string' && item.startsWith(MARK)) throw new Error('a string mlrun cannot keep');
  return item;
}

function revive(_key: string, item: unknown): unknown {
  if (typeof item !== 'string' || !item.startsWith(MARK)) return item;
  const rest = item.slice(MARK.length + 1);
  return item[MARK.length] === 'n' ? BigInt(rest) : Number(rest);
}

/** FNV-1a of the path: a file name for its entry (two paths that collide just take turns). */
function hashOf(file: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < file.length; i++) hash = Math.imul(hash ^ file.charCodeAt(i), 0x01000193);
  return (hash >>> 0).toString(16).padStart(8, '0');
}
