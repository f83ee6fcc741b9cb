// Where mlrun's start-up milliseconds go: a wall-clock timeline of the real executable from
// `strace -f -ttt` (exec, first look at the project, dvc.yaml, .git, store open, child exec/exit,
// artifacts, exit, and the processes it starts), the requests it makes to a server and how long
// each waited, and a V8 CPU profile of the same executable (NODE_OPTIONS=--cpu-prof: the bundle as
// it really starts, from its code cache) with its samples attributed to source modules through the
// bundle's source map. From them, what holds the per-stage targets back.
import fs from 'node:fs';
import path from 'node:path';
import { SourceMap, type SourceMapPayload } from 'node:module';
import { stageEnv, type OverheadProject } from './overhead.ts';
import { table, type BenchContext, type Section } from './report-types.ts';
import { traced, processesOf, type Call } from './trace.ts';
import { fmtMs, fmtStat, interleave, mlrunBinary, mlrunBundle, nodeBinary, run, stat, statOf, tempDir, remove } from './util.ts';

interface Milestone {
  label: string;
  ms: number;
}

/** Why mlrun starts each helper program (src/process/pipes.ts, src/tracking/git-diff.ts). */
const STARTED_FOR: Record<string, string> = {
  mkfifo: 'real pipes for the command: Node cannot make a pipe itself',
  git: 'looking for uncommitted changes in the work tree',
};

/** One strace'd run of `mlrun -- true`: the first time each milestone shows in the trace. */
async function straceTimeline(project: OverheadProject, store: 'embedded' | 'server', serverUri: string): Promise<{ total: number; milestones: Milestone[]; started: string[] }> {
  const calls = await traced(mlrunBinary, ['--', 'true'], {
    cwd: project.dir,
    env: stageEnv(project, store, serverUri),
    syscalls: ['execve', 'openat', 'newfstatat', 'statx', 'connect', 'exit_group', 'clone', 'clone3', 'vfork'],
  });
  const mainPid = calls[0]!.pid;
  const port = store === 'server' ? new URL(serverUri).port : '';
  const processes = [...processesOf(calls).values()].filter((p) => p.parent === mainPid && p.program !== undefined);
  // The command is the one process mlrun starts that is none of its helpers.
  const command = processes.find((p) => !(path.basename(p.program!) in STARTED_FOR));
  const rules: [string, (c: Call) => boolean][] = [
    ['exec build/mlrun', (c) => c.name === 'execve' && c.args.includes('build/mlrun')],
    ['JS main: first look at the project (.dvc / cwd)', (c) => c.pid === mainPid && /\.dvc"|\/\.git"/.test(c.args)],
    ['dvc.yaml read (stage lookup)', (c) => c.name === 'openat' && c.args.includes('dvc.yaml')],
    ['.git/HEAD read (git tags)', (c) => c.name === 'openat' && c.args.includes('.git/HEAD')],
    [store === 'server' ? 'connect() to the server (store open)' : 'mlflow.db opened (store open)', (c) =>
      store === 'server' ? c.name === 'connect' && c.args.includes(`htons(${port})`) : c.name === 'openat' && c.args.includes('mlflow.db"')],
    ['exec of the command (child spawn)', (c) => c.name === 'execve' && c.pid === command?.pid && c.result === '0'],
    ['the command exited', (c) => c.name === 'exit_group' && c.pid === command?.pid],
    ['output log read for upload', (c) => c.name === 'openat' && /mlrun-output|output\.log/.test(c.args) && !c.args.includes('O_CREAT')],
    ['mlrun exit_group (run closed)', (c) => c.pid === mainPid && c.name === 'exit_group'],
  ];
  const milestones: Milestone[] = [];
  for (const [label, test] of rules) {
    const hit = calls.find(test);
    if (hit) milestones.push({ label, ms: hit.start });
  }
  milestones.sort((a, b) => a.ms - b.ms);
  const total = milestones.find((m) => m.label.startsWith('mlrun exit_group'))?.ms ?? NaN;
  return { total, milestones, started: await startedProcesses(project, store, serverUri) };
}

/**
 * The processes `mlrun -- true` starts, the command among them, each from its exec to its exit:
 * `mkfifo 1.2 ms (…why)`. Traced apart, for execs, forks and exits only: git stats every tracked
 * file, and tracing those calls too made it look ten times as slow.
 */
async function startedProcesses(project: OverheadProject, store: 'embedded' | 'server', serverUri: string): Promise<string[]> {
  const calls = await traced(mlrunBinary, ['--', 'true'], {
    cwd: project.dir,
    env: stageEnv(project, store, serverUri),
    syscalls: ['execve', 'exit_group', 'clone', 'clone3', 'vfork'],
  });
  return [...processesOf(calls).values()]
    .filter((p) => p.parent === calls[0]!.pid && p.program !== undefined)
    .map((p) => {
      const program = path.basename(p.program!);
      return `${program} ${fmtMs((p.exit ?? NaN) - p.exec!)} (${STARTED_FOR[program] ?? 'the command'})`;
    });
}

interface ServerRequest {
  /** e.g. `POST runs/create` */
  request: string;
  /** ms since mlrun's exec: sent, and how long until the answer's first bytes came back */
  sent: number;
  waited: number;
}

/**
 * The HTTP requests one `mlrun -- true` makes to the server, from its writes and reads on the
 * server's sockets: when each was sent and how long mlrun waited for its answer. strace slows
 * mlrun's side, not the server's answer.
 */
