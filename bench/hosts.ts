// 7. Many machines at once against one team server: four hosts (network namespaces, netns.ts),
// each with its own clone of a DVC project, each running `mlrun pipeline -- dvc repro` at the same
// time; every stage prints 10,000 metric lines. Then what reached the server is counted through
// its REST API: every point, and every stage under its own host's launch.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { makeHosts, type Host } from './netns.ts';
import { pct, table, type BenchContext, type Section } from './report-types.ts';
import { type TeamServer } from './team-server.ts';
import { cleanEnv, dvcProject, fmtMs, mlrunBinary, remove, tempDir } from './util.ts';

export interface HostSizes {
  hosts: number;
  stagesPerHost: number;
  pointsPerStage: number;
}

interface RunRow {
  runId: string;
  name: string;
  parent: string | undefined;
  status: string;
}

/** A host's project: stages `h<N>-s<i>`, each printing `loss=<step>` lines, its name telling the host. */
async function hostProject(root: string, host: number, sizes: HostSizes): Promise<string> {
  const dir = path.join(root, `host${host}`);
  await dvcProject(dir);
  fs.writeFileSync(path.join(dir, 'emit.sh'), `awk -v n="$1" 'BEGIN { for (i = 0; i < n; i++) printf "loss=%d\\n", i }'\n`);
  const lines = ['stages:'];
  for (let stage = 1; stage <= sizes.stagesPerHost; stage++) lines.push(`  h${host}-s${stage}:`, `    cmd: mlrun -- sh emit.sh ${sizes.pointsPerStage}`);
  fs.writeFileSync(path.join(dir, 'dvc.yaml'), `${lines.join('\n')}\n`);
  return dir;
}

function launch(host: Host, index: number, dir: string, env: NodeJS.ProcessEnv): Promise<number> {
  const [file, ...args] = host.wrap([mlrunBinary, 'pipeline', '--name', `host${index}`, '--', 'dvc', 'repro', '--force', '-q']) as [string, ...string[]];
  // Node's 'ignore' leaves stdout unwritable here (EBADF even for `echo`): /dev/null opened to write.
  const devNull = fs.openSync('/dev/null', 'w');
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { cwd: dir, env, stdio: ['ignore', devNull, 'inherit'], detached: true });
    fs.closeSync(devNull);
    child.on('error', reject);
    child.on('close', (code) => resolve(code ?? 128));
  });
}

async function rest(uri: string, endpoint: string, init?: RequestInit): Promise<Record<string, unknown>> {
  const response = await fetch(`${uri}/api/2.0/mlflow/${endpoint}`, { ...init, headers: { 'Content-Type': 'application/json' } });
  if (!response.ok) throw new Error(`${endpoint}: HTTP ${response.status} ${(await response.text()).slice(0, 300)}`);
  return (await response.json()) as Record<string, unknown>;
}

async function runsOf(uri: string, experimentId: string): Promise<RunRow[]> {
  const rows: RunRow[] = [];
  let token: string | undefined;
  do {
    const page = (await rest(uri, 'runs/search', { method: 'POST', body: JSON.stringify({ experiment_ids: [experimentId], max_results: 1000, page_token: token }) })) as {
      runs?: { info: { run_id: string; run_name: string; status: string }; data: { tags?: { key: string; value: string }[] } }[];
      next_page_token?: string;
    };
    for (const run of page.runs ?? []) {
      const parent = run.data.tags?.find((tag) => tag.key === 'mlflow.parentRunId')?.value;
      rows.push({ runId: run.info.run_id, name: run.info.run_name, parent, status: run.info.status });
    }
    token = page.next_page_token;
  } while (token);
  return rows;
}

async function pointCount(uri: string, runId: string): Promise<number> {
  let count = 0;
  let token: string | undefined;
  do {
    const query = new URLSearchParams({ run_id: runId, metric_key: 'loss', max_results: '25000', ...(token ? { page_token: token } : {}) });
    const page = (await rest(uri, `metrics/get-history?${query}`)) as { metrics?: unknown[]; next_page_token?: string };
    count += page.metrics?.length ?? 0;
    token = page.next_page_token;
  } while (token);
  return count;
}

