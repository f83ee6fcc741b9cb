// Where mlrun's start-up milliseconds go: a wall-clock timeline of the real executable from
// `strace -f -ttt` (exec, first look at the project, dvc.yaml, .git, store open, child exec/exit,
// artifacts, exit), and a V8 CPU profile of the same executable (NODE_OPTIONS=--cpu-prof: the
// bundle as it really starts, from its code cache) with its samples attributed to the source
// modules esbuild marks in the bundle.
import fs from 'node:fs';
import path from 'node:path';
import { SourceMap, type SourceMapPayload } from 'node:module';
import type { OverheadProject } from './overhead.ts';
import { table, type BenchContext, type Section } from './report-types.ts';
import { cleanEnv, fmtMs, fmtStat, interleave, mlrunBinary, mlrunBundle, nodeBinary, run, stat, statOf, tempDir, remove } from './util.ts';

interface Milestone {
  label: string;
  ms: number;
}

function stageEnv(project: OverheadProject, store: 'embedded' | 'server', serverUri: string): NodeJS.ProcessEnv {
  return cleanEnv({
    DVC_STAGE: 'noop',
    DVC_ROOT: project.dir,
    MLRUN_PARENT_RUN_ID: store === 'server' ? project.serverParent : project.embeddedParent,
    MLRUN_PARENT_EXPERIMENT: store === 'server' ? project.serverParentExperiment : project.embeddedParentExperiment,
    MLFLOW_TRACKING_URI: store === 'server' ? serverUri : undefined,
  });
}

/** One strace'd run of `mlrun -- true`: the first time each milestone shows in the trace. */
async function straceTimeline(project: OverheadProject, store: 'embedded' | 'server', serverUri: string): Promise<{ total: number; milestones: Milestone[] }> {
  const dir = tempDir('strace');
  const traceFile = path.join(dir, 'trace');
  try {
    await run(
      'strace',
      ['-f', '-ttt', '-qq', '-o', traceFile, '-e', 'trace=execve,openat,newfstatat,statx,connect,exit_group', mlrunBinary, '--', 'true'],
      { cwd: project.dir, env: stageEnv(project, store, serverUri) },
    );
    const lines = fs.readFileSync(traceFile, 'utf8').split('\n').filter(Boolean);
    const parsed = lines.map((line) => {
      const match = /^(\d+)\s+(\d+\.\d+)\s+(.*)$/.exec(line);
      return match ? { pid: Number(match[1]), t: Number(match[2]), call: match[3]! } : undefined;
    }).filter((entry): entry is { pid: number; t: number; call: string } => entry !== undefined);
    const t0 = parsed[0]!.t;
    const mainPid = parsed[0]!.pid;
    const port = store === 'server' ? new URL(serverUri).port : '';
    const rules: [string, (e: { pid: number; call: string }) => boolean][] = [
      ['exec build/mlrun', (e) => e.call.startsWith('execve(') && e.call.includes('build/mlrun')],
      ['JS main: first look at the project (.dvc / cwd)', (e) => e.pid === mainPid && /\.dvc"|\/\.git"/.test(e.call)],
      ['dvc.yaml read (stage lookup)', (e) => e.call.startsWith('openat(') && e.call.includes('dvc.yaml')],
      ['.git/HEAD read (git tags)', (e) => e.call.startsWith('openat(') && e.call.includes('.git/HEAD')],
      [store === 'server' ? 'connect() to the server (store open)' : 'mlflow.db opened (store open)', (e) =>
        store === 'server' ? e.call.startsWith('connect(') && e.call.includes(`htons(${port})`) : e.call.startsWith('openat(') && e.call.includes('mlflow.db"')],
      ['exec of the command (child spawn)', (e) => e.call.startsWith('execve(') && !e.call.includes('build/mlrun') && e.pid !== mainPid && /= 0$/.test(e.call)],
      ['the command exited', (e) => e.pid !== mainPid && e.call.startsWith('exit_group(') && parsed.some((p) => p.pid === e.pid && p.call.startsWith('execve(') && !p.call.includes('build/mlrun'))],
      ['output log read for upload', (e) => e.call.startsWith('openat(') && /mlrun-output|output\.log/.test(e.call) && !e.call.includes('O_CREAT')],
      ['mlrun exit_group (run closed)', (e) => e.pid === mainPid && e.call.startsWith('exit_group(')],
    ];
    const milestones: Milestone[] = [];
    for (const [label, test] of rules) {
      const hit = parsed.find(test);
      if (hit) milestones.push({ label, ms: (hit.t - t0) * 1000 });
    }
    milestones.sort((a, b) => a.ms - b.ms);
    const total = milestones.find((m) => m.label.startsWith('mlrun exit_group'))?.ms ?? NaN;
    return { total, milestones };
  } finally {
    remove(dir);
  }
}

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

