// 1. Per-stage overhead: `mlrun -- true` as DVC runs a stage (DVC_STAGE set, a git + DVC project,
// a parent run) against `true`, the Node floor and the Python recipe, on the server and on the
// embedded store. 5. Scaling: the same with 1, 10 and 100 declared outputs.
import fs from 'node:fs';
import path from 'node:path';
import { createExperiment, createRun } from './server.ts';
import { pct, ratio, table, type BenchContext, type Section } from './report-types.ts';
import {
  benchDir, cleanEnv, dvcProject, fmtMs, fmtStat, interleave, mlrunBinary, nodeBinary, python, remove, run,
  runIdFromVerbose, statOf, tempDir, type Contender, type Sample,
} from './util.ts';

const OUTPUT_COUNTS = [1, 10, 100];

export interface OverheadProject {
  dir: string;
  /** parent run in the project's mlflow.db */
  embeddedParent: string;
  /** parent run on the server */
  serverParent: string;
  /** a copy of dir with an uncommitted change to a tracked file */
  dirtyDir: string;
  /** what `mlrun pipeline` hands its stages beside the parent's id (MLRUN_PARENT_EXPERIMENT), per store */
  embeddedParentExperiment: string;
  serverParentExperiment: string;
}

/** A git + DVC project whose dvc.yaml has a no-op stage and stages with 1, 10, 100 outputs. */
export async function overheadProject(ctx: BenchContext): Promise<OverheadProject> {
  const dir = tempDir('overhead');
  await dvcProject(dir, { git: true });
  const stages: string[] = ['stages:', '  noop:', '    cmd: mlrun -- true'];
  for (const count of OUTPUT_COUNTS) {
    fs.mkdirSync(path.join(dir, `outs${count}`));
    stages.push(`  outs${count}:`, '    cmd: mlrun -- true', '    outs:');
    for (let i = 0; i < count; i++) {
      const file = `outs${count}/f${i}.txt`;
      fs.writeFileSync(path.join(dir, file), 'x'.repeat(1024));
      stages.push(`      - ${file}:`, '          cache: false');
    }
  }
  fs.writeFileSync(path.join(dir, 'dvc.yaml'), `${stages.join('\n')}\n`);
  fs.writeFileSync(path.join(dir, 'README.md'), '# bench\n');
  // Committed, as a project is when its pipeline runs from a commit: `mlrun -- true` records no
  // changes. The copy with an uncommitted edit measures what recording them adds.
  await run('git', ['add', '-A'], { cwd: dir });
  await run('git', ['-c', 'user.email=bench@example.com', '-c', 'user.name=bench', 'commit', '-q', '-m', 'stages'], { cwd: dir });
  // The pipeline prints what it hands its stages, so the stages below get exactly that.
  const parent = await run(mlrunBinary, ['pipeline', '-v', '--name', 'bench-parent', '--', 'sh', '-c', 'echo "$MLRUN_PARENT_EXPERIMENT"'], {
    cwd: dir,
    env: cleanEnv(),
    keepStdout: true,
  });
  const experiment = await createExperiment(ctx.serverUri, 'bench-overhead');
  const serverParent = await createRun(ctx.serverUri, experiment, 'bench-parent');
  // With the parent's run in its mlflow.db too.
  const dirtyDir = `${dir}-uncommitted`;
  fs.cpSync(dir, dirtyDir, { recursive: true });
  fs.appendFileSync(path.join(dirtyDir, 'README.md'), 'an uncommitted line\n');
  return {
    dir,
    dirtyDir,
    embeddedParent: runIdFromVerbose(parent.stderr),
    serverParent: serverParent.runId,
    embeddedParentExperiment: parent.stdout.trim(),
    serverParentExperiment: `${serverParent.runId}/${serverParent.experimentId}`,
  };
}

/** A stage's environment as DVC and `mlrun pipeline` set it, under the project's parent run. */
export function stageEnv(project: OverheadProject, store: 'embedded' | 'server', serverUri: string, stage = 'noop', dir = project.dir): NodeJS.ProcessEnv {
  return cleanEnv({
    DVC_STAGE: stage,
    DVC_ROOT: dir,
    MLRUN_PARENT_RUN_ID: store === 'server' ? project.serverParent : project.embeddedParent,
    MLRUN_PARENT_EXPERIMENT: store === 'server' ? project.serverParentExperiment : project.embeddedParentExperiment,
    MLFLOW_TRACKING_URI: store === 'server' ? serverUri : undefined,
  });
}

const timed = (file: string, args: string[], cwd: string, env: NodeJS.ProcessEnv) => async (): Promise<Sample> => {
  const result = await run(file, args, { cwd, env });
  return { ms: result.ms };
};

