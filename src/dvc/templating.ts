/**
 * DVC's `${}` templating (`dvc/parsing/context.py`, `interpolate.py`), reproduced rule by rule:
 * the resolved `cmd`, `outs` and generated stage names must equal what DVC writes to dvc.lock.
 */
import { statSync } from 'node:fs';
import path from 'node:path';
import type { Data, DataMap } from './data.ts';
import { isMap, pyStr, scalarToStr } from './data.ts';
import { readDataFile, shownPath } from './files.ts';

/** `dvc config parsing.bool` / `parsing.list`: how dicts unpack into `cmd` flags. */
export interface ParsingConfig {
  bool: 'store_true' | 'boolean_optional';
  list: 'nargs' | 'append';
}
export const DEFAULT_PARSING: ParsingConfig = { bool: 'store_true', list: 'nargs' };

/**
 * `syntax`: a bad `${}` expression or a value that cannot be interpolated there (DVC's ParseError
 * and KeyNotInContext, reported against the key); `context`: loading/merging vars.
 */
export class TemplateError extends Error {
  kind: 'syntax' | 'context';
  constructor(kind: 'syntax' | 'context', message: string) {
    super(message);
    this.kind = kind;
  }
}

const KEYCRE = /(?<!\\)\$\{(.*?)\}/g;
const EXPRESSION = /^[^.[\]]+(?:\.[^.[\]]+|\[[^.[\]]+\])*$/;

export function hasInterpolation(value: unknown): boolean {
  if (typeof value === 'string') return new RegExp(KEYCRE.source).test(value);
  if (Array.isArray(value)) return value.some(hasInterpolation);
  if (typeof value === 'object' && value !== null) {
    return Object.entries(value).some(([k, v]) => hasInterpolation(k) || hasInterpolation(v));
  }
  return false;
}

/** Throws for a malformed `${}` anywhere in the value (DVC checks a stage's syntax before resolving it). */
export function checkSyntax(value: Data): void {
  if (typeof value === 'string') {
    for (const match of value.matchAll(KEYCRE)) {
      if (!EXPRESSION.test(match[1] ?? '')) throw new TemplateError('syntax', `invalid expression '${match[0]}'`);
    }
  } else if (Array.isArray(value)) {
    value.forEach(checkSyntax);
  } else if (isMap(value)) {
    for (const [k, v] of Object.entries(value)) {
      checkSyntax(k);
      checkSyntax(v);
    }
  }
}

function pyType(value: Data): string {
  if (Array.isArray(value)) return 'list';
  if (isMap(value)) return 'dict';
  return typeof value;
}

/** `validate_value`: only primitives interpolate, except a dict in `cmd` and anything in foreach/matrix data. */
function validateValue(value: Data, key: string | undefined): void {
  const composite = typeof value === 'object' && value !== null;
  if (composite && key !== undefined && !key.includes('foreach') && !(isMap(value) && key === 'cmd')) {
    throw new TemplateError('syntax', `Cannot interpolate data of type '${pyType(value)}'`);
  }
}

/** Python's `shlex.quote` (DVC quotes string values when unpacking a dict into `cmd`). */
function shellQuote(value: string): string {
  if (value === '') return "''";
  if (!/[^\w@%+=:,./-]/.test(value)) return value;
  return `'${value.replaceAll("'", `'"'"'`)}'`;
}

function flattenDots(map: DataMap, prefix = '', into: [string, Data][] = []): [string, Data][] {
  for (const [k, v] of Object.entries(map)) {
    if (isMap(v)) flattenDots(v, `${prefix}${k}.`, into);
    else into.push([`${prefix}${k}`, v]);
  }
  return into;
}

/** `to_str(dict)`: a dict interpolated in `cmd` becomes argparse-style flags. */
function unpackDict(map: DataMap, config: ParsingConfig): string {
  let result = '';
  for (const [k, v] of flattenDots(map)) {
    if (typeof v === 'boolean') {
      if (v) result += `--${k} `;
      else if (config.bool === 'boolean_optional') result += `--no-${k} `;
    } else if (typeof v === 'string') {
      result += `--${k} ${shellQuote(v)} `;
    } else if (Array.isArray(v)) {
      v.forEach((item, n) => {
        if (typeof item === 'object' && item !== null) {
          throw new TemplateError('syntax', `Cannot interpolate nested iterable in '${k}'`);
        }
        const text = typeof item === 'string' ? shellQuote(item) : pyStr(item);
        result += config.list === 'append' || n === 0 ? `--${k} ${text} ` : `${text} `;
      });
    } else {
      result += `--${k} ${pyStr(v)} `;
    }
  }
  return result.trimEnd();
}