export async function hostsBenchmark(ctx: BenchContext, sizes: HostSizes, startServer: (address: string) => Promise<TeamServer>): Promise<Section> {
  const network = makeHosts(sizes.hosts);
  const root = tempDir('hosts');
  let server: TeamServer | undefined;
  try {
    server = await startServer(network.serverAddress);
    const experiment = String((await rest(server.uri, 'experiments/create', { method: 'POST', body: JSON.stringify({ name: `bench-hosts-${Date.now().toString(36)}` }) })).experiment_id);
    const dirs = await Promise.all(network.hosts.map((_, index) => hostProject(root, index + 1, sizes)));
    const env = cleanEnv({ MLFLOW_TRACKING_URI: server.uri, MLFLOW_EXPERIMENT_ID: experiment });
    ctx.log(`7. ${sizes.hosts} hosts × ${sizes.stagesPerHost} stages × ${sizes.pointsPerStage} points (${network.kind})`);
    const cpuBefore = server.cpuSeconds();
    const started = performance.now();
    const codes = await Promise.all(network.hosts.map((host, index) => launch(host, index + 1, dirs[index]!, env)));
    const wallMs = performance.now() - started;
    const serverCpu = server.cpuSeconds() - cpuBefore;

    const runs = await runsOf(server.uri, experiment);
    const launches = runs.filter((run) => run.parent === undefined);
    const stages = runs.filter((run) => run.parent !== undefined);
    const hostOf = new Map(launches.map((run) => [run.runId, run.name.replace(/^host/, '')]));
    const misplaced = stages.filter((run) => !run.name.startsWith(`h${hostOf.get(run.parent!) ?? '?'}-`));
    const counts = await Promise.all(stages.map((run) => pointCount(server!.uri, run.runId)));
    const points = counts.reduce((sum, count) => sum + count, 0);
    const expectedStages = sizes.hosts * sizes.stagesPerHost;
    const expectedPoints = expectedStages * sizes.pointsPerStage;
    const short = counts.filter((count) => count !== sizes.pointsPerStage).length;
    const unfinished = runs.filter((run) => run.status !== 'FINISHED').length;
    const intact = codes.every((code) => code === 0) && launches.length === sizes.hosts && stages.length === expectedStages && misplaced.length === 0 && points === expectedPoints && unfinished === 0;

    const seconds = wallMs / 1000;
    return {
      title: '7. Many machines at once',
      body: [
        `${network.kind}. The server: ${server.description}. Each host has its own copy of a DVC project of`,
        `${sizes.stagesPerHost} stages (\`mlrun -- sh emit.sh ${sizes.pointsPerStage}\`, which prints \`loss=<i>\` lines) and runs`,
        '`mlrun pipeline --name host<N> -- dvc repro --force` at the same moment as the others. Afterwards the runs are read',
        "back through the server's REST API (`runs/search`, `metrics/get-history`). Server CPU is user + system time of the",
        "server's processes (and its database's) over the launches, read from `/proc`.",
        '',
        ...table(
          ['hosts', 'stages', 'points', 'wall', 'points/s', 'stages/s', 'server CPU', 'server CPU per 1000 points'],
          [[String(sizes.hosts), String(expectedStages), String(expectedPoints), fmtMs(wallMs), (points / seconds).toFixed(0), (stages.length / seconds).toFixed(2), `${serverCpu.toFixed(1)} s (${pct(serverCpu / seconds, 0)} of one core)`, fmtMs((serverCpu * 1e6) / Math.max(points, 1))]],
        ),
        '',
        `Read back: exit codes ${codes.join(', ')}; ${launches.length} launches of ${sizes.hosts}; ${stages.length} stage runs of ${expectedStages};`,
        `${misplaced.length} under another host's launch; ${points} points of ${expectedPoints} (${short} stages short); ${unfinished} runs not FINISHED.`,
      ],
      targets: [
        {
          benchmark: '7. Many hosts',
          target: `${sizes.hosts} hosts at once: every point delivered, every stage under its own launch`,
          measured: `${points} of ${expectedPoints} points, ${stages.length} of ${expectedStages} stages, ${misplaced.length} misplaced, ${unfinished} not FINISHED`,
          met: intact,
        },
      ],
    };
  } finally {
    await server?.stop().catch(() => undefined);
    network.remove();
    remove(root);
  }
}