async function serverRequests(project: OverheadProject, serverUri: string): Promise<ServerRequest[]> {
  const calls = await traced(mlrunBinary, ['--', 'true'], {
    cwd: project.dir,
    env: stageEnv(project, 'server', serverUri),
    syscalls: ['connect', 'write', 'writev', 'read', 'close'],
    strings: 80,
  });
  const port = `htons(${new URL(serverUri).port})`;
  const serverSockets = new Set<string>();
  const waiting = new Map<string, ServerRequest>();
  const requests: ServerRequest[] = [];
  for (const call of calls) {
    const fd = /^\d+/.exec(call.args)?.[0] ?? '';
    if (call.name === 'connect' && call.args.includes(port)) serverSockets.add(fd);
    else if (call.name === 'close') serverSockets.delete(fd);
    else if (!serverSockets.has(fd)) continue;
    const line = /"(GET|POST|PUT|PATCH|DELETE) \/(?:api\/[\d.]+\/mlflow(?:-artifacts)?\/)?([^ ?"]*)/.exec(call.args);
    if ((call.name === 'write' || call.name === 'writev') && line) {
      const request = { request: `${line[1]} ${line[2]}`, sent: call.start, waited: NaN };
      waiting.set(fd, request);
      requests.push(request);
    } else if (call.name === 'read' && call.args.includes('"HTTP/1.1 ') && waiting.has(fd)) {
      waiting.get(fd)!.waited = call.end - waiting.get(fd)!.sent;
      waiting.delete(fd);
    }
  }
  return requests;
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

  const started = new Map<string, string[]>();
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
    started.set(store, trace.started);
    body.push(
      '',
      `**Timeline of \`build/mlrun -- true\` (${store} store) under \`strace -f -ttt\`** (the run with the median total of ${traces.length}; strace slows syscalls, so read the shares, not the absolute times):`,
      '',
      ...table(['milestone', 'since exec', 'since previous'], rows),
      '',
      `Processes mlrun started, from exec to exit (a run traced for execs, forks and exits only): ${trace.started.join(', ')}.`,
    );
  }

  // The run with the median total wait of 3 (1 with --quick).
  const requestRuns: ServerRequest[][] = [];
  for (let i = 0; i < (ctx.quick ? 1 : 3); i++) requestRuns.push(await serverRequests(project, ctx.serverUri));
  const waitedOf = (requests: ServerRequest[]) => requests.reduce((sum, r) => sum + r.waited, 0);
  requestRuns.sort((a, b) => waitedOf(a) - waitedOf(b));
  const requests = requestRuns[Math.floor(requestRuns.length / 2)]!;
  body.push(
    '',
    `**Requests of \`build/mlrun -- true\` to the server** (from its writes and reads on the server's socket under strace; the run with the median total wait of ${requestRuns.length}):`,
    '',
    ...table(['request', 'sent (since exec)', 'waited for the answer'], requests.map((r) => [r.request, fmtMs(r.sent), fmtMs(r.waited)])),
  );

  const profileRows = new Map<string, { group: string; selfMs: number }[]>();
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
    profileRows.set(store, merged);
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
  const sqliteMs = profileRows.get('embedded')!.find((r) => r.group === 'src/tracking/sqlite')?.selfMs ?? 0;
  const largest = profileRows.get('embedded')!.filter((r) => !r.group.startsWith('(')).slice(0, 3).map((r) => `${r.group} ${fmtMs(r.selfMs)}`);
  const waited = requests.reduce((sum, r) => sum + r.waited, 0);
  const overlapping = requests.filter((r, i) => i > 0 && r.sent < requests[i - 1]!.sent + requests[i - 1]!.waited).length;
  const heldBack = [
    `**mlrun -- true adds ${fmtMs(med('build/mlrun -- true (embedded)') - med('node -e 0'))} over \`node -e 0\` on the embedded store.** ` +
      `\`mlrun --version\` alone adds ${fmtMs(med('build/mlrun --version') - med('node -e 0'))} (the executable, its code cache, evaluating the bundle); ` +
      `the stage's own work adds ${fmtMs(med('build/mlrun -- true (embedded)') - med('build/mlrun --version'))} more. It starts ${started.get('embedded')!.length} processes, ` +
      `from exec to exit (traced for execs, forks and exits only): ${started.get('embedded')!.join(', ')}; and the CPU profile's largest parts are ${largest.join(', ')} (the start-up profile below).`,
    `**Nested on the server, mlrun -- true takes ${fmtMs(med('build/mlrun -- true (server)') - med('build/mlrun -- true (embedded)'))} more than on the embedded store.** ` +
      `It waits ${fmtMs(waited)} under strace for ${requests.length} answers, ${overlapping === 0 ? 'one after the other' : `${overlapping} of them asked for while another was pending`} (${requests.map((r) => `${r.request} ${fmtMs(r.waited)}`).join(', ')}), ` +
      `where the embedded store's SQLite work is ${fmtMs(sqliteMs)} of CPU. The run must exist before the command starts (the command is given MLFLOW_RUN_ID), ` +
      `its outcome is logged before its status, and MLflow's runs/update takes no tags: create, one log-batch and update are the fewest requests MLflow's REST API allows, ` +
      `and these waits alone, ${fmtMs(waited)}, are ${waited > 15 ? 'more' : 'less'} than the 15 ms the target allows between the two stores.`,
  ];
  return { title: 'Start-up profile', body, targets: [], heldBack };
}
