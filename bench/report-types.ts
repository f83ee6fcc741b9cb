// What each benchmark hands to the report: its own markdown section and its targets, judged.

export interface Target {
  /** e.g. "1. Per-stage overhead" */
  benchmark: string;
  /** the target, as BENCHMARKS.md states it */
  target: string;
  /** the measured ratio or amount, with the numbers it comes from */
  measured: string;
  /** undefined: not measured (e.g. a contender failed) */
  met: boolean | undefined;
}

export interface Section {
  title: string;
  /** markdown: what was measured and how, then the numbers */
  body: string[];
  targets: Target[];
  /** markdown, one bullet each: where the time of this section's unmet targets goes, from its measurements */
  heldBack?: string[];
}

export interface BenchContext {
  quick: boolean;
  serverUri: string;
  serverDbPath: string;
  serverArtifactsDir: string;
  log: (line: string) => void;
}

/** A markdown table from a header row and body rows. */
export function table(header: string[], rows: string[][]): string[] {
  return [`| ${header.join(' | ')} |`, `| ${header.map(() => '---').join(' | ')} |`, ...rows.map((row) => `| ${row.join(' | ')} |`)];
}

export function ratio(value: number, digits = 2): string {
  return Number.isFinite(value) ? `${value.toFixed(digits)}×` : 'n/a';
}

export function pct(value: number, digits = 1): string {
  return Number.isFinite(value) ? `${(value * 100).toFixed(digits)}%` : 'n/a';
}
