// The metric options, checked and compiled once before the command starts: a bad regex is a usage
// error (exit 2), never a surprise halfway through a training run.

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** Already merged by the caller: flag > dvc.yaml stage meta > project file > defaults. */
export interface MetricConfigOptions {
  /** `--metric-pattern REGEX`: named groups `key` and `value`, optional `step`. */
  patterns?: string[];
  /** `--metric NAME=REGEX`: exactly one capture group, the value. */
  named?: string[];
  /** false with `--no-default-patterns`. */
  defaults?: boolean;
  /** Keys whose value is the step of the other values on the line, highest priority first. */
  stepKeys?: string[];
  /** false with `--metrics none`. */
  enabled?: boolean;
  /** Where `patterns` and `named` came from, as errors name them (default: the flags). */
  origins?: { patterns?: string; named?: string };
}

export interface KeyPattern {
  source: string;
  regex: RegExp;
  hasStep: boolean;
}

export interface NamedPattern {
  name: string;
  source: string;
  regex: RegExp;
}

export interface MetricConfig {
  enabled: boolean;
  defaults: boolean;
  stepKeys: string[];
  patterns: KeyPattern[];
  named: NamedPattern[];
}

// Most specific first: when a line has several, `global_step` beats `step` beats `iter` beats `epoch`.
export const DEFAULT_STEP_KEYS = ['global_step', 'step', 'iter', 'epoch'];

export function compileMetricConfig(options: MetricConfigOptions = {}): MetricConfig {
  const patterns = (options.patterns ?? []).map((source) => compileKeyPattern(source, options.origins?.patterns ?? '--metric-pattern'));
  const named = (options.named ?? []).map((spec) => compileNamedPattern(spec, options.origins?.named ?? '--metric'));
  const stepKeys = options.stepKeys ?? DEFAULT_STEP_KEYS;
  for (const key of stepKeys) {
    if (key.trim() === '') throw new ConfigError('invalid step key: it is empty');
  }
  return { enabled: options.enabled ?? true, defaults: options.defaults ?? true, stepKeys, patterns, named };
}

function compileKeyPattern(source: string, flag: string): KeyPattern {
  const regex = compile(flag, source);
  const groups = groupsOf(regex);
  if (!('key' in groups.named) || !('value' in groups.named)) {
    throw new ConfigError(`invalid ${flag} '${source}': needs the named groups 'key' and 'value', as in (?<key>\\w+)=(?<value>\\S+)`);
  }
  return { source, regex, hasStep: 'step' in groups.named };
}

function compileNamedPattern(spec: string, flag: string): NamedPattern {
  const equals = spec.indexOf('=');
  const name = equals === -1 ? '' : spec.slice(0, equals).trim();
  if (name === '') throw new ConfigError(`invalid ${flag} '${spec}': expected NAME=REGEX`);
  const source = spec.slice(equals + 1);
  const regex = compile(flag, source);
  const { captures } = groupsOf(regex);
  if (captures !== 1) {
    throw new ConfigError(`invalid ${flag} '${spec}': needs exactly one capture group (the value), found ${captures}`);
  }
  return { name, source, regex };
}

function compile(flag: string, source: string): RegExp {
  if (source === '') throw new ConfigError(`invalid ${flag} '': the regex is empty`);
  try {
    // Python's `(?P<name>...)` is what data scientists type; JavaScript spells it `(?<name>...)`.
    return new RegExp(source.replaceAll('(?P<', '(?<'), 'g');
  } catch (error) {
    // "Invalid regular expression: /(?<key>/g: Unterminated group" -> "Unterminated group"
    const reason = (error as Error).message.replace(/^.*: /s, '');
    throw new ConfigError(`invalid ${flag} '${source}': ${reason}`);
  }
}

/** The named groups and the number of capture groups, without needing a matching input. */
function groupsOf(regex: RegExp): { named: Record<string, unknown>; captures: number } {
  // Adding an empty alternative makes every regex match '', which reports every group.
  const match = new RegExp(`${regex.source}|`).exec('') as RegExpExecArray;
  return { named: match.groups ?? {}, captures: match.length - 1 };
}
