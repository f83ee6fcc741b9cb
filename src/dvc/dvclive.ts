/** DVCLive's per-step history: `<dir>/plots/metrics/<name>.tsv`, one file per metric. */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Stage } from './stage.ts';

export interface MetricPoint {
  step: number;
  value: number;
  /** Milliseconds since the epoch, when DVCLive logged with `timestamp=True`. */
  timestamp?: number;
}

/** Python's `float()` spellings DVCLive may write: `nan`, `inf`, `-inf`, `Infinity`. */
function parseNumber(text: string): number | undefined {
  const t = text.trim().toLowerCase();
  if (t === 'nan' || t === '-nan' || t === '+nan') return Number.NaN;
  if (/^[+]?inf(inity)?$/.test(t)) return Number.POSITIVE_INFINITY;
  if (/^-inf(inity)?$/.test(t)) return Number.NEGATIVE_INFINITY;
  if (t === '' || !/^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/.test(t)) return undefined;
  return Number(t);
}

/** Rows of one DVCLive tsv; rows whose value is not a number (DVCLive allows strings) are left out. */
export function parseMetricTsv(text: string): MetricPoint[] {
  const [header, ...rows] = text.split(/\r?\n/).filter((line) => line !== '');
  if (!header) return [];
  const columns = header.split('\t');
  const stepAt = columns.indexOf('step');
  const timestampAt = columns.indexOf('timestamp');
  // The value column is named after the metric's basename; it is the one that is neither step nor timestamp.
  const valueAt = columns.findIndex((_column, i) => i !== stepAt && i !== timestampAt);
  const points: MetricPoint[] = [];
  for (const row of rows) {
    const cells = row.split('\t');
    const value = parseNumber(cells[valueAt] ?? '');
    if (value === undefined) continue;
    const step = stepAt >= 0 ? parseNumber(cells[stepAt] ?? '') : undefined;
    const timestamp = timestampAt >= 0 ? parseNumber(cells[timestampAt] ?? '') : undefined;
    points.push({ step: step ?? 0, value, ...(timestamp !== undefined ? { timestamp } : {}) });
  }
  return points;
}

/** Every metric's history under a DVCLive directory, keyed by its name (`train/loss`). */
export function readDvcliveHistory(dvcliveDir: string): Record<string, MetricPoint[]> {
  const base = path.join(dvcliveDir, 'plots', 'metrics');
  const history: Record<string, MetricPoint[]> = {};
  const walk = (dir: string, prefix: string): void => {
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries.sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full, `${prefix}${entry.name}/`);
      else if (entry.name.endsWith('.tsv')) history[`${prefix}${entry.name.slice(0, -4)}`] = parseMetricTsv(readFileSync(full, 'utf8'));
    }
  };
  walk(base, '');
  return history;
}

/**
 * DVCLive directories a stage declares: an `outs`/`metrics`/`plots` folder holding
 * `plots/metrics/`, or the folder of a declared `metrics.json` that has one beside it.
 */
export function dvcliveDirsOf(stage: Stage): string[] {
  const dirs = new Set<string>();
  for (const output of [...stage.outs, ...stage.metrics, ...stage.plots]) {
    const abs = path.resolve(stage.wdir, output.path);
    for (const candidate of [abs, path.dirname(abs)]) {
      if (statSync(path.join(candidate, 'plots', 'metrics'), { throwIfNoEntry: false })?.isDirectory()) dirs.add(candidate);
    }
  }
  return [...dirs];
}
