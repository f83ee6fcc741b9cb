// One line of output in, metric points out: the patterns find (key, value) pairs, then the step
// rules give each a step. See docs/metrics.md for the rules and why.
import type { Metric } from '../../tracking/store.ts';
import type { MetricConfig } from './config.ts';
import { sanitizeKey } from './keys.ts';
import { parseNumber } from './numbers.ts';
import { readObjectLiteral } from './object-literal.ts';
import { PairList } from './pair-list.ts';
import { PairScanner } from './pairs.ts';

/** Per sanitized key: its last step (-1: not logged yet), so implicit steps continue from it. */
interface KeyState {
  key: string;
  lastStep: number;
  /** The point MLflow shows as the key's latest. */
  top: LastPoint;
}

/**
 * A key's latest point as MLflow picks it for `latest_metrics`: the highest step, then the latest
 * timestamp, then the highest value (sqlalchemy_store.py `_update_latest_metrics_if_necessary`).
 */
export interface LastPoint {
  step: number;
  value: number;
  timestamp: number;
}

/** Per raw key as printed: where it goes, and its rank among the step keys (-1: not one). */
interface KeyInfo {
  state: KeyState;
  stepRank: number;
}

// What may come right before a bare step word: `[epoch 3]`, `| step 100`, `INFO:epoch 3`.
const STEP_WORD_BOUNDARY = new Set([...' \t[(|,;:'].map((char) => char.charCodeAt(0)));

// Raw spellings are cached for speed; the cache is dropped when a program invents keys without end.
const MAX_CACHED_SPELLINGS = 10_000;

export class PointExtractor {
  private readonly config: MetricConfig;
  private readonly emit: (point: Metric) => void;
  private readonly stepRanks: Map<string, number>;
  /** `epoch 3:` / `Step 100/500`: a step key, a space and an integer, not a pair. */
  private readonly bareStep: RegExp | undefined;
  /** Step keys that showed a fractional value (HF's `'epoch': 0.25`): no longer steps, by rank. */
  private readonly demoted: boolean[] = [];
  private readonly spellings = new Map<string, KeyInfo>();
  private readonly states = new Map<string, KeyState>();
  private loggedKeys = 0;
  // Reused for every line: the hot path allocates only the points and key slices.
  private readonly pairs = new PairList();
  private readonly scanner = new PairScanner();
  private readonly customSteps: number[] = [];
  private readonly infos: KeyInfo[] = [];

  constructor(config: MetricConfig, emit: (point: Metric) => void) {
    this.config = config;
    this.emit = emit;
    this.stepRanks = new Map(config.stepKeys.map((key, rank) => [key.toLowerCase(), rank]));
    const words = config.stepKeys.filter((key) => /^\w+$/.test(key));
    // No boundary group in front: a regex that starts with literal words is searched for much
    // faster; the character before the word is checked by hand.
    this.bareStep = words.length === 0 ? undefined : new RegExp(`(${words.join('|')})\\s+(\\d+)(?=$|[\\s/:,;|\\])])`, 'gi');
  }

  /** Distinct keys logged so far. */
  get keyCount(): number {
    return this.loggedKeys;
  }

  /** Each key logged so far with its latest point. */
  lastPoints(): Map<string, LastPoint> {
    const points = new Map<string, LastPoint>();
    for (const state of this.states.values()) if (state.lastStep !== -1) points.set(state.key, { ...state.top });
    return points;
  }

  /**
   * Emits the points of the line text[start, end); returns how many. A line is a range of the
   * chunk it was read in: matching it needs no copy of it.
   */
  extract(text: string, start: number, end: number, timestamp: number): number {
    if (start >= end) return 0;
    const pairs = this.pairs;
    pairs.count = 0;
    if (this.config.patterns.length > 0 || this.config.named.length > 0) this.matchCustom(text.slice(start, end));
    const customCount = pairs.count;
    if (this.config.defaults) this.matchDefaults(text, start, end);
    const count = pairs.count;
    if (count === 0) return 0;

    const infos = this.infos;
    let stepIndex = -1;
    let lineStep = -1;
    for (let k = 0; k < count; k++) {
      const info = this.infoFor(pairs.keys[k] as string);
      infos[k] = info;
      const rank = info.stepRank;
      if (rank === -1 || this.demoted[rank] === true) continue;
      const value = pairs.values[k] as number;
      if (Number.isSafeInteger(value) && value >= 0) {
        if (stepIndex === -1 || rank < (infos[stepIndex] as KeyInfo).stepRank) {
          stepIndex = k;
          lineStep = value;
        }
      } else if (Number.isFinite(value) && !Number.isInteger(value)) {
        this.demoted[rank] = true;
      }
    }
    if (stepIndex === -1) lineStep = this.findBareStep(text.slice(start, end));

    let emitted = 0;
    for (let k = 0; k < count; k++) {
      if (k === stepIndex) continue;
      const state = (infos[k] as KeyInfo).state;
      // A custom pattern that logged this key on this line wins over the default patterns.
      if (k >= customCount && isCustomKey(infos, customCount, state)) continue;
      const own = k < customCount ? (this.customSteps[k] as number) : -1;
      const step = own >= 0 ? own : lineStep >= 0 ? lineStep : state.lastStep + 1;
      if (state.lastStep === -1) this.loggedKeys++;
      state.lastStep = step;
      const value = pairs.values[k] as number;
      const top = state.top;
      if (step > top.step || (step === top.step && (timestamp > top.timestamp || (timestamp === top.timestamp && value >= top.value)))) {
        top.step = step;
        top.value = value;
        top.timestamp = timestamp;
      }
      this.emit({ key: state.key, value, timestamp, step });
      emitted++;
    }
    return emitted;
  }