/**
 * A position in the bundle (0-based line and column, as V8 reports them) → its source module, from
 * the source map scripts/bundle.ts writes beside the bundle (the bundle itself, without comments,
 * no longer names its modules).
 */
function bundleModules(): (line: number, column: number) => string {
  const map = new SourceMap(JSON.parse(fs.readFileSync(`${mlrunBundle}.map`, 'utf8')) as SourceMapPayload);
  return (line, column) => {
    const source = (map.findEntry(line, column) as { originalSource?: string }).originalSource;
    // `../src/cli.ts`, or in a git worktree whose node_modules is a symlink `../../main/node_modules/…`.
    const match = source && /(?:^|\/)((?:src|node_modules)\/\S+)$/.exec(source);
    return match ? groupOf(match[1]!) : 'bundle prelude';
  };
}

/** `node_modules/axios/lib/x.js` → `axios`; `src/tracking/sqlite/store.ts` → `src/tracking/sqlite`. */
function groupOf(modulePath: string): string {
  const parts = modulePath.split('/');
  if (parts[0] === 'node_modules') return parts[1]!.startsWith('@') ? `${parts[1]}/${parts[2]}` : parts[1]!;
  return parts.length > 2 ? parts.slice(0, -1).join('/') : modulePath;
}

async function cpuProfile(project: OverheadProject, store: 'embedded' | 'server', serverUri: string): Promise<{ wall: number; rows: { group: string; selfMs: number; firstMs: number }[]; profiledMs: number }> {
  const dir = tempDir('cpuprof');
  try {
    // The executable honours NODE_OPTIONS: the profile is of the start-up users get, code cache and all.
    const env = { ...stageEnv(project, store, serverUri), NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${dir} --cpu-prof-interval=100` };
    const result = await run(mlrunBinary, ['--', 'true'], { cwd: project.dir, env });
    const file = fs.readdirSync(dir).find((name) => name.endsWith('.cpuprofile'))!;
    const profile = JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8')) as CpuProfile;
    const moduleAt = bundleModules();
    const byId = new Map(profile.nodes.map((node) => [node.id, node]));
    const groups = new Map<string, { selfMs: number; firstMs: number }>();
    let t = 0;
    for (let i = 0; i < profile.samples.length; i++) {
      t += profile.timeDeltas[i] ?? 0;
      const node = byId.get(profile.samples[i]!)!;
      const { url, functionName, lineNumber, columnNumber } = node.callFrame;
      let group: string;
      if (url.endsWith('mlrun.cjs')) group = moduleAt(lineNumber, columnNumber);
      else if (url.startsWith('node:')) group = `node internals (${url.replace(/^node:internal\//, '').split('/')[0]})`;
      else if (url === '') group = functionName.startsWith('(') ? functionName : '(native)';
      else group = url;
      const delta = (profile.timeDeltas[i + 1] ?? 0) / 1000;
      const entry = groups.get(group) ?? { selfMs: 0, firstMs: t / 1000 };
      entry.selfMs += delta;
      groups.set(group, entry);
    }
    const rows = [...groups.entries()].map(([group, value]) => ({ group, ...value })).sort((a, b) => b.selfMs - a.selfMs);
    return { wall: result.ms, rows, profiledMs: (profile.endTime - profile.startTime) / 1000 };
  } finally {
    remove(dir);
  }
}

export async function profileBenchmark(ctx: BenchContext, project: OverheadProject): Promise<Section> {
  ctx.log('1. start-up profile');
  const reps = ctx.quick ? 3 : 9;
  // Differential timings: each step adds one part of the start-up to the previous one.
  const steps = await interleave(
    [
      { name: 'node -e 0', reps, warmup: 1, measure: async () => ({ ms: (await run(nodeBinary, ['-e', '0'], { cwd: project.dir })).ms }) },
      { name: 'node build/mlrun.cjs --version', reps, warmup: 1, measure: async () => ({ ms: (await run(nodeBinary, [mlrunBundle, '--version'], { cwd: project.dir })).ms }) },
      { name: 'build/mlrun --version', reps, warmup: 1, measure: async () => ({ ms: (await run(mlrunBinary, ['--version'], { cwd: project.dir })).ms }) },
      { name: 'node build/mlrun.cjs -- true (embedded)', reps, warmup: 1, measure: async () => ({ ms: (await run(nodeBinary, [mlrunBundle, '--', 'true'], { cwd: project.dir, env: stageEnv(project, 'embedded', ctx.serverUri) })).ms }) },
      { name: 'build/mlrun -- true (embedded)', reps, warmup: 1, measure: async () => ({ ms: (await run(mlrunBinary, ['--', 'true'], { cwd: project.dir, env: stageEnv(project, 'embedded', ctx.serverUri) })).ms }) },
      { name: 'build/mlrun -- true (server)', reps, warmup: 1, measure: async () => ({ ms: (await run(mlrunBinary, ['--', 'true'], { cwd: project.dir, env: stageEnv(project, 'server', ctx.serverUri) })).ms }) },
    ],
    ctx.log,
  );
  const med = (name: string) => statOf(steps, name).median;
  const stepRows = [
    ['node -e 0', fmtStat(statOf(steps, 'node -e 0')), 'process start of the pinned Node (the floor)'],
    ['build/mlrun --version', fmtStat(statOf(steps, 'build/mlrun --version')), `+${fmtMs(med('build/mlrun --version') - med('node -e 0'))}: the SEA binary mapped, the bundle deserialized from the code cache recorded at build time (scripts/train-code-cache.ts), module evaluation, commander`],
    ['node build/mlrun.cjs --version', fmtStat(statOf(steps, 'node build/mlrun.cjs --version')), `the same without SEA/code cache (${fmtMs(med('node build/mlrun.cjs --version') - med('build/mlrun --version'))} vs the SEA)`],
    ['build/mlrun -- true (embedded)', fmtStat(statOf(steps, 'build/mlrun -- true (embedded)')), `+${fmtMs(med('build/mlrun -- true (embedded)') - med('build/mlrun --version'))} over --version: stage lookup, git, store open, run create, spawn, output log, close`],
    ['node build/mlrun.cjs -- true (embedded)', fmtStat(statOf(steps, 'node build/mlrun.cjs -- true (embedded)')), 'the bundle without SEA/code cache'],
    ['build/mlrun -- true (server)', fmtStat(statOf(steps, 'build/mlrun -- true (server)')), `+${fmtMs(med('build/mlrun -- true (server)') - med('build/mlrun --version'))} over --version`],
  ];

  const body: string[] = [
    '**Differential timings** (interleaved, median (min–max)): each line adds one part of the start-up.',
    '',
    ...table(['command', 'time', 'what the difference is'], stepRows),
  ];

  for (const store of ['embedded', 'server'] as const) {
    const traces: Awaited<ReturnType<typeof straceTimeline>>[] = [];
    for (let i = 0; i < (ctx.quick ? 1 : 3); i++) traces.push(await straceTimeline(project, store, ctx.serverUri));
    traces.sort((a, b) => a.total - b.total);
    const trace = traces[Math.floor(traces.length / 2)]!;
    let previous = 0;
    const rows = trace.milestones.map((m) => {
      const row = [m.label, fmtMs(m.ms), `+${fmtMs(m.ms - previous)}`];
      previous = m.ms;
      return row;
    });
    body.push(
      '',
      `**Timeline of \`build/mlrun -- true\` (${store} store) under \`strace -f -ttt\`** (the run with the median total of ${traces.length}; strace slows syscalls, so read the shares, not the absolute times):`,
      '',
      ...table(['milestone', 'since exec', 'since previous'], rows),
    );
  }

  for (const store of ['embedded', 'server'] as const) {
    const profiles: Awaited<ReturnType<typeof cpuProfile>>[] = [];
    for (let i = 0; i < (ctx.quick ? 1 : 3); i++) profiles.push(await cpuProfile(project, store, ctx.serverUri));
    // Per group, the median self time over the profiles.
    const groups = new Set(profiles.flatMap((p) => p.rows.map((r) => r.group)));
    const merged = [...groups].map((group) => {
      const self = stat(profiles.map((p) => p.rows.find((r) => r.group === group)?.selfMs ?? 0));
      const first = stat(profiles.map((p) => p.rows.find((r) => r.group === group)?.firstMs ?? NaN).filter((v) => !Number.isNaN(v)));
      return { group, selfMs: self.median, firstMs: first.median };
    }).sort((a, b) => b.selfMs - a.selfMs);
    const top = merged.slice(0, 16);
    const rest = merged.slice(16).reduce((sum, r) => sum + r.selfMs, 0);
    const profiled = stat(profiles.map((p) => p.profiledMs)).median;
    const wall = stat(profiles.map((p) => p.wall)).median;
    body.push(
      '',
      `**CPU profile of \`NODE_OPTIONS=--cpu-prof build/mlrun -- true\` (${store} store)**: median of ${profiles.length} profiles, 100 µs sampling; wall ${fmtMs(wall)}, profiled span ${fmtMs(profiled)} (V8 starts profiling after Node's own bootstrap). Self time by source module; "first sample" is when the module first ran (ms into the profile).`,
      '',
      ...table(['module', 'self time', 'first sample'], [
        ...top.map((r) => [r.group, fmtMs(r.selfMs), fmtMs(r.firstMs)]),
        ['(all others)', fmtMs(rest), ''],
      ]),
    );
  }
  return { title: 'Start-up profile', body, targets: [] };
}
