import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseDocument } from 'yaml';
import { parse as parseToml } from 'smol-toml';
import type { Data, DataMap } from './data.ts';
import { DvcError } from './errors.ts';
import { parsedOnce } from './parsed-files.ts';

/** A path as the user would type it: relative to the current directory when inside it. */
export function shownPath(file: string): string {
  let cwd: string;
  try {
    cwd = process.cwd();
  } catch {
    return file; // the current folder was deleted
  }
  const rel = path.relative(cwd, file);
  return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : file;
}

export function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'does not exist' : code === 'EISDIR' ? 'is a directory' : `cannot be read (${code})`;
    throw new DvcError(`'${shownPath(file)}' ${why}`);
  }
}

/** Loads a params/metrics/vars file the way DVC's `load_path` does: by extension, YAML for anything unknown. */
export function readDataFile(file: string): Data {
  return parseData(readText(file), file);
}

function parseData(text: string, file: string): Data {
  const ext = path.extname(file).toLowerCase();
  if (ext === '.json') return parseJson(text, file);
  if (ext === '.toml') return parseTomlText(text, file);
  if (ext === '.py') throw new DvcError(`'${shownPath(file)}': Python params files are not supported`);
  return parseYaml(text, file);
}

export function parseYaml(text: string, file: string, shown = shownPath(file)): Data {
  return parsedOnce(path.resolve(file), text, () => parseYamlText(text, shown));
}

function parseYamlText(text: string, shown: string): Data {
  // DVC loads with ruamel's YAML 1.2 safe loader, which accepts `<<` merge keys.
  const doc = parseDocument(text, { intAsBigInt: true, merge: true });
  const error = doc.errors[0];
  if (error) {
    const where = error.linePos ? ` at line ${error.linePos[0].line}` : '';
    const reason = error.message.split(/ at line \d+|:\n/)[0];
    throw new DvcError(`'${shown}' is not valid YAML${where}: ${reason}`);
  }
  // An empty file loads as `{}` in DVC (`yaml.load(text) or {}`).
  return (doc.toJS({ maxAliasCount: -1 }) as Data) ?? {};
}

const NON_FINITE = '\u0000mlrun-nonfinite:';

/** Python's `json.loads`: integers stay integers, floats stay floats, `NaN`/`Infinity` accepted. */
function parseJson(text: string, file: string): Data {
  // Python writes NaN/Infinity as bare tokens; JSON.parse rejects them, so turn them into marked strings.
  const tolerant = text.replace(/"(?:[^"\\]|\\.)*"|(-?Infinity|NaN)/g, (match, token: string | undefined) =>
    token ? JSON.stringify(NON_FINITE + token) : match,
  );
  try {
    const reviver = (_key: string, value: unknown, context?: { source?: string }): unknown => {
      if (typeof value === 'number' && context?.source !== undefined && /^-?\d+$/.test(context.source)) {
        return BigInt(context.source);
      }
      if (typeof value === 'string' && value.startsWith(NON_FINITE)) return Number(value.slice(NON_FINITE.length));
      return value;
    };
    // Python's json returns `{}` for falsy documents (`json.loads(text) or {}`).
    return (JSON.parse(tolerant, reviver as (key: string, value: unknown) => unknown) as Data) || {};
  } catch (err) {
    throw new DvcError(`'${shownPath(file)}' is not valid JSON: ${(err as Error).message}`);
  }
}

function parseTomlText(text: string, file: string): Data {
  try {
    return fromToml(parseToml(text, { integersAsBigInt: true })) as DataMap;
  } catch (err) {
    const line = (err as { line?: number }).line;
    const reason = (err as Error).message.split('\n')[0]?.replace(/^Invalid TOML document: /, '');
    throw new DvcError(`'${shownPath(file)}' is not valid TOML${line ? ` at line ${line}` : ''}: ${reason}`);
  }
}

function fromToml(value: unknown): Data {
  if (value instanceof Date) return value.toString();
  if (Array.isArray(value)) return value.map(fromToml);
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, fromToml(v)]));
  }
  return value as Data;
}