  private matchCustom(line: string): void {
    for (const pattern of this.config.patterns) {
      for (const match of line.matchAll(pattern.regex)) {
        const groups = match.groups as Record<string, string | undefined>;
        const value = parseNumber(groups.value ?? '');
        if (groups.key === undefined || groups.key === '' || value === undefined) continue;
        this.addCustom(groups.key, value, pattern.hasStep ? parseStep(groups.step) : -1);
      }
    }
    for (const pattern of this.config.named) {
      for (const match of line.matchAll(pattern.regex)) {
        const value = parseNumber(match[1] ?? '');
        if (value !== undefined) this.addCustom(pattern.name, value, -1);
      }
    }
  }

  private addCustom(key: string, value: number, step: number): void {
    this.customSteps[this.pairs.count] = step;
    this.pairs.add(key, value);
  }

  private findBareStep(line: string): number {
    const regex = this.bareStep;
    if (regex === undefined) return -1;
    regex.lastIndex = 0;
    let match = regex.exec(line);
    while (match !== null && match.index > 0 && !STEP_WORD_BOUNDARY.has(line.charCodeAt(match.index - 1))) match = regex.exec(line);
    if (match === null) return -1;
    const rank = this.stepRanks.get((match[1] as string).toLowerCase()) as number;
    const step = Number(match[2]);
    return this.demoted[rank] === true || !Number.isSafeInteger(step) ? -1 : step;
  }

  private matchDefaults(text: string, start: number, end: number): void {
    const scanner = this.scanner;
    // The cheap pre-check: most lines of output have no `=` and no `:` at all.
    if (!scanner.mayHavePairs(text, start, end)) return;
    let last = end;
    while (last > start && text.charCodeAt(last - 1) <= 32) last--;
    if (text.charCodeAt(last - 1) === 125 /* } */) {
      // A JSON or dict object closes the line: read it as one, after the pairs of its prefix.
      let open = start;
      while (open < last && text.charCodeAt(open) !== 123 /* { */) open++;
      if (open < last) {
        const mark = this.pairs.count;
        scanner.scan(text, start, open, this.pairs);
        if (readObjectLiteral(text, open, last, this.pairs)) return;
        this.pairs.count = mark;
      }
    }
    scanner.scan(text, start, end, this.pairs);
  }

  private infoFor(raw: string): KeyInfo {
    let info = this.spellings.get(raw);
    if (info !== undefined) return info;
    if (this.spellings.size >= MAX_CACHED_SPELLINGS) this.spellings.clear();
    const key = flat(sanitizeKey(raw));
    let state = this.states.get(key);
    if (state === undefined) {
      state = { key, lastStep: -1, top: { step: -1, value: 0, timestamp: 0 } };
      this.states.set(key, state);
    }
    info = { state, stepRank: this.stepRanks.get(raw.toLowerCase()) ?? -1 };
    this.spellings.set(flat(raw), info);
    return info;
  }
}

function isCustomKey(infos: KeyInfo[], customCount: number, state: KeyState): boolean {
  for (let k = 0; k < customCount; k++) {
    if ((infos[k] as KeyInfo).state === state) return true;
  }
  return false;
}

function parseStep(text: string | undefined): number {
  const step = text === undefined ? undefined : parseNumber(text);
  return step !== undefined && Number.isSafeInteger(step) && step >= 0 ? step : -1;
}

/**
 * A copy that does not point into the chunk it was sliced from: a cached key that is a slice of
 * a 64 KiB chunk would keep the whole chunk alive.
 */
function flat(text: string): string {
  return JSON.parse(JSON.stringify(text)) as string;
}
