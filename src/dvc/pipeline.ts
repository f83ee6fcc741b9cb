/**
 * One `dvc.yaml`: its stage definitions, expanded (`foreach`, `matrix`) and resolved lazily, one
 * stage at a time, the way DVC's `DataResolver` does (`dvc/parsing/__init__.py`).
 */
import path from 'node:path';
import type { Data, DataMap } from './data.ts';
import { isMap, isMapOrList, pyStr, scalarToStr } from './data.ts';
import type { Stage } from './stage.ts';
import { toStage } from './stage.ts';
import { DvcError } from './errors.ts';
import { parseYaml, readText } from './files.ts';
import type { ParsingConfig } from './templating.ts';
import { Context, DEFAULT_PARSING, TemplateError, checkSyntax, hasInterpolation } from './templating.ts';

export interface PipelineOptions {
  /** Project root, used to name files in messages. */
  root?: string;
  parsing?: ParsingConfig;
}

const JOIN = '@';
const DEFAULT_PARAMS_FILE = 'params.yaml';

interface Group {
  kind: 'foreach' | 'matrix';
  template: DataMap;
  data: Data;
  resolved?: Data;
  members?: Map<string, Data>;
  syntaxChecked?: boolean;
}

export class Pipeline {
  readonly path: string;
  readonly dir: string;
  /** The dvc.yaml as named in messages (relative to the project root). */
  readonly shown: string;
  private readonly root: string;
  private readonly parsing: ParsingConfig;
  private readonly raw: DataMap;
  private readonly definitions: Map<string, DataMap>;
  private readonly groups = new Map<string, Group>();
  private context?: Context;

  constructor(file: string, options: PipelineOptions = {}) {
    this.path = path.resolve(file);
    this.dir = path.dirname(this.path);
    this.root = options.root ?? this.dir;
    this.shown = this.showPath(this.path);
    this.parsing = options.parsing ?? DEFAULT_PARSING;
    const data = parseYaml(readText(this.path), this.path, this.shown);
    if (!isMap(data)) throw new DvcError(`'${this.shown}' must be a mapping with a 'stages' key`);
    this.raw = data;
    const stages = data['stages'] ?? {};
    if (!isMap(stages)) throw new DvcError(`'${this.shown}': 'stages' must be a mapping`);
    this.definitions = new Map();
    for (const [name, definition] of Object.entries(stages)) {
      if (!isMap(definition)) throw new DvcError(`'${this.shown}': stage '${name}' must be a mapping`);
      const isForeach = 'foreach' in definition;
      if (isForeach && !isMap(definition['do'] ?? null)) {
        throw new DvcError(`'${this.shown}': stage '${name}' has 'foreach' without a 'do' mapping`);
      }
      if (!isForeach && !('cmd' in definition)) throw new DvcError(`'${this.shown}': stage '${name}' has no 'cmd'`);
      this.definitions.set(name, definition);
    }
  }

  /** Every stage name DVC would list, generated members expanded, in file order. */
  stageNames(): string[] {
    return [...this.definitions.keys()].flatMap((name) => {
      const group = this.group(name);
      return group ? [...this.members(name, group).keys()].map((key) => `${name}${JOIN}${key}`) : [name];
    });
  }

  has(name: string): boolean {
    const [group, key] = splitGroupName(name);
    if (!this.definitions.has(group)) return false;
    const definition = this.group(group);
    if (!definition) return key === undefined;
    return key !== undefined && this.members(group, definition).has(key);
  }

  /** The resolved stage, or undefined when this file has no stage by that name. */
  stage(name: string): Stage | undefined {
    if (!this.has(name)) return undefined;
    const [groupName, key] = splitGroupName(name);
    const group = this.group(groupName);
    if (!group || key === undefined) {
      const definition = this.definitions.get(name) as DataMap;
      return toStage(name, this.path, this.shown, this.resolveEntry(name, definition, this.topContext(), false));
    }
    if (!group.syntaxChecked) {
      this.checkStageSyntax(groupName, group.template);
      group.syntaxChecked = true;
    }
    const value = this.members(groupName, group).get(key) as Data;
    const context = this.topContext();
    // A foreach over a list exposes only `item`; over a dict or a matrix, `key` too.
    const temporary: DataMap =
      group.kind === 'foreach' && !isMap(this.resolvedGroupData(groupName, group)) ? { item: value } : { item: value, key };
    const resolved = context.withReserved(temporary, () => this.resolveEntry(name, group.template, context, true));
    return toStage(name, this.path, this.shown, resolved);
  }

