// `mlrun runs`, `mlrun show` and `mlrun diff` read with the real build/mlrun, on a real mlflow
// server and on the embedded mlflow.db alike. Two launches of a real `dvc repro` (a foreach stage;
// the second launch changes one param, so two metrics change, a stage fails and one is skipped),
// then the same questions of both stores. Paging: a server holding more runs than one page.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { before, describe, test } from 'node:test';
import { DvcProject, dvcBinary, stagesRan } from '../support/dvc-project.ts';
import { cleanEnv, runMlrun, type MlrunResult } from '../support/mlrun.ts';
import { mlrunBinary } from '../support/paths.ts';
import { tempProject } from '../support/project.ts';
import { sharedServerUri } from '../support/shared-server.ts';
import { storeBackends } from '../support/store-backends.ts';

const FILES: Record<string, string> = {
  'dvc.yaml': `stages:
  prepare:
    cmd: mlrun -- sh prepare.sh
    deps: [prepare.sh]
    outs: [data.txt]
  train:
    foreach: [1, 2]
    do:
      cmd: mlrun -- sh train.sh \${item} \${train.lr}
      deps: [train.sh, data.txt]
      params: [train.lr]
      metrics:
        - m/train-\${item}.json:
            cache: false
  evaluate:
    cmd: mlrun -- sh evaluate.sh
    deps: [evaluate.sh, m/train-1.json, m/train-2.json]
`,
  'params.yaml': 'train:\n  lr: 0.1\n',
  'prepare.sh': 'echo rows > data.txt\n',
  'train.sh': `mkdir -p m && awk -v i="$1" -v lr="$2" 'BEGIN { printf "{\\"score\\": %s}\\n", i * lr }' > m/train-$1.json\n`,
  // Fails once the file `fail` exists.
  'evaluate.sh': 'test ! -e fail\n',
};

/** What `mlrun runs --json` prints for a run (README "Reading runs"). */
interface RunJson {
  runId: string;
  name: string;
  experimentId: string;
  status: string;
  startTime: number;
  endTime: number | null;
  metrics: Record<string, number>;
}

interface EntryJson extends RunJson {
  launch: boolean;
  stages: (RunJson | { name: string; status: 'SKIPPED'; producedBy: string | null })[];
}

const SCORES = { 'm/train-1.json:score': 0.1, 'm/train-2.json:score': 0.2 };
const CHANGED_SCORES = { 'm/train-1.json:score': 0.2, 'm/train-2.json:score': 0.4 };

/** Start times and durations vary: each becomes one word, and runs of spaces one space. */
function normalized(stdout: Buffer): string[] {
  return stdout
    .toString()
    .replace(/\d{4}-\d\d-\d\d \d\d:\d\d:\d\d/g, 'TIME')
    .replace(/\b\d+\.\ds\b/g, 'DURATION')
    .split('\n')
    .map((line) => line.replace(/(?<=\S) {2,}/g, ' | '));
}

function parsed<T>(result: MlrunResult): T {
  assert.equal(result.code, 0, result.stderr);
  return JSON.parse(result.stdout.toString()) as T;
}

const stores = [
  { name: 'a real mlflow server', uri: () => sharedServerUri() },
  { name: 'the embedded mlflow.db', uri: async () => '' },
];

