/** A stage's declared `metrics:` files (JSON, TOML, else YAML, as DVC reads them). */
import type { Data } from './data.ts';
import { isMap } from './data.ts';
import { readDataFile } from './files.ts';

/**
 * Numeric leaves, nested keys joined with `/`: the separator DVCLive uses for metric names
 * (`train/loss` is written as `{"train": {"loss": …}}`), so both sources name a metric alike, and
 * MLflow's UI groups by it. Bools, strings and lists are not metrics. NaN/±Infinity are kept.
 */
function flattenMetrics(data: Data, prefix = '', into: Record<string, number> = {}): Record<string, number> {
  if (isMap(data)) {
    for (const [k, v] of Object.entries(data)) flattenMetrics(v, prefix ? `${prefix}/${k}` : k, into);
  } else if (prefix && typeof data === 'bigint') {
    into[prefix] = Number(data);
  } else if (prefix && typeof data === 'number') {
    into[prefix] = data;
  }
  return into;
}

/** Throws `DvcError` when the file is missing or malformed. */
export function readMetricsFile(file: string): Record<string, number> {
  return flattenMetrics(readDataFile(file));
}