function toStr(value: Data, config: ParsingConfig): string {
  return isMap(value) ? unpackDict(value, config) : scalarToStr(value);
}

function clone<T extends Data>(value: T): T {
  return structuredClone(value);
}

/** Python's `int()` on a list index (`${list[-1]}` works as in Python). */
function listIndex(list: Data[], segment: string): Data | undefined {
  if (!/^[+-]?\d+$/.test(segment)) return undefined;
  const n = Number(segment);
  return list[n < 0 ? list.length + n : n];
}

export class Context {
  data: DataMap = {};
  /** Where each merged key came from, for DVC's "cannot redefine" message. */
  private origins = new Map<string, string>();
  /** Files loaded so far (absolute path → selected keys, or null for the whole file). */
  private imports = new Map<string, string[] | null>();
  private reserved = new Set<string>();
  private readonly show: (file: string) => string;

  constructor(show: (file: string) => string = shownPath) {
    this.show = show;
  }

  clone(): Context {
    const copy = new Context(this.show);
    copy.data = clone(this.data);
    copy.origins = new Map(this.origins);
    copy.imports = new Map([...this.imports].map(([k, v]) => [k, v && [...v]]));
    copy.reserved = new Set(this.reserved);
    return copy;
  }

  /** `load_from_vars`: the default params file (when present) then each `vars` item, in order. */
  loadFromVars(vars: Data[], baseDir: string, stageName = '', defaultFile?: string): void {
    if (defaultFile) {
      const file = path.join(baseDir, defaultFile);
      if (statSync(file, { throwIfNoEntry: false })) this.mergeFrom(defaultFile, baseDir);
    }
    vars.forEach((item, index) => {
      if (typeof item === 'string') this.mergeFrom(item, baseDir);
      else if (isMap(item)) this.mergeUpdate(item, `${stageName}${stageName ? '.' : ''}vars[${index}]`);
      else throw new TemplateError('context', `vars[${index}] must be a file path or a dictionary`);
    });
  }

  /** `merge_from`: a vars file item, `path` or `path:key1,key2` (top-level keys only). */
  private mergeFrom(item: string, baseDir: string): void {
    const colon = item.indexOf(':');
    const relPath = colon < 0 ? item : item.slice(0, colon);
    const keys = colon < 0 ? [] : item.slice(colon + 1).split(',').filter(Boolean);
    const selected = keys.length ? keys : null;
    const file = path.resolve(baseDir, relPath);
    const shown = this.show(file);
    const imported = this.imports.get(file);
    if (imported !== undefined) {
      if (!selected && imported === null) return; // the same whole file listed twice is allowed
      if (!selected && imported) throw new TemplateError('context', `cannot load '${item}' as it's partially loaded already`);
      if (selected && imported === null) throw new TemplateError('context', `cannot partially load '${item}' as it's already loaded.`);
      if (selected && imported?.some((k) => selected.includes(k))) {
        throw new TemplateError('context', `cannot load '${item}' as it's partially loaded already`);
      }
    }
    if (!readableFile(file)) {
      throw new TemplateError('context', existsAsDir(file) ? `'${shown}' is a directory` : `'${shown}' does not exist`);
    }
    let data = readDataFile(file);
    if (!isMap(data)) throw new TemplateError('context', `expected a dictionary, got '${pyType(data)}' in file '${shown}'`);
    if (selected) {
      const picked: DataMap = {};
      for (const key of selected) {
        if (!(key in data)) throw new TemplateError('context', `could not find '${key}' in '${shown}'`);
        picked[key] = data[key] as Data;
      }
      data = picked;
    }
    const reserved = Object.keys(data).filter((k) => this.reserved.has(k));
    if (reserved.length) throw reservedError(reserved, item);
    this.merge(this.data, data, shown, '');
    this.imports.set(file, selected ? [...(imported ?? []), ...selected] : null);
  }

