// 2. A whole pipeline: 12 trivial DVC stages (each prints a metric line and writes a small output)
// run with `dvc repro --force`: untracked, wrapped with mlrun under `mlrun pipeline` (server and
// embedded store), and the Python recipe (a parent-run script, then each stage a Python process
// that reopens the parent and opens a nested child around the same work).
import fs from 'node:fs';
import path from 'node:path';
import { createExperiment } from './server.ts';
import { pct, ratio, table, type BenchContext, type Section } from './report-types.ts';
import { processesOf, traced, type TracedProcess } from './trace.ts';
import { benchDir, cleanEnv, dvc, dvcProject, fmtMs, fmtStat, interleave, mlrunBinary, python, remove, run, stat, statOf, tempDir, type Contender } from './util.ts';

const STAGES = 12;

type Flavour = 'untracked' | 'mlrun' | 'recipe';

async function project(root: string, flavour: Flavour): Promise<string> {
  const dir = path.join(root, flavour);
  await dvcProject(dir);
  fs.writeFileSync(path.join(dir, 'stage.sh'), '#!/bin/sh\necho "loss=0.$1"\necho "stage $1" > "outs/s$1.txt"\n');
  fs.mkdirSync(path.join(dir, 'outs'));
  const lines = ['stages:'];
  for (let i = 1; i <= STAGES; i++) {
    const work = `sh stage.sh ${i}`;
    const cmd = flavour === 'untracked' ? work : flavour === 'mlrun' ? `mlrun -- ${work}` : `python ${path.join(benchDir, 'recipe_stage.py')} ${i} outs/s${i}.txt`;
    lines.push(`  s${i}:`, `    cmd: ${cmd}`, '    deps:', '      - stage.sh');
    if (i > 1) lines.push(`      - outs/s${i - 1}.txt`);
    lines.push('    outs:', `      - outs/s${i}.txt`);
  }
  fs.writeFileSync(path.join(dir, 'dvc.yaml'), `${lines.join('\n')}\n`);
  return dir;
}

/** Where a tracked launch's time goes, from one run under strace (execs, forks and exits only). */
interface Breakdown {
  /** ms: `mlrun pipeline`'s exec to dvc's, and dvc's exit to its own */
  launchStart: number;
  launchEnd: number;
  /** ms per stage (median over the stages): its mlrun's exec to its command's, and the command's exit to its mlrun's */
  before: number;
  after: number;
  stages: number;
}

async function breakdown(dir: string, env: NodeJS.ProcessEnv, repro: string[]): Promise<Breakdown> {
  const calls = await traced(mlrunBinary, ['pipeline', '--', 'dvc', ...repro], { cwd: dir, env, syscalls: ['execve', 'exit_group', 'clone', 'clone3', 'vfork', 'fork'] });
  const processes = [...processesOf(calls).values()];
  const named = (p: TracedProcess, name: string) => p.program !== undefined && path.basename(p.program) === name;
  const launch = processes.find((p) => p.pid === calls[0]!.pid)!;
  const dvcProcess = processes.find((p) => p.parent === launch.pid && named(p, 'dvc'))!;
  const stageRuns = processes.filter((p) => p !== launch && named(p, 'mlrun')).map((stage) => {
    const command = processes.find((p) => p.parent === stage.pid && p.argv?.includes('stage.sh'))!;
    return { before: command.exec! - stage.exec!, after: stage.exit! - command.exit! };
  });
  return {
    launchStart: dvcProcess.exec! - launch.exec!,
    launchEnd: launch.exit! - dvcProcess.exit!,
    before: stat(stageRuns.map((s) => s.before)).median,
    after: stat(stageRuns.map((s) => s.after)).median,
    stages: stageRuns.length,
  };
}