  stages(): Stage[] {
    return this.stageNames().map((name) => this.stage(name) as Stage);
  }

  private showPath(file: string): string {
    const rel = path.relative(this.root, file);
    return rel.startsWith('..') || path.isAbsolute(rel) ? file : rel;
  }

  private fail(where: string, err: unknown): never {
    if (err instanceof TemplateError) throw new DvcError(`failed to parse ${where} in '${this.shown}': ${err.message}`);
    throw err;
  }

  /** Global context: `params.yaml` beside dvc.yaml, then top-level `vars` (built once). */
  private topContext(): Context {
    if (this.context) return this.context;
    const vars = this.raw['vars'] ?? [];
    if (!Array.isArray(vars)) throw new DvcError(`failed to parse 'vars' in '${this.shown}': expected a list`);
    if (hasInterpolation(vars)) throw new DvcError(`failed to parse 'vars' in '${this.shown}': interpolating is not allowed`);
    const context = new Context((file) => this.showPath(file));
    try {
      context.loadFromVars(vars, this.dir, '', DEFAULT_PARAMS_FILE);
    } catch (err) {
      this.fail("'vars'", err);
    }
    this.context = context;
    return context;
  }

  private group(name: string): Group | undefined {
    const cached = this.groups.get(name);
    if (cached) return cached;
    const definition = this.definitions.get(name);
    if (!definition) return undefined;
    let group: Group | undefined;
    if ('matrix' in definition) {
      const { matrix, ...template } = definition;
      group = { kind: 'matrix', template, data: matrix ?? null };
    } else if ('foreach' in definition) {
      group = { kind: 'foreach', template: definition['do'] as DataMap, data: definition['foreach'] ?? null };
    }
    if (group) this.groups.set(name, group);
    return group;
  }

  private resolvedGroupData(name: string, group: Group): Data {
    if (group.resolved !== undefined) return group.resolved;
    try {
      return (group.resolved = this.topContext().resolve(group.data, undefined, this.parsing));
    } catch (err) {
      this.fail(`'stages.${name}.${group.kind}'`, err);
    }
  }

  /** Member keys → value (`item`), in DVC's order and with DVC's key strings. */
  private members(name: string, group: Group): Map<string, Data> {
    if (group.members) return group.members;
    const data = this.resolvedGroupData(name, group);
    const members = new Map<string, Data>();
    if (group.kind === 'foreach') {
      if (!isMapOrList(data)) {
        throw new DvcError(
          `failed to resolve 'stages.${name}.foreach' in '${this.shown}': expected list/dictionary, got ${pyTypeName(data)}`,
        );
      }
      if (isMap(data)) {
        for (const [k, v] of Object.entries(data)) members.set(k, v);
      } else if (data.some(isMapOrList)) {
        // Lists holding dicts or lists are keyed by index; lists of scalars by the value itself.
        data.forEach((v, i) => members.set(String(i), v));
      } else {
        const keyOf = memberKey(group.data);
        data.forEach((v, i) => members.set(keyOf(v, i), v));
      }
    } else {
      if (!isMap(data)) throw new DvcError(`failed to parse 'stages.${name}.matrix' in '${this.shown}': expected a mapping`);
      const raw = isMap(group.data) ? group.data : {};
      const axes = Object.entries(data).map(([k, v]): [string, Data[], KeyOf] => [k, iterate(v), memberKey(raw[k] ?? null)]);
      for (const combination of product(axes.map(([, values]) => values.map((v, i) => [i, v] as const)))) {
        const item: DataMap = {};
        const fragments = combination.map(([i, v], axis) => {
          const [variable, , keyOf] = axes[axis] as [string, Data[], KeyOf];
          item[variable] = v;
          return isMapOrList(v) ? `${variable}${i}` : keyOf(v, i);
        });
        members.set(fragments.join('-'), item);
      }
    }
    group.members = members;
    return members;
  }