for (const store of stores) {
  describe(`mlrun runs, show and diff on ${store.name}`, () => {
    let project: DvcProject;
    let uri = '';
    const read = (args: string[], env: Record<string, string> = {}) => runMlrun(args, { cwd: project.dir, env: { ...project.env, ...env } });
    let launches: EntryJson[] = [];

    before(async () => {
      uri = await store.uri();
      const dir = tempProject('runs-commands', FILES);
      fs.rmSync(path.join(dir, '.dvc'), { recursive: true });
      fs.writeFileSync(path.join(dir, '.gitignore'), 'mlflow.db\nmlruns/\n');
      project = new DvcProject(dir, { uri, experimentName: `runs-commands-${process.pid}-${Date.now()}` });
      project.run('git', ['init', '-q']);
      project.run(dvcBinary, ['init', '-q']);
      project.commit('pipeline');
      assert.deepEqual(stagesRan(await project.pipeline(['--', 'dvc', 'repro'])), ['prepare', 'train@1', 'train@2', 'evaluate']);
      fs.writeFileSync(path.join(dir, 'params.yaml'), 'train:\n  lr: 0.2\n');
      fs.writeFileSync(path.join(dir, 'fail'), '');
      // DVC exits 255 when a stage fails, and mlrun pipeline as its command did.
      assert.deepEqual(stagesRan(await project.pipeline(['--', 'dvc', 'repro'], 255)), ['train@1', 'train@2', 'evaluate']);
      launches = parsed<EntryJson[]>(await read(['runs', '--json']));
    });

    test('runs: the launches newest first, each with its stages in pipeline order, colour off when not a terminal', async () => {
      const result = await read(['runs']);
      assert.equal(result.code, 0, result.stderr);
      assert.equal(result.stderr, '');
      assert.doesNotMatch(result.stdout.toString(), /\x1b\[/);
      assert.deepEqual(normalized(result.stdout), [
        'Run | Status | Started | Duration | m/train-1.json:score | m/train-2.json:score',
        'repro TIME | FAILED | TIME | DURATION | 0.2 | 0.4',
        '  train@1 | FINISHED | TIME | DURATION | - | -',
        '  train@2 | FINISHED | TIME | DURATION | - | -',
        '  evaluate | FAILED | TIME | DURATION | - | -',
        '  prepare | SKIPPED | - | - | - | -',
        'repro TIME | FINISHED | TIME | DURATION | 0.1 | 0.2',
        '  prepare | FINISHED | TIME | DURATION | - | -',
        '  train@1 | FINISHED | TIME | DURATION | - | -',
        '  train@2 | FINISHED | TIME | DURATION | - | -',
        '  evaluate | FINISHED | TIME | DURATION | - | -',
        '',
      ]);
      // Fitted to 60 columns: the metric columns go, then the names are cut short.
      const narrow = await read(['runs', '--limit', '1'], { COLUMNS: '60' });
      assert.equal(narrow.stderr, 'mlrun: older runs not shown (--limit 1); --all shows every one\n');
      const lines = narrow.stdout.toString().split('\n');
      assert.deepEqual(lines.map((line) => line.length <= 60), lines.map(() => true), narrow.stdout.toString());
      assert.equal(normalized(narrow.stdout)[0], 'Run | Status | Started | Duration');
      // 60 = the name cut to 19 + Status 8 + Started 19 + Duration 8 + three gaps of 2.
      assert.match(lines[1]!, /^repro .{12}… {2}FAILED {4}\d{4}-.{15} {2} +\d+\.\ds$/);
      assert.equal(lines[1]!.length, 60);
    });

    test('on a terminal: colour and status symbols, unless NO_COLOR is set', () => {
      // `script` gives mlrun a pseudo-terminal as its stdout.
      const onTerminal = (extra: Record<string, string>) =>
        execFileSync('script', ['-qec', `${mlrunBinary} runs --limit 1`, '/dev/null'], { cwd: project.dir, env: cleanEnv({ ...project.env, ...extra }), encoding: 'utf8' });
      const colored = onTerminal({}).split('\r\n');
      assert.match(colored[1]!, /^repro .* {2}\x1b\[31m✗ FAILED\x1b\[0m {4}\d{4}-/);
      assert.match(colored[2]!, /^ {2}train@1 .* {2}\x1b\[32m✓ FINISHED\x1b\[0m {2}\d{4}-/);
      assert.doesNotMatch(onTerminal({ NO_COLOR: '1' }), /\x1b\[|✗|✓/);
    });

    test('runs --json: each launch with its stages, statuses, metrics and the skipped stage\'s producer', () => {
      assert.equal(launches.length, 2);
      const [second, first] = launches as [EntryJson, EntryJson];
      const stageNames = (entry: EntryJson) => entry.stages.map((stage) => `${stage.name} ${stage.status}`);
      assert.deepEqual(stageNames(first), ['prepare FINISHED', 'train@1 FINISHED', 'train@2 FINISHED', 'evaluate FINISHED']);
      assert.deepEqual(stageNames(second), ['train@1 FINISHED', 'train@2 FINISHED', 'evaluate FAILED', 'prepare SKIPPED']);
      assert.deepEqual([first.launch, first.status, first.metrics], [true, 'FINISHED', SCORES]);
      assert.deepEqual([second.launch, second.status, second.metrics], [true, 'FAILED', CHANGED_SCORES]);
      assert.match(first.name, /^repro \d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
      assert.ok(second.startTime > first.startTime && first.endTime! >= first.startTime);
      const firstPrepare = first.stages[0] as RunJson;
      assert.deepEqual(second.stages[3], { name: 'prepare', status: 'SKIPPED', producedBy: firstPrepare.runId });
      // Beside its results, every stage has what it cost (system/…, see system-metrics.test.ts).
      const results = (stage: RunJson) => Object.fromEntries(Object.entries(stage.metrics).filter(([key]) => !key.startsWith('system/')));
      assert.deepEqual(results(second.stages[0] as RunJson), { score: 0.2 });
      assert.deepEqual(results(second.stages[1] as RunJson), { score: 0.4 });
      assert.deepEqual(Object.keys((second.stages[0] as RunJson).metrics).filter((key) => key.startsWith('system/')).sort(), [
        'system/process_cpu_seconds',
        'system/process_peak_rss_megabytes',
      ]);
      assert.equal(new Set([first, second, ...first.stages, ...second.stages].map((run) => ('runId' in run ? run.runId : run.name))).size, 10);
    });

    test('show: a stage with its parent, tags and artifacts; the launch with its stages; by id or by name', async () => {
      const [second, first] = launches as [EntryJson, EntryJson];
      const prepare = first.stages[0] as RunJson;
      const result = await read(['show', prepare.runId]);
      assert.equal(result.code, 0, result.stderr);
      const text = result.stdout.toString();
      const link = uri ? `${uri}/#/experiments/${prepare.experimentId}/runs/${prepare.runId}` : undefined;
      assert.deepEqual(text.split('\n').slice(0, 6), [
        `Run         prepare (${prepare.runId})`,
        'Status      FINISHED, exit code 0',
        text.split('\n')[2]!,
        `Experiment  ${prepare.experimentId}`,
        `Parent      ${first.name} (${first.runId})`,
        ...(link ? [`Link        ${link}`] : ['']),
      ]);
      // The stage printed nothing: it has no output log.
      assert.ok(text.endsWith('\nArtifacts\n  data.txt  5 B\n'), text);
      assert.match(text, /\n {2}dvc\.stage {17}prepare\n/);
      assert.doesNotMatch(text, /mlrun\.pid|mlflow\.runName/);

      const shown = parsed<{ artifacts: unknown; parent: unknown; url: unknown; params: unknown; stages: unknown[] }>(await read(['show', '--json', prepare.runId]));
      assert.deepEqual(shown.artifacts, [{ path: 'data.txt', size: 5 }]);
      assert.deepEqual(shown.parent, { runId: first.runId, name: first.name });
      assert.equal(shown.url, link ?? null);
      assert.deepEqual(shown.stages, []);

      const launch = await read(['show', second.name]);
      assert.equal(launch.code, 0, launch.stderr);
      const stages = launch.stdout.toString().split('\nStages\n')[1]!.split('\n\n')[0]!.split('\n');
      assert.deepEqual(stages, [
        '  Stage     Status    Run',
        `  train@1   FINISHED  ${(second.stages[0] as RunJson).runId}`,
        `  train@2   FINISHED  ${(second.stages[1] as RunJson).runId}`,
        `  evaluate  FAILED    ${(second.stages[2] as RunJson).runId}`,
        `  prepare   SKIPPED   outputs from ${prepare.runId}`,
      ]);
      assert.match(launch.stdout.toString(), /\nParams\n {2}train\.lr {2}0\.2\n\nMetrics\n {2}m\/train-1\.json:score {2}0\.2\n {2}m\/train-2\.json:score {2}0\.4\n/);
      const files = parsed<{ artifacts: { path: string }[] }>(await read(['show', '--json', second.runId])).artifacts.map((file) => file.path);
      // The second launch ran from an uncommitted change of params.yaml.
      assert.deepEqual(files, ['dvc.lock', 'dvc.yaml', 'mlrun/git.diff', 'params.yaml']);
    });

    test('diff: the last two launches by default, as dvc params diff and dvc metrics diff print them; --json', async () => {
      const [second, first] = launches as [EntryJson, EntryJson];
      const result = await read(['diff']);
      assert.equal(result.code, 0, result.stderr);
      const [a, b] = [first.name, second.name];
      assert.equal(a.length, b.length);
      assert.equal(
        result.stdout.toString(),
        [
          `Param     ${a}  ${b}`,
          `train.lr  ${'0.1'.padEnd(a.length)}  0.2`,
          '',
          `Metric                ${a}  ${b}  Change`,
          `m/train-1.json:score  ${'0.1'.padEnd(a.length)}  ${'0.2'.padEnd(b.length)}  0.1`,
          `m/train-2.json:score  ${'0.2'.padEnd(a.length)}  ${'0.4'.padEnd(b.length)}  0.2`,
          '',
        ].join('\n'),
      );
      const expected = {
        runs: [{ runId: first.runId, name: a }, { runId: second.runId, name: b }],
        params: { 'train.lr': { old: '0.1', new: '0.2' } },
        metrics: {
          'm/train-1.json:score': { old: 0.1, new: 0.2, diff: 0.1 },
          'm/train-2.json:score': { old: 0.2, new: 0.4, diff: 0.2 },
        },
      };
      assert.deepEqual(parsed(await read(['diff', '--json'])), expected);
      assert.deepEqual(parsed(await read(['diff', '--json', first.runId, b])), expected);
      // Two stages: the same params, one metric changed; --all shows what did not change too.
      const [train1, train2] = [first.stages[1] as RunJson, second.stages[0] as RunJson];
      assert.deepEqual(parsed(await read(['diff', '--json', '--all', train1.runId, train2.runId])), {
        runs: [{ runId: train1.runId, name: 'train@1' }, { runId: train2.runId, name: 'train@1' }],
        params: { 'train.lr': { old: '0.1', new: '0.2' } },
        metrics: { score: { old: 0.1, new: 0.2, diff: 0.1 } },
      });
    });

    test('runs --system and diff --system: what each stage cost; a launch its stages\' total CPU and largest peak', async () => {
      const result = await read(['runs', '--system', '--limit', '1']);
      assert.equal(result.code, 0, result.stderr);
      const second = launches[0]!;
      const ran = second.stages.filter((stage): stage is RunJson => 'runId' in stage);
      // CPU seconds are always there; a peak RSS only when a sample caught the command alive.
      const cpu = (run: RunJson) => run.metrics['system/process_cpu_seconds']!;
      const rss = (run: RunJson) => run.metrics['system/process_peak_rss_megabytes'];
      const shown = (value: number | undefined) => (value === undefined ? '-' : String(Number(value.toFixed(5))));
      const peaks = ran.flatMap((run) => rss(run) ?? []);
      assert.deepEqual(normalized(result.stdout), [
        'Run | Status | Started | Duration | m/train-1.json:score | m/train-2.json:score | CPU s | Peak RSS MB',
        `repro TIME | FAILED | TIME | DURATION | 0.2 | 0.4 | ${shown(ran.reduce((sum, run) => sum + cpu(run), 0))} | ${shown(peaks.length ? Math.max(...peaks) : undefined)}`,
        ...ran.map((run) => `  ${run.name} | ${run.status} | TIME | DURATION | - | - | ${shown(cpu(run))} | ${shown(rss(run))}`),
        '  prepare | SKIPPED | - | - | - | - | - | -',
        '',
      ]);
      const [train1, train2] = [(launches[1]!.stages[1] as RunJson), ran[0]!];
      const diff = parsed<{ metrics: Record<string, unknown> }>(await read(['diff', '--json', '--system', '--all', train1.runId, train2.runId]));
      const keys = new Set([...Object.keys(train1.metrics), ...Object.keys(train2.metrics)]);
      assert.deepEqual(Object.keys(diff.metrics), [...keys].sort());
      assert.ok(keys.has('system/process_cpu_seconds'));
      assert.deepEqual(diff.metrics['system/process_cpu_seconds'], { old: cpu(train1), new: cpu(train2), diff: cpu(train2) - cpu(train1) });
    });

    test('an unknown run or experiment is one line and exit 1; a usage error exit 2', async () => {
      const unknown = await read(['show', 'no-such-run']);
      assert.equal(unknown.code, 1);
      assert.match(unknown.stderr, /^mlrun: no run with the id or name 'no-such-run' in \S+\n$/);
      const diff = await read(['diff', 'no-such-run', launches[0]!.runId]);
      assert.equal(diff.code, 1);
      assert.deepEqual(diff.messages, [unknown.messages[0]]);
      const experiment = await read(['runs', '--experiment', 'no-such-experiment-anywhere']);
      assert.equal(experiment.code, 1);
      assert.match(experiment.stderr, /^mlrun: no experiment 'no-such-experiment-anywhere' in \S+\n$/);
      for (const args of [['diff', 'one'], ['runs', '--limit', '0'], ['show'], ['runs', '--colour']]) {
        const usage = await read(args);
        assert.equal(usage.code, 2, args.join(' '));
        assert.equal(usage.messages.length, 1, usage.stderr);
      }
    });

    test('an experiment without runs: an empty answer, exit 0', async () => {
      const env = { MLFLOW_EXPERIMENT_NAME: `runs-commands-empty-${process.pid}-${Date.now()}` };
      const runs = await read(['runs'], env);
      assert.deepEqual([runs.code, runs.stdout.toString(), runs.stderr], [0, '', '']);
      assert.deepEqual(parsed(await read(['runs', '--json'], env)), []);
      const diff = await read(['diff', '--json'], env);
      assert.deepEqual(parsed(diff), { runs: [], params: {}, metrics: {} });
    });
  });
}

test('the embedded store: a project without mlflow.db lists nothing and is left without one', async () => {
  const dir = tempProject('runs-none');
  const result = await runMlrun(['runs', '--json'], { cwd: dir });
  assert.deepEqual([result.code, result.stdout.toString(), result.stderr], [0, '[]\n', '']);
  const show = await runMlrun(['show', '0123456789abcdef0123456789abcdef'], { cwd: dir });
  assert.equal(show.code, 1);
  assert.deepEqual(fs.readdirSync(dir), ['.dvc']);
});

test('a server holding more runs than one page of runs/search: every stage of a launch, in order', async (t) => {
  const backend = await storeBackends[0]!.open();
  const { store } = backend;
  const name = `runs-commands-paging-${process.pid}-${Date.now()}`;
  const experimentId = await store.createExperiment(name);
  const base = Date.UTC(2026, 0, 1);
  const create = (runName: string, startTime: number, tag: { key: string; value: string }) =>
    store.createRun({ experimentId, runName, startTime, userId: 'u', tags: [tag] }).then((info) => info.runId);
  // The middle launch has more stages than one page holds.
  const STAGES = [2, 1003, 3];
  const parentIds = await inTurns(STAGES.map((_, launch) => () => create(`launch-${launch}`, base + launch * 10_000_000, { key: 'mlrun.role', value: 'pipeline' })));
  // Created last stage first: the order shown is the order they started.
  await inTurns(
    parentIds.flatMap((parentId, launch) =>
      Array.from({ length: STAGES[launch]! }, (_, index) => STAGES[launch]! - 1 - index).map(
        (stage) => () => create(`stage-${stage}`, base + launch * 10_000_000 + (stage + 1) * 1000, { key: 'mlflow.parentRunId', value: parentId }),
      ),
    ),
  );
  const env = { MLFLOW_TRACKING_URI: backend.uri };
  const started = Date.now();
  const entries = parsed<EntryJson[]>(await runMlrun(['runs', '--json', '--experiment', name], { env }));
  t.diagnostic(`mlrun runs --json: ${STAGES.reduce((a, b) => a + b + 1)} runs in ${Date.now() - started} ms`);
  assert.deepEqual(entries.map((entry) => entry.name), ['launch-2', 'launch-1', 'launch-0']);
  entries.forEach((entry, index) => {
    const count = STAGES[STAGES.length - 1 - index]!;
    assert.deepEqual(entry.stages.map((stage) => stage.name), Array.from({ length: count }, (_, i) => `stage-${i}`), entry.name);
  });
  // --all reads every run of the experiment, 1010 of them: two pages.
  const all = parsed<EntryJson[]>(await runMlrun(['runs', '--all', '--json', '--experiment', name], { env }));
  assert.deepEqual(all, entries);
  const limited = parsed<EntryJson[]>(await runMlrun(['runs', '--limit', '2', '--json', '--experiment', name], { env }));
  assert.deepEqual(limited.map((entry) => [entry.name, entry.stages.length]), [['launch-2', 3], ['launch-1', 1003]]);
  const shown = parsed<{ stages: unknown[] }>(await runMlrun(['show', '--json', '--experiment', name, 'launch-1'], { env }));
  assert.equal(shown.stages.length, 1003);
});

/** The calls, a few at a time: the server's database pool holds 5 connections (and 10 more). */
async function inTurns<T>(calls: (() => Promise<T>)[]): Promise<T[]> {
  const results: T[] = [];
  for (let start = 0; start < calls.length; start += 5) results.push(...(await Promise.all(calls.slice(start, start + 5).map((call) => call()))));
  return results;
}
