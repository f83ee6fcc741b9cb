// `mlrun show <run-id | name>`: one run in full: what it is, its params, latest metrics, the tags
// worth reading, its parent and stages, its artifacts, and its page in the MLflow UI on a server.
import { formatBytes } from '../report.ts';
import type { ArtifactFile, Run } from '../tracking/store.ts';
import { formatDuration, formatNumber, formatTime, outputStyle, paint, renderTable, statusCell, type Cell, type Column, type Style } from './format.ts';
import { groupLaunches, type Stage } from './launches.ts';
import { runJson } from './runs.ts';
import { withSource, type SourceOptions } from './source.ts';

export interface ShowOptions extends SourceOptions {
  json?: boolean;
}

/** Tags that say nothing more than what is shown elsewhere, or only mlrun's own bookkeeping. */
const UNSHOWN_TAGS = /^(mlflow\.runName|mlflow\.parentRunId|mlflow\.log-model\.history|mlrun\.pid|mlrun\.sync\..*|dvc\.skipped_stages)$/;

export async function showCommand(idOrName: string, options: ShowOptions): Promise<number> {
  return withSource(options, async (source) => {
    const run = await source.run(idOrName);
    const parentId = run.tags['mlflow.parentRunId'];
    const [parent, children, artifacts] = await Promise.all([
      parentId ? source.store!.getRun(parentId) : undefined,
      source.children(run),
      source.store!.listArtifacts(run.info.runId),
    ]);
    // The launch's stages as `mlrun runs` shows them: in pipeline order, skipped ones too.
    const stages = groupLaunches([run, ...children]).find((entry) => entry.run === run)?.stages ?? [];
    const url = source.runUrl(run);
    if (options.json) {
      const shown = {
        ...runJson(run),
        artifactUri: run.info.artifactUri,
        params: run.params,
        tags: run.tags,
        parent: parent ? { runId: parent.info.runId, name: parent.info.runName } : null,
        stages: stages.map((stage) => (stage.run ? runJson(stage.run) : { name: stage.name, status: stage.status, producedBy: stage.producedBy ?? null })),
        artifacts,
        url: url ?? null,
      };
      process.stdout.write(`${JSON.stringify(shown, null, 2)}\n`);
      return 0;
    }
    const style = outputStyle(process.env);
    const lines = [
      ...pairs([
        ['Run', `${run.info.runName} (${run.info.runId})`],
        ['Status', statusLine(run, style)],
        ['Started', `${formatTime(run.info.startTime)}${run.info.endTime === undefined ? '' : `, took ${formatDuration(run.info.endTime - run.info.startTime)}`}`],
        ['Experiment', run.info.experimentId],
        ...(parent ? [['Parent', `${parent.info.runName} (${parent.info.runId})`] as [string, string]] : []),
        ...(url ? [['Link', url] as [string, string]] : []),
      ]),
      ...section('Params', Object.entries(run.params).sort(byKey)),
      ...section('Metrics', Object.entries(run.metrics).sort(byKey).map(([key, value]) => [key, formatNumber(value)])),
      ...section('Tags', Object.entries(run.tags).filter(([key]) => !UNSHOWN_TAGS.test(key)).sort(byKey)),
      ...(stages.length > 0 ? ['', 'Stages', ...indent(stageTable(stages, style))] : []),
      ...section('Artifacts', artifacts.map((file: ArtifactFile) => [file.path, formatBytes(file.size)])),
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
    return 0;
  });
}

const byKey = (a: [string, unknown], b: [string, unknown]) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0);

function statusLine(run: Run, style: Style): string {
  const cell = statusCell(run.info.status, style);
  const text = paint(cell.text, cell, style);
  const code = run.tags['mlrun.exit_code'];
  return code === undefined ? text : `${text}, exit code ${code}`;
}

function pairs(entries: [string, string][]): string[] {
  const width = Math.max(0, ...entries.map(([key]) => key.length));
  return entries.map(([key, value]) => `${key.padEnd(width)}  ${value}`);
}

/** A titled block of key-value lines; nothing for no entries. */
function section(title: string, entries: [string, string][]): string[] {
  return entries.length === 0 ? [] : ['', title, ...indent(pairs(entries))];
}

function indent(lines: string[]): string[] {
  return lines.map((line) => `  ${line}`);
}

function stageTable(stages: Stage[], style: Style): string[] {
  const columns: Column[] = [{ header: 'Stage' }, { header: 'Status' }, { header: 'Run' }];
  const rows: Cell[][] = stages.map((stage) => [
    { text: stage.name },
    statusCell(stage.status, style),
    { text: stage.run?.info.runId ?? (stage.producedBy ? `outputs from ${stage.producedBy}` : '-') },
  ]);
  return renderTable(columns, rows, { ...style, width: style.width - 2 });
}