  private checkStageSyntax(name: string, definition: DataMap): void {
    for (const [key, value] of Object.entries(definition)) {
      try {
        checkSyntax(value);
      } catch (err) {
        this.fail(`'stages.${name}.${key}'`, err);
      }
    }
  }

  /** `EntryDefinition.resolve_stage`. */
  private resolveEntry(name: string, definition: DataMap, outer: Context, generated: boolean): DataMap {
    if (!generated) this.checkStageSyntax(name, definition);
    const { vars = [], ...rest } = definition;
    // Stage vars files are relative to the wdir, itself resolved before the stage vars exist.
    let varsDir = this.dir;
    if (typeof rest['wdir'] === 'string' && rest['wdir']) {
      try {
        varsDir = path.join(this.dir, scalarToStr(outer.resolveString(rest['wdir'], undefined, this.parsing)));
      } catch (err) {
        this.fail(`'stages.${name}.wdir'`, err);
      }
    }
    if (!Array.isArray(vars)) throw new DvcError(`failed to parse 'stages.${name}.vars' in '${this.shown}': expected a list`);
    if (hasInterpolation(vars)) {
      throw new DvcError(`failed to parse 'stages.${name}.vars' in '${this.shown}': interpolating is not allowed`);
    }
    let context = outer;
    if (vars.length) {
      context = outer.clone();
      try {
        context.loadFromVars(vars, varsDir, name);
      } catch (err) {
        this.fail(`stage '${name}'`, err);
      }
    }
    const resolved: DataMap = {};
    for (const [key, value] of Object.entries(rest)) {
      try {
        resolved[key] = context.resolve(value, key, this.parsing);
      } catch (err) {
        this.fail(`'stages.${name}.${key}'`, err);
      }
    }
    return resolved;
  }

}

function splitGroupName(name: string): [string, string | undefined] {
  const at = name.lastIndexOf(JOIN);
  return at < 0 ? [name, undefined] : [name.slice(0, at), name.slice(at + 1)];
}

function pyTypeName(value: Data): string {
  if (value === null) return 'NoneType';
  if (typeof value === 'string') return 'str';
  if (typeof value === 'bigint') return 'int';
  if (typeof value === 'number') return 'float';
  return typeof value;
}

type KeyOf = (value: Data, index: number) => string;

const EXACT_INTERPOLATION = /^\$\{[^}]*\}$/;

/**
 * How DVC names a member after its value. Values that came out of the context through an exact
 * `${x}` are still DVC's wrapper nodes and are named by Python's `str()` (`True`, `None`), while
 * values written inline go through `to_str` (`true`): `foreach: ${flags}` over `[true]` gives
 * `group@True`, `foreach: [true]` gives `group@true`.
 */
function memberKey(raw: Data): KeyOf {
  const fromContext = (r: Data | undefined): boolean => typeof r === 'string' && EXACT_INTERPOLATION.test(r);
  if (fromContext(raw)) return (value) => pyStr(value);
  const items = Array.isArray(raw) ? raw : [];
  return (value, index) => (fromContext(items[index]) ? pyStr(value) : scalarToStr(value));
}

/** A matrix axis: a list, or (as Python's `enumerate` does) a string's characters. */
function iterate(value: Data): Data[] {
  if (Array.isArray(value)) return value;
  if (typeof value === 'string') return Array.from(value);
  if (isMap(value)) return Object.keys(value);
  return [value];
}

function product<T>(axes: T[][]): T[][] {
  return axes.reduce<T[][]>((acc, axis) => acc.flatMap((prefix) => axis.map((v) => [...prefix, v])), [[]]);
}