export async function overheadBenchmark(ctx: BenchContext, project: OverheadProject): Promise<Section> {
  const { dir } = project;
  const reps = ctx.quick ? 5 : 21;
  const pyReps = ctx.quick ? 2 : 5;
  const recipe = path.join(benchDir, 'recipe_stage.py');
  const pyEnv = (store: 'embedded' | 'server') =>
    cleanEnv({
      MLFLOW_TRACKING_URI: store === 'server' ? ctx.serverUri : `sqlite:///${path.join(dir, 'mlflow.db')}`,
      MLFLOW_PARENT_RUN: store === 'server' ? project.serverParent : project.embeddedParent,
      DVC_STAGE: 'noop',
    });
  const contenders: Contender[] = [
    { name: 'true', reps, warmup: 2, measure: timed('true', [], dir, cleanEnv()) },
    { name: 'node -e 0', reps, warmup: 2, measure: timed(nodeBinary, ['-e', '0'], dir, cleanEnv()) },
    { name: 'mlrun --version', reps, warmup: 2, measure: timed(mlrunBinary, ['--version'], dir, cleanEnv()) },
    { name: 'mlrun -- true (embedded)', reps, warmup: 2, measure: timed(mlrunBinary, ['--', 'true'], dir, stageEnv(project, 'embedded', ctx.serverUri, 'noop')) },
    { name: 'mlrun -- true (server)', reps, warmup: 2, measure: timed(mlrunBinary, ['--', 'true'], dir, stageEnv(project, 'server', ctx.serverUri, 'noop')) },
    ...(['embedded', 'server'] as const).map((store) => ({
      name: `mlrun -- true, uncommitted changes (${store})`,
      reps,
      warmup: 2,
      measure: timed(mlrunBinary, ['--', 'true'], project.dirtyDir, stageEnv(project, store, ctx.serverUri, 'noop', project.dirtyDir)),
    })),
    { name: 'Python recipe (embedded)', reps: pyReps, warmup: 1, measure: timed(python, [recipe], dir, pyEnv('embedded')) },
    { name: 'Python recipe (server)', reps: pyReps, warmup: 1, measure: timed(python, [recipe], dir, pyEnv('server')) },
  ];
  ctx.log('1. per-stage overhead');
  const samples = await interleave(contenders, ctx.log);
  const med = (name: string) => statOf(samples, name).median;
  const floorTrue = med('true');
  const floorNode = med('node -e 0');
  const rows = contenders.map((c) => {
    const s = statOf(samples, c.name);
    return [c.name, fmtStat(s), fmtMs(s.median - floorTrue), fmtMs(s.median - floorNode)];
  });
  const addedEmbedded = med('mlrun -- true (embedded)') - floorNode;
  const addedServer = med('mlrun -- true (server)') - floorNode;
  const recipeRatio = (store: string) => (med(`Python recipe (${store})`) - floorTrue) / (med(`mlrun -- true (${store})`) - floorTrue);
  const serverOverEmbedded = med('mlrun -- true (server)') - med('mlrun -- true (embedded)');
  const shareOfRecipe = med('mlrun -- true (server)') / med('Python recipe (server)');

  const body = [
    'Each contender is started by the harness (Node `spawn`, stdout piped and read) and timed from spawn to exit;',
    'rounds alternate the contenders (A B C … A B C …) after untimed warm-up runs.',
    "mlrun runs as DVC runs a stage: in a git + DVC project with everything committed, `DVC_STAGE=noop` (a stage with no outputs in dvc.yaml),",
    '`MLRUN_PARENT_RUN_ID` and `MLRUN_PARENT_EXPERIMENT` set to a parent run as `mlrun pipeline` sets them, default options',
    '(the output log is uploaded as `mlrun/output.log`).',
    'The Python recipe is `bench/recipe_stage.py`: `import mlflow`, `with mlflow.start_run(run_id=parent): with mlflow.start_run(nested=True): pass`,',
    'against the same server, or the same `mlflow.db` (`sqlite:///…`) for the embedded store.',
    '',
    ...table(['contender', 'median (min–max)', 'added over `true`', 'added over `node -e 0`'], rows),
    '',
    `Added time of the recipe ÷ added time of mlrun (both over \`true\`): embedded ${ratio(recipeRatio('embedded'), 1)}, server ${ratio(recipeRatio('server'), 1)}.`,
    '',
    `With an uncommitted change in the work tree (a copy of the project with one more line in a tracked README.md), a stage also records it: the tag \`mlrun.git.dirty\` and the diff as \`mlrun/git.diff\`. ` +
      `That adds ${fmtMs(med('mlrun -- true, uncommitted changes (embedded)') - med('mlrun -- true (embedded)'))} on the embedded store and ${fmtMs(med('mlrun -- true, uncommitted changes (server)') - med('mlrun -- true (server)'))} on the server (one more upload).`,
  ];

  // 5. Scaling: declared outputs (each a 1 KB file, uploaded as an artifact when the stage ends).
  const scaleReps = ctx.quick ? 2 : 5;
  const scaling: Contender[] = [];
  for (const store of ['embedded', 'server'] as const) {
    for (const count of OUTPUT_COUNTS) {
      scaling.push({
        name: `${store}, ${count} outputs`,
        reps: scaleReps,
        warmup: 1,
        measure: timed(mlrunBinary, ['--', 'true'], dir, stageEnv(project, store, ctx.serverUri, `outs${count}`)),
      });
    }
  }
  ctx.log('5. overhead with declared outputs');
  const scaled = await interleave(scaling, ctx.log);
  const scaleRows = (['embedded', 'server'] as const).map((store) => {
    const base = med(`mlrun -- true (${store})`);
    const cells = OUTPUT_COUNTS.map((count) => fmtStat(statOf(scaled, `${store}, ${count} outputs`)));
    const per = (statOf(scaled, `${store}, 100 outputs`).median - statOf(scaled, `${store}, 10 outputs`).median) / 90;
    return [store, fmtMs(base), ...cells, `${per.toFixed(2)} ms`];
  });
  const growth = (['embedded', 'server'] as const).map((store) => {
    const a = statOf(scaled, `${store}, 1 outputs`).median;
    const b = statOf(scaled, `${store}, 10 outputs`).median;
    const c = statOf(scaled, `${store}, 100 outputs`).median;
    const first = (b - a) / 9;
    const second = (c - b) / 90;
    return `${store}: ${first.toFixed(2)} ms per output from 1→10, ${second.toFixed(2)} ms per output from 10→100 (${second > first * 1.5 && second - first > 0.5 ? 'grows faster than linearly' : 'linear or better'})`;
  });
  const scalingBody = [
    '',
    '**Scaling with declared outputs** (5.): the same stage with 1, 10 or 100 declared outputs of 1 KB each, uploaded when it ends.',
    '',
    ...table(['store', 'no outputs (above)', '1 output', '10 outputs', '100 outputs', 'per output (10→100)'], scaleRows),
    '',
    ...growth.map((line) => `- ${line}`),
  ];

  // What is left for the server's requests once a stage's own work (the embedded store's, which sends none) is paid.
  const room = 0.05 * med('Python recipe (server)') - med('mlrun -- true (embedded)');
  const heldBack = shareOfRecipe <= 0.05 ? [] : [
    `**On the server, mlrun -- true takes ${shareOfRecipe.toFixed(3)} of the Python recipe's time; 0.05 would be ${fmtMs(0.05 * med('Python recipe (server)'))}.** ` +
      `The same stage on the embedded store, which sends no request at all, takes ${fmtMs(med('mlrun -- true (embedded)'))}: ` +
      (room > 0 ? `the server's requests (the start-up profile's list) would have to take ${fmtMs(room)} together.` : 'more than that already, before any request.'),
  ];
  return {
    title: '1. Per-stage overhead',
    body: [...body, ...scalingBody],
    heldBack,
    targets: [
      {
        benchmark: '1. Overhead',
        target: 'mlrun adds ≤ 30 ms over the Node floor (embedded store)',
        measured: `${fmtMs(addedEmbedded)} (mlrun ${fmtMs(med('mlrun -- true (embedded)'))} − node ${fmtMs(floorNode)}); ${pct(addedEmbedded / 30, 0)} of budget`,
        met: addedEmbedded <= 30,
      },
      {
        benchmark: '1. Overhead',
        target: 'mlrun adds ≤ 60 ms over the Node floor (local server)',
        measured: `${fmtMs(addedServer)} (mlrun ${fmtMs(med('mlrun -- true (server)'))} − node ${fmtMs(floorNode)})`,
        met: addedServer <= 60,
      },
      {
        benchmark: '1. Overhead',
        target: '≥ 20× less added time than the Python recipe (embedded)',
        measured: `${ratio(recipeRatio('embedded'), 1)} (recipe +${fmtMs(med('Python recipe (embedded)') - floorTrue)} vs mlrun +${fmtMs(med('mlrun -- true (embedded)') - floorTrue)})`,
        met: recipeRatio('embedded') >= 20,
      },
      {
        benchmark: '1. Overhead',
        target: '≥ 20× less added time than the Python recipe (server)',
        measured: `${ratio(recipeRatio('server'), 1)} (recipe +${fmtMs(med('Python recipe (server)') - floorTrue)} vs mlrun +${fmtMs(med('mlrun -- true (server)') - floorTrue)})`,
        met: recipeRatio('server') >= 20,
      },
      {
        benchmark: '1. Overhead',
        target: 'mlrun adds ≤ 20 ms over the Node floor (embedded store)',
        measured: `${fmtMs(addedEmbedded)}`,
        met: addedEmbedded <= 20,
      },
      {
        benchmark: '1. Overhead',
        target: 'nested on a local server within 15 ms of the embedded store',
        measured: `${fmtMs(serverOverEmbedded)} (server ${fmtMs(med('mlrun -- true (server)'))} vs embedded ${fmtMs(med('mlrun -- true (embedded)'))})`,
        met: serverOverEmbedded <= 15,
      },
      {
        benchmark: '1. Overhead',
        target: "nested on a local server ≤ 0.05 of the Python recipe's time",
        measured: `${shareOfRecipe.toFixed(3)} (${fmtMs(med('mlrun -- true (server)'))} vs ${fmtMs(med('Python recipe (server)'))})`,
        met: shareOfRecipe <= 0.05,
      },
    ],
  };
}

export function removeOverheadProject(project: OverheadProject): void {
  remove(project.dir);
  remove(project.dirtyDir);
}