  private mergeUpdate(data: DataMap, source: string): void {
    const reserved = Object.keys(data).filter((k) => this.reserved.has(k));
    if (reserved.length) throw reservedError(reserved);
    this.merge(this.data, clone(data), source, '');
  }

  /** `_merge`: dicts merge recursively; any other existing key is a conflict. */
  private merge(into: DataMap, update: DataMap, source: string, prefix: string): void {
    for (const [key, value] of Object.entries(update)) {
      const at = `${prefix}${key}`;
      const existing = into[key];
      if (isMap(existing) && isMap(value)) {
        this.merge(existing, value, source, `${at}.`);
        continue;
      }
      if (key in into) {
        throw new TemplateError(
          'context',
          `cannot redefine '${at}' from '${source}' as it already exists in '${this.origins.get(at) ?? '<local>'}'`,
        );
      }
      into[key] = value;
      this.origins.set(at, source);
    }
  }

  /** Runs `fn` with `item`/`key` set and reserved (foreach and matrix members), then restores. */
  withReserved<T>(values: DataMap, fn: () => T): T {
    const previous = new Map(Object.keys(values).map((k) => [k, this.data[k]]));
    const newlyReserved = Object.keys(values).filter((k) => !this.reserved.has(k));
    Object.assign(this.data, values);
    newlyReserved.forEach((k) => this.reserved.add(k));
    try {
      return fn();
    } finally {
      for (const [k, v] of previous) {
        if (v === undefined) delete this.data[k];
        else this.data[k] = v;
      }
      newlyReserved.forEach((k) => this.reserved.delete(k));
    }
  }

  /** `select`: `a.b`, `a[0]`, `a.0`; segments are trimmed like DVC does. */
  select(expression: string): Data {
    let node: Data | undefined = this.data;
    for (const raw of expression.replaceAll('[', '.').replaceAll(']', '').split('.')) {
      const segment = raw.trim();
      if (Array.isArray(node)) node = listIndex(node, segment);
      else if (isMap(node)) node = Object.hasOwn(node, segment) ? node[segment] : undefined;
      else node = undefined;
      if (node === undefined) throw new TemplateError('syntax', `Could not find '${expression}'`);
    }
    return node;
  }

  /** Resolves every string (keys included) inside a value; `key` is the stage key it sits under. */
  resolve(value: Data, key: string | undefined, config: ParsingConfig): Data {
    if (typeof value === 'string') return this.resolveString(value, key, config);
    if (Array.isArray(value)) return value.map((v) => this.resolve(v, key, config));
    if (isMap(value)) {
      const out: DataMap = {};
      for (const [k, v] of Object.entries(value)) out[this.resolveKey(k, key, config)] = this.resolve(v, key, config);
      return out;
    }
    return value;
  }

  private resolveKey(k: string, key: string | undefined, config: ParsingConfig): string {
    const resolved = this.resolveString(k, key, config);
    return typeof resolved === 'string' ? resolved : toStr(resolved, config);
  }

  /** `resolve_str`: a value that is exactly `${x}` keeps its type; otherwise string interpolation. */
  resolveString(src: string, key: string | undefined, config: ParsingConfig): Data {
    const matches = [...src.matchAll(KEYCRE)];
    const only = matches[0];
    if (matches.length === 1 && only && only[0] === src) {
      const value = this.select(only[1] ?? '');
      validateValue(value, key);
      return value;
    }
    let out = '';
    let index = 0;
    for (const match of matches) {
      const value = this.select(match[1] ?? '');
      validateValue(value, key);
      out += src.slice(index, match.index) + toStr(value, config);
      index = match.index + match[0].length;
    }
    // The regex already skipped `\${`; the escape itself is removed only here, as DVC does.
    return (out + src.slice(index)).replaceAll('\\${', '${');
  }
}

function reservedError(keys: string[], item?: string): TemplateError {
  const list = keys.length > 1 ? `${keys.slice(0, -1).join(', ')} and ${keys.at(-1)}` : keys[0];
  const where = item ? ` in '${item}'` : '';
  return new TemplateError('context', `attempted to modify reserved key${keys.length > 1 ? 's' : ''} ${list}${where}`);
}

function readableFile(file: string): boolean {
  return statSync(file, { throwIfNoEntry: false })?.isFile() ?? false;
}

function existsAsDir(file: string): boolean {
  return statSync(file, { throwIfNoEntry: false })?.isDirectory() ?? false;
}