export async function pipelineBenchmark(ctx: BenchContext): Promise<Section> {
  ctx.log('2. whole pipeline');
  const root = tempDir('pipeline');
  try {
    const untracked = await project(root, 'untracked');
    const mlrunServer = await project(root, 'mlrun');
    const mlrunEmbedded = path.join(root, 'mlrun-embedded');
    fs.cpSync(mlrunServer, mlrunEmbedded, { recursive: true });
    const recipe = await project(root, 'recipe');
    const experiment = await createExperiment(ctx.serverUri, 'bench-pipeline');
    const reps = ctx.quick ? 2 : 5;
    const recipeReps = ctx.quick ? 1 : 3;
    const repro = ['repro', '--force', '-q'];
    const contenders: Contender[] = [
      { name: 'untracked: dvc repro --force', reps, warmup: 1, measure: async () => ({ ms: (await run(dvc, repro, { cwd: untracked, env: cleanEnv() })).ms }) },
      {
        name: 'mlrun pipeline -- dvc repro --force (server)',
        reps,
        warmup: 1,
        measure: async () => ({ ms: (await run(mlrunBinary, ['pipeline', '--', 'dvc', ...repro], { cwd: mlrunServer, env: cleanEnv({ MLFLOW_TRACKING_URI: ctx.serverUri, MLFLOW_EXPERIMENT_ID: experiment }) })).ms }),
      },
      {
        name: 'mlrun pipeline -- dvc repro --force (embedded)',
        reps,
        warmup: 1,
        measure: async () => ({ ms: (await run(mlrunBinary, ['pipeline', '--', 'dvc', ...repro], { cwd: mlrunEmbedded, env: cleanEnv() })).ms }),
      },
      {
        name: 'Python recipe (server)',
        reps: recipeReps,
        measure: async () => ({ ms: (await run(python, [path.join(benchDir, 'recipe_pipeline.py')], { cwd: recipe, env: cleanEnv({ MLFLOW_TRACKING_URI: ctx.serverUri, MLFLOW_EXPERIMENT_ID: experiment }) })).ms }),
      },
    ];
    const samples = await interleave(contenders, ctx.log);
    const med = (name: string) => statOf(samples, name).median;
    const base = med('untracked: dvc repro --force');
    const rows = contenders.map((c) => {
      const s = statOf(samples, c.name);
      return [c.name, fmtStat(s), `+${fmtMs(s.median - base)}`, pct(s.median / base - 1), `${fmtMs((s.median - base) / STAGES)}`];
    });
    const addedServer = med('mlrun pipeline -- dvc repro --force (server)') - base;
    const addedEmbedded = med('mlrun pipeline -- dvc repro --force (embedded)') - base;
    const addedRecipe = med('Python recipe (server)') - base;
    const parts = {
      embedded: await breakdown(mlrunEmbedded, cleanEnv(), repro),
      server: await breakdown(mlrunServer, cleanEnv({ MLFLOW_TRACKING_URI: ctx.serverUri, MLFLOW_EXPERIMENT_ID: experiment }), repro),
    };
    const partRows = (['embedded', 'server'] as const).map((store) => {
      const p = parts[store];
      const sum = p.launchStart + p.launchEnd + p.stages * (p.before + p.after);
      return [store, fmtMs(p.launchStart), fmtMs(p.before), fmtMs(p.after), fmtMs(p.launchEnd), `${fmtMs(sum)} (${p.stages} stages)`, `+${fmtMs(med(`mlrun pipeline -- dvc repro --force (${store})`) - base)}`];
    });
    const heldBack = (['embedded', 'server'] as const).map((store) => {
      const p = parts[store];
      const tracked = med(`mlrun pipeline -- dvc repro --force (${store})`);
      return `**The ${STAGES}-stage pipeline takes ${ratio(tracked / base)} the untracked one's time (${store}).** Of its +${fmtMs(tracked - base)}, ` +
        `the launch takes ${fmtMs(p.launchStart)} before dvc starts and ${fmtMs(p.launchEnd)} after dvc ends (lineage, the summary, the close); ` +
        `each stage's mlrun ${fmtMs(p.before)} before its command and ${fmtMs(p.after)} after it, ${fmtMs(p.stages * (p.before + p.after))} over ${p.stages} stages: ` +
        `a stage's own start-up and run, as in the per-stage overhead above (section 2's breakdown, under strace; a stage's mlrun partly overlaps DVC's own work around the stage, so the parts add up to more than the added time).`;
    });
    return {
      title: '2. A whole pipeline',
      body: [
        `${STAGES} DVC stages in a chain (each depends on stage.sh and the previous stage's output); each runs \`sh stage.sh N\`,`,
        'which prints `loss=0.N` and writes `outs/sN.txt` (a declared output). Every repetition is `dvc repro --force -q`, so every stage runs.',
        '- untracked: `cmd: sh stage.sh N`, `dvc repro --force`.',
        '- mlrun: `cmd: mlrun -- sh stage.sh N` under `mlrun pipeline -- dvc repro --force` (the parent run; each stage a child run with its metric, params, output artifact and output log).',
        '- recipe: `bench/recipe_pipeline.py` starts the parent run and runs `dvc repro --force` with its id; each stage is `python bench/recipe_stage.py N outs/sN.txt`, which reopens the parent, opens a nested child, prints and logs the metric, writes the output.',
        '',
        ...table(['pipeline', 'median (min–max)', 'added', 'added %', 'added per stage'], rows),
        '',
        '**Where the added time goes**: one more run of each tracked pipeline under `strace -f -ttt` (execs, forks and exits only):',
        'the launch before dvc starts and after it ends, and each stage\'s mlrun before its command starts and after it exits (medians over the stages).',
        '',
        ...table(['store', 'launch start', 'stage: before the command', 'stage: after the command', 'launch end', 'sum', 'added (above)'], partRows),
      ],
      heldBack,
      targets: [
        {
          benchmark: '2. Pipeline',
          target: 'tracking adds ≤ 5% to the untracked pipeline (server)',
          measured: `+${pct(addedServer / base)} (${fmtMs(med('mlrun pipeline -- dvc repro --force (server)'))} vs ${fmtMs(base)})`,
          met: addedServer / base <= 0.05,
        },
        {
          benchmark: '2. Pipeline',
          target: 'tracking adds ≤ 5% to the untracked pipeline (embedded)',
          measured: `+${pct(addedEmbedded / base)} (${fmtMs(med('mlrun pipeline -- dvc repro --force (embedded)'))} vs ${fmtMs(base)})`,
          met: addedEmbedded / base <= 0.05,
        },
        {
          benchmark: '2. Pipeline',
          target: '≥ 10× cheaper than the recipe (added time, server)',
          measured: `${ratio(addedRecipe / addedServer, 1)} (recipe +${fmtMs(addedRecipe)} vs mlrun +${fmtMs(addedServer)})`,
          met: addedRecipe / addedServer >= 10,
        },
        ...(['embedded', 'server'] as const).map((store) => {
          const tracked = med(`mlrun pipeline -- dvc repro --force (${store})`);
          return {
            benchmark: '2. Pipeline',
            target: `≤ 1.5× the untracked pipeline's time (${store})`,
            measured: `${ratio(tracked / base)} (${fmtMs(tracked)} vs ${fmtMs(base)})`,
            met: tracked / base <= 1.5,
          };
        }),
      ],
    };
  } finally {
    remove(root);
  }
}
