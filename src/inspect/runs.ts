// `mlrun runs`: the latest launches, newest first, each with its stages beneath it in pipeline
// order, and the runs that stand alone; a few metrics as columns, and with --system what each cost.
import { UsageError } from '../settings/usage-error.ts';
import type { Run } from '../tracking/store.ts';
import { formatDuration, formatNumber, formatTime, outputStyle, renderTable, statusCell, type Cell, type Column, type Style } from './format.ts';
import { isLaunch, type Entry, type Stage } from './launches.ts';
import { withSource, type SourceOptions } from './source.ts';

export interface RunsOptions extends SourceOptions {
  limit: string;
  all?: boolean;
  metrics?: string;
  system?: boolean;
  json?: boolean;
}

/**
 * The columns of --system: the summary every stage's run gets (system/system-metrics.ts). A
 * launch shows its stages' total CPU and their largest peak; GPU only where a run has it.
 */
const COST_COLUMNS = [
  { key: 'system/process_cpu_seconds', header: 'CPU s', ofLaunch: (values: number[]) => values.reduce((sum, value) => sum + value, 0) },
  { key: 'system/process_peak_rss_megabytes', header: 'Peak RSS MB', ofLaunch: (values: number[]) => Math.max(...values) },
  { key: 'system/process_peak_gpu_memory_megabytes', header: 'Peak GPU MB', ofLaunch: (values: number[]) => Math.max(...values) },
];
type CostColumn = (typeof COST_COLUMNS)[number];

/** Metric columns when --metrics does not choose: the first keys of the newest launch's summary. */
const DEFAULT_METRIC_COLUMNS = 4;

export async function runsCommand(options: RunsOptions): Promise<number> {
  const limit = Number(options.limit);
  if (!Number.isInteger(limit) || limit < 1) throw new UsageError(`--limit must be a positive whole number, not '${options.limit}'`);
  const chosenMetrics = options.metrics?.split(',').map((key) => key.trim()).filter(Boolean);
  return withSource(options, async (source) => {
    // One more than shown: whether there are older ones to mention.
    const entries = await source.latest(options.all ? undefined : limit + 1);
    const shown = options.all ? entries : entries.slice(0, limit);
    if (options.json) {
      process.stdout.write(`${JSON.stringify(shown.map(entryJson), null, 2)}\n`);
      return 0;
    }
    const style = outputStyle(process.env);
    const metrics = chosenMetrics ?? defaultMetrics(shown);
    const costs = options.system ? costColumnsOf(shown) : [];
    const rows = shown.flatMap((entry) => rowsOf(entry, metrics, style).map((row, index) => [...row, ...costCells(entry, index, costs)]));
    const lines = shown.length === 0 ? [] : renderTable([...columnsOf(metrics), ...costs.map((cost): Column => ({ header: cost.header, align: 'right' }))], rows, style);
    if (lines.length > 0) process.stdout.write(`${lines.join('\n')}\n`);
    if (entries.length > shown.length) process.stderr.write(`mlrun: older runs not shown (--limit ${limit}); --all shows every one\n`);
    return 0;
  });
}

function defaultMetrics(entries: Entry[]): string[] {
  const launch = entries.find((entry) => isLaunch(entry.run)) ?? entries[0];
  return Object.keys(launch?.run.metrics ?? {}).sort().slice(0, DEFAULT_METRIC_COLUMNS);
}

/** The cost columns some shown run has a value for. */
function costColumnsOf(entries: Entry[]): CostColumn[] {
  const runs = entries.flatMap((entry) => [entry.run, ...entry.stages.flatMap((stage) => (stage.run ? [stage.run] : []))]);
  return COST_COLUMNS.filter((cost) => runs.some((run) => cost.key in run.metrics));
}

/** Row `index` of an entry: 0 is its run, then its stages. */
function costCells(entry: Entry, index: number, costs: CostColumn[]): Cell[] {
  if (index > 0) return costs.map((cost) => costCell(entry.stages[index - 1]!.run?.metrics[cost.key]));
  return costs.map((cost) => costCell(entry.run.metrics[cost.key] ?? launchCost(entry, cost)));
}

/** A launch's own run measures none of its stages: it sums them up. */
function launchCost(entry: Entry, cost: CostColumn): number | undefined {
  const values = entry.stages.flatMap((stage) => (stage.run && cost.key in stage.run.metrics ? [stage.run.metrics[cost.key]!] : []));
  return values.length === 0 ? undefined : cost.ofLaunch(values);
}

function costCell(value: number | undefined): Cell {
  return { text: value === undefined ? '-' : formatNumber(value) };
}

function columnsOf(metrics: string[]): Column[] {
  return [
    { header: 'Run' },
    { header: 'Status' },
    { header: 'Started' },
    { header: 'Duration', align: 'right' },
    ...metrics.map((key): Column => ({ header: key, align: 'right', optional: true })),
  ];
}

function rowsOf(entry: Entry, metrics: string[], style: Style): Cell[][] {
  return [runRow(entry.run.info.runName, entry.run, metrics, style), ...entry.stages.map((stage) => stageRow(stage, metrics, style))];
}

function stageRow(stage: Stage, metrics: string[], style: Style): Cell[] {
  if (stage.run) return runRow(`  ${stage.name}`, stage.run, metrics, style);
  return [{ text: `  ${stage.name}` }, statusCell('SKIPPED', style), { text: '-' }, { text: '-' }, ...metrics.map(() => ({ text: '-' }))];
}

function runRow(name: string, run: Run, metrics: string[], style: Style): Cell[] {
  const { startTime, endTime, status } = run.info;
  const duration = endTime !== undefined ? formatDuration(endTime - startTime) : status === 'RUNNING' ? formatDuration(Date.now() - startTime) : '-';
  return [
    { text: name },
    statusCell(status, style),
    { text: formatTime(startTime) },
    { text: duration },
    ...metrics.map((key) => ({ text: key in run.metrics ? formatNumber(run.metrics[key]!) : '-' })),
  ];
}

/** The documented shape of `mlrun runs --json` (README). */
function entryJson(entry: Entry) {
  return {
    ...runJson(entry.run),
    launch: isLaunch(entry.run),
    stages: entry.stages.map((stage) =>
      stage.run ? runJson(stage.run) : { name: stage.name, status: stage.status, producedBy: stage.producedBy ?? null },
    ),
  };
}

export function runJson(run: Run) {
  const { runId, runName, experimentId, status, startTime, endTime } = run.info;
  return { runId, name: runName, experimentId, status, startTime, endTime: endTime ?? null, metrics: run.metrics };
}
