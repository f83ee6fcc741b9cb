// 3. Artifacts: a stage's declared outputs uploaded when it ends. (a) one big file, (b) many 4 KB
// files in a folder; through the server's proxied artifact store (mlrun vs `mlflow artifacts
// log-artifact(s)` vs a raw `curl -T` PUT) and into the embedded store's folder (mlrun vs `cp -r`).
// Peak RSS of every contender through /usr/bin/time. 5. Scaling: time against file count.
import fs from 'node:fs';
import path from 'node:path';
import { createExperiment, createRun } from './server.ts';
import { pct, ratio, table, type BenchContext, type Section, type Target } from './report-types.ts';
import {
  cleanEnv, dvcProject, fmtMs, fmtStat, interleave, MB, mlflowCli, mlrunBinary, nodeBinary, remove, run, runIdFromVerbose, statOf, tempDir,
  type Contender, type Sample,
} from './util.ts';

const FILE_BYTES = 4096;
/**
 * Transfers in flight in the `curl -T` storm: the local server (one worker) takes no more small
 * PUTs per second beyond about this many (measured from 1 to 32 in flight).
 */
const STORM_PARALLEL = 8;

export interface ArtifactSizes {
  bigBytes: number;
  /** files for the server contenders */
  serverFiles: number;
  /** files for the embedded-store contenders (cp -r is fast enough for the full count) */
  localFiles: number;
  reps: number;
}

function writeBigFile(file: string, bytes: number): void {
  const fd = fs.openSync(file, 'w');
  const chunk = Buffer.alloc(8 * MB);
  for (let i = 0; i < chunk.length; i += 4096) chunk.writeUInt32LE(i, i); // not all zeros
  try {
    for (let written = 0; written < bytes; written += chunk.length) fs.writeSync(fd, chunk, 0, Math.min(chunk.length, bytes - written));
  } finally {
    fs.closeSync(fd);
  }
}

// `node -e NODE_COPY_LOOP from to`: every file of a flat folder copied as mlrun copies a small file
// (artifacts/local-copy.ts), without the walk, the run or anything else.
const NODE_COPY_LOOP = `const fs = require('node:fs'); const [from, to] = process.argv.slice(1);
const flags = fs.constants.COPYFILE_EXCL | fs.constants.COPYFILE_FICLONE;
for (const name of fs.readdirSync(from)) fs.copyFileSync(from + '/' + name, to + '/' + name, flags);`;

/** `strace -f -c` of a copy of `files` files: the system calls made per file (those made at least once per two files). */
async function syscallsPerFile(file: string, args: string[], files: number, cwd: string): Promise<string> {
  const summary = path.join(cwd, `strace-summary-${process.pid}`);
  try {
    await run('strace', ['-f', '-c', '-o', summary, file, ...args], { cwd });
    const rows = fs.readFileSync(summary, 'utf8').split('\n').map((line) => line.trim().split(/\s+/)).filter((cols) => cols.length >= 5 && /^\d+$/.test(cols[3]!) && cols[cols.length - 1] !== 'total');
    return rows
      .map((cols) => ({ name: cols[cols.length - 1]!, calls: Number(cols[3]) / files }))
      .filter((row) => row.calls >= 0.5)
      .sort((a, b) => b.calls - a.calls)
      .map((row) => `${row.name} ${row.calls.toFixed(row.calls % 1 === 0 ? 0 : 1)}`)
      .join(', ');
  } finally {
    fs.rmSync(summary, { force: true });
  }
}

function writeManyFiles(dir: string, count: number): void {
  fs.mkdirSync(dir, { recursive: true });
  const body = Buffer.alloc(FILE_BYTES, 'x');
  for (let i = 0; i < count; i++) fs.writeFileSync(path.join(dir, `f${String(i).padStart(6, '0')}.bin`), body);
}

/** A DVC project whose stages declare the big file and the folders as outputs (mlrun --stage NAME). */
async function artifactProject(dir: string, folders: string[]): Promise<void> {
  await dvcProject(dir);
  const lines = ['stages:', '  big:', '    cmd: "true"', '    outs:', '      - big.bin:', '          cache: false'];
  for (const folder of folders) lines.push(`  ${folder}:`, '    cmd: "true"', '    outs:', `      - ${folder}:`, '          cache: false');
  fs.writeFileSync(path.join(dir, 'dvc.yaml'), `${lines.join('\n')}\n`);
}

export async function artifactsBenchmark(ctx: BenchContext, sizes: ArtifactSizes): Promise<Section> {
  ctx.log(`3. artifacts (${(sizes.bigBytes / MB).toFixed(0)} MiB; ${sizes.serverFiles} / ${sizes.localFiles} files)`);
  const root = tempDir('artifacts');
  // On ext4 without a journal (as on the benchmark machine) new inodes skip those freed in the last
  // minutes, scanning past each: deleting a folder of 20,000 files right before a contender made
  // its file creation several times slower. Copied folders are removed when the section ends.
  const leftovers: string[] = [];
  const discard = (dir: string, many: boolean) => {
    if (many) leftovers.push(dir);
    else remove(dir);
  };
  try {
    const folderCounts = [...new Set([Math.round(sizes.serverFiles / 10), sizes.serverFiles, Math.round(sizes.localFiles / 10), sizes.localFiles])].sort((a, b) => a - b);
    const folder = (count: number) => `many${count}`;
    await artifactProject(root, folderCounts.map(folder));
    writeBigFile(path.join(root, 'big.bin'), sizes.bigBytes);
    for (const count of folderCounts) writeManyFiles(path.join(root, folder(count)), count);
    const experiment = await createExperiment(ctx.serverUri, 'bench-artifacts');
    const serverRunDir = (runId: string) => path.join(ctx.serverArtifactsDir, experiment, runId);
    const localRunDir = (runId: string) => path.join(root, 'mlruns', '0', runId);
    const env = (store: 'server' | 'embedded') =>
      cleanEnv(store === 'server' ? { MLFLOW_TRACKING_URI: ctx.serverUri, MLFLOW_EXPERIMENT_ID: experiment } : {});

    const mlrunUpload = (store: 'server' | 'embedded', stage: string) => async (): Promise<Sample> => {
      const result = await run(mlrunBinary, ['-v', '--no-output-log', '--stage', stage, '--', 'true'], { cwd: root, env: env(store), rss: true });
      const runId = runIdFromVerbose(result.stderr);
      const uploaded = /artifacts: (\d+) of (\d+) files/.exec(result.stderr);
      if (!uploaded || uploaded[1] !== uploaded[2]) throw new Error(`mlrun did not upload every file:\n${result.stderr.slice(-1500)}`);
      discard(store === 'server' ? serverRunDir(runId) : localRunDir(runId), stage !== 'big');
      return { ms: result.ms, rss: result.rssMb! };
    };
    const pythonUpload = (what: 'big' | number) => async (): Promise<Sample> => {
      const created = await createRun(ctx.serverUri, experiment, 'python-cli');
      const args = what === 'big'
        ? ['artifacts', 'log-artifact', '--local-file', path.join(root, 'big.bin'), '--run-id', created.runId]
        : ['artifacts', 'log-artifacts', '--local-dir', path.join(root, folder(what)), '--run-id', created.runId, '--artifact-path', folder(what)];
      const result = await run(mlflowCli, args, { cwd: root, env: env('server'), rss: true });
      discard(serverRunDir(created.runId), what !== 'big');
      return { ms: result.ms, rss: result.rssMb! };
    };
    const curlUpload = async (): Promise<Sample> => {
      const created = await createRun(ctx.serverUri, experiment, 'curl');
      const url = `${ctx.serverUri}/api/2.0/mlflow-artifacts/artifacts/${experiment}/${created.runId}/artifacts/big.bin`;
      const result = await run('curl', ['-sS', '-f', '-o', '/dev/null', '-T', path.join(root, 'big.bin'), url], { cwd: root, rss: true });
      remove(serverRunDir(created.runId));
      return { ms: result.ms, rss: result.rssMb! };
    };
    // The server's own limit for many small files: one curl process, STORM_PARALLEL transfers at
    // once over kept-alive connections, every file a PUT as mlrun makes it (a config file names them).
    const curlStorm = (count: number) => async (): Promise<Sample> => {
      const created = await createRun(ctx.serverUri, experiment, 'curl-storm');
      const base = `${ctx.serverUri}/api/2.0/mlflow-artifacts/artifacts/${experiment}/${created.runId}/artifacts/${folder(count)}`;
      const dir = path.join(root, folder(count));
      const config = path.join(root, `curl-storm-${count}.txt`);
      const lines = fs.readdirSync(dir).map((name) => `upload-file = "${path.join(dir, name)}"\nurl = "${base}/${name}"\noutput = "/dev/null"\n`);
      fs.writeFileSync(config, lines.join(''));
      const result = await run('curl', ['-sS', '-f', '--parallel', '--parallel-max', String(STORM_PARALLEL), '-K', config], { cwd: root, rss: true });
      remove(config);
      discard(serverRunDir(created.runId), true);
      return { ms: result.ms, rss: result.rssMb! };
    };
    // The floor of any copy from Node: one readdir, then copyFileSync per file with mlrun's flags.
    const nodeCopy = (source: string) => async (): Promise<Sample> => {
      const target = fs.mkdtempSync(path.join(root, 'node-target-'));
      const result = await run(nodeBinary, ['-e', NODE_COPY_LOOP, path.join(root, source), target], { cwd: root });
      discard(target, true);
      return { ms: result.ms };
    };
    const cpUpload = (source: string) => async (): Promise<Sample> => {
      const target = fs.mkdtempSync(path.join(root, 'cp-target-'));
      const result = await run('cp', ['-r', path.join(root, source), target], { cwd: root, rss: true });
      discard(target, source !== 'big.bin');
      return { ms: result.ms, rss: result.rssMb! };
    };

    const { reps } = sizes;
    const big: Contender[] = [
      { name: 'curl -T (server)', reps, warmup: 1, measure: curlUpload },
      { name: 'mlrun (server)', reps, measure: mlrunUpload('server', 'big') },
      { name: 'mlflow artifacts log-artifact (server)', reps, measure: pythonUpload('big') },
      { name: 'cp (embedded)', reps, warmup: 1, measure: cpUpload('big.bin') },
      { name: 'mlrun (embedded)', reps, measure: mlrunUpload('embedded', 'big') },
    ];
    ctx.log('3a. one big file');
    const bigSamples = await interleave(big, ctx.log);
    const many: Contender[] = [
      { name: `curl -T storm (server)`, reps, warmup: 1, measure: curlStorm(sizes.serverFiles) },
      { name: `mlrun (server)`, reps, measure: mlrunUpload('server', folder(sizes.serverFiles)) },
      { name: `mlflow artifacts log-artifacts (server)`, reps, measure: pythonUpload(sizes.serverFiles) },
      { name: `cp -r (embedded)`, reps, warmup: 1, measure: cpUpload(folder(sizes.localFiles)) },
      { name: `mlrun (embedded)`, reps, measure: mlrunUpload('embedded', folder(sizes.localFiles)) },
      { name: `Node copyFileSync loop (embedded)`, reps, warmup: 1, measure: nodeCopy(folder(sizes.localFiles)) },
      { name: `mlrun, no outputs (embedded)`, reps, warmup: 1, measure: async () => ({ ms: (await run(mlrunBinary, ['--no-output-log', '--', 'true'], { cwd: root, env: env('embedded') })).ms }) },
    ];
    ctx.log('3b. many small files');
    const manySamples = await interleave(many, ctx.log);

    // 5. Scaling: mlrun's time against the number of files (one rep each at the smaller counts; the
    // counts of (b) are its medians).
    const scaling: Contender[] = [];
    for (const count of folderCounts) {
      if (count < sizes.serverFiles) scaling.push({ name: `server ${count}`, reps: 1, measure: mlrunUpload('server', folder(count)) });
      if (count !== sizes.localFiles) scaling.push({ name: `embedded ${count}`, reps: 1, measure: mlrunUpload('embedded', folder(count)) });
    }
    ctx.log('5. artifact time against file count');
    const scaled = await interleave(scaling, ctx.log);
    scaled.set(`server ${sizes.serverFiles}`, manySamples.get('mlrun (server)') ?? []);
    scaled.set(`embedded ${sizes.localFiles}`, manySamples.get('mlrun (embedded)') ?? []);

    const mbps = (bytes: number, ms: number) => `${(bytes / MB / (ms / 1000)).toFixed(0)} MiB/s`;
    const bigRows = big.map((c) => {
      const s = statOf(bigSamples, c.name);
      return [c.name, fmtStat(s), mbps(sizes.bigBytes, s.median), fmtStat(statOf(bigSamples, c.name, 'rss'), (v) => `${v.toFixed(0)} MB`)];
    });
    const manyRows = many.map((c) => {
      const s = statOf(manySamples, c.name);
      const count = c.name.includes('no outputs') ? 0 : c.name.includes('server') ? sizes.serverFiles : sizes.localFiles;
      return [c.name, String(count), fmtStat(s), count === 0 ? '—' : `${(count / (s.median / 1000)).toFixed(0)} files/s`, fmtStat(statOf(manySamples, c.name, 'rss'), (v) => `${v.toFixed(0)} MB`)];
    });
    const scaleRows = folderCounts.map((count) => {
      const cell = (store: string) => {
        const s = statOf(scaled, `${store} ${count}`);
        return s.n === 0 ? '—' : `${fmtMs(s.median)} (${((s.median * 1000) / count).toFixed(0)} µs/file)`;
      };
      return [String(count), cell('server'), cell('embedded')];
    });
    const perFile = (store: string) => {
      const counts = folderCounts.filter((count) => statOf(scaled, `${store} ${count}`).n > 0);
      const lo = counts[0]!;
      const hi = counts[counts.length - 1]!;
      const a = statOf(scaled, `${store} ${lo}`).median / lo;
      const b = statOf(scaled, `${store} ${hi}`).median / hi;
      return `${store}: ${(a * 1000).toFixed(0)} µs/file at ${lo} files, ${(b * 1000).toFixed(0)} µs/file at ${hi} (${b > a * 1.3 ? '**grows faster than linearly**' : 'linear or better'})`;
    };

    const med = (samples: Map<string, Sample[]>, name: string, field = 'ms') => statOf(samples, name, field).median;
    const curlOverMlrun = med(bigSamples, 'curl -T (server)') / med(bigSamples, 'mlrun (server)');
    const cpOverMlrunBig = med(bigSamples, 'cp (embedded)') / med(bigSamples, 'mlrun (embedded)');
    const pyOverMlrun = med(manySamples, 'mlflow artifacts log-artifacts (server)') / med(manySamples, 'mlrun (server)');
    const cpOverMlrunMany = med(manySamples, 'cp -r (embedded)') / med(manySamples, 'mlrun (embedded)');
    const stormOverMlrun = med(manySamples, 'curl -T storm (server)') / med(manySamples, 'mlrun (server)');
    const cpMany = med(manySamples, 'cp -r (embedded)');
    const nodeLoop = med(manySamples, 'Node copyFileSync loop (embedded)');
    const noOutputs = med(manySamples, 'mlrun, no outputs (embedded)');
    // Per file, on the tenth-size folder: what each makes the kernel do.
    const traceFiles = Math.round(sizes.localFiles / 10);
    const traceTarget = (label: string) => fs.mkdtempSync(path.join(root, `${label}-traced-`));
    const cpCalls = await syscallsPerFile('cp', ['-r', path.join(root, folder(traceFiles)), traceTarget('cp')], traceFiles, root);
    const nodeCalls = await syscallsPerFile(nodeBinary, ['-e', NODE_COPY_LOOP, path.join(root, folder(traceFiles)), traceTarget('node')], traceFiles, root);
    const mlrunMany = med(manySamples, 'mlrun (embedded)');
    const heldBack = [
      `**${sizes.localFiles.toLocaleString('en')} small files on the embedded store reach ${pct(cpOverMlrunMany)} of \`cp -r\`.** ` +
        `A bare loop of Node's \`copyFileSync\` over the same files (one readdir, mlrun's flags, Node's start included), the floor of any copy from Node, ` +
        `takes ${fmtMs(nodeLoop)} against cp's ${fmtMs(cpMany)} (${pct(cpMany / nodeLoop)} of cp's throughput), and mlrun's run without outputs takes ${fmtMs(noOutputs)}: ` +
        `together ${fmtMs(nodeLoop + noOutputs)}, ${pct(cpMany / (nodeLoop + noOutputs))} of cp -r. mlrun takes ${fmtMs(mlrunMany)}: ` +
        `its walk (a stat per file, for the sizes) and the bookkeeping around each copy add ${fmtMs(mlrunMany - nodeLoop - noOutputs)}. ` +
        `System calls per file (strace -c, ${traceFiles} files): cp -r ${cpCalls}; Node's copyFileSync ${nodeCalls} (libuv sets the times, owner and mode of each copy itself).`,
    ];
    const rss = (samples: Map<string, Sample[]>, name: string) => statOf(samples, name, 'rss').max;
    const targets: Target[] = [
      { benchmark: '3a. Big file', target: "mlrun ≥ 90% of curl's throughput (server)", measured: `${pct(curlOverMlrun)} (${fmtMs(med(bigSamples, 'mlrun (server)'))} vs ${fmtMs(med(bigSamples, 'curl -T (server)'))})`, met: curlOverMlrun >= 0.9 },
      { benchmark: '3a. Big file', target: 'mlrun peak RSS ≤ 150 MB (server)', measured: `${rss(bigSamples, 'mlrun (server)').toFixed(0)} MB (max)`, met: rss(bigSamples, 'mlrun (server)') <= 150 },
      { benchmark: '3a. Big file', target: "mlrun ≥ 90% of cp's throughput (embedded)", measured: `${pct(cpOverMlrunBig)} (${fmtMs(med(bigSamples, 'mlrun (embedded)'))} vs ${fmtMs(med(bigSamples, 'cp (embedded)'))})`, met: cpOverMlrunBig >= 0.9 },
      { benchmark: '3a. Big file', target: 'mlrun peak RSS ≤ 150 MB (embedded)', measured: `${rss(bigSamples, 'mlrun (embedded)').toFixed(0)} MB (max)`, met: rss(bigSamples, 'mlrun (embedded)') <= 150 },
      { benchmark: '3b. Many files', target: `mlrun ≥ 3× faster than the Python CLI (server, ${sizes.serverFiles} files)`, measured: `${ratio(pyOverMlrun)} (${fmtMs(med(manySamples, 'mlrun (server)'))} vs ${fmtMs(med(manySamples, 'mlflow artifacts log-artifacts (server)'))})`, met: pyOverMlrun >= 3 },
      { benchmark: '3b. Many files', target: `mlrun ≥ 90% of a parallel \`curl -T\` storm's throughput (server, ${sizes.serverFiles} files)`, measured: `${pct(stormOverMlrun)} (${fmtMs(med(manySamples, 'mlrun (server)'))} vs ${fmtMs(med(manySamples, 'curl -T storm (server)'))})`, met: stormOverMlrun >= 0.9 },
      { benchmark: '3b. Many files', target: 'mlrun peak RSS ≤ 150 MB (server)', measured: `${rss(manySamples, 'mlrun (server)').toFixed(0)} MB (max)`, met: rss(manySamples, 'mlrun (server)') <= 150 },
      { benchmark: '3b. Many files', target: `mlrun ≥ 90% of cp -r's throughput (embedded, ${sizes.localFiles} files)`, measured: `${pct(cpOverMlrunMany)} (${fmtMs(med(manySamples, 'mlrun (embedded)'))} vs ${fmtMs(med(manySamples, 'cp -r (embedded)'))})`, met: cpOverMlrunMany >= 0.9 },
      { benchmark: '3b. Many files', target: 'mlrun peak RSS ≤ 150 MB (embedded)', measured: `${rss(manySamples, 'mlrun (embedded)').toFixed(0)} MB (max)`, met: rss(manySamples, 'mlrun (embedded)') <= 150 },
    ];
    return {
      title: '3. Artifacts',
      body: [
        'mlrun uploads as it does at the end of a stage: `mlrun -v --no-output-log --stage NAME -- true` in a DVC project whose stage',
        'declares the file or folder in `outs:` (so its time includes creating and closing its run, ~0.1–0.5 s). Against the server it',
        'PUTs to the proxied artifact store (`mlflow-artifacts:/`; multipart is tried for files ≥ 500 MiB and the local store answers 501, so',
        'the file goes in one streamed PUT); with the embedded store it copies into `mlruns/0/<run>/artifacts`.',
        '`curl -sS -f -T FILE URL` PUTs the same file to `/api/2.0/mlflow-artifacts/artifacts/<exp>/<run>/artifacts/big.bin` (the floor);',
        `the \`curl -T\` storm PUTs every file of the folder the same way from one curl process, ${STORM_PARALLEL} at a time over kept-alive connections (\`--parallel --parallel-max ${STORM_PARALLEL} -K list\`): the server's own limit;`,
        '`mlflow artifacts log-artifact(s)` is the Python CLI into a run created beforehand (its time includes the ~2 s Python import);',
        '`Node copyFileSync loop` is the floor of any copy from Node: `node -e` with one readdir and a `copyFileSync` per file, with the flags mlrun uses; `mlrun, no outputs` is the same stage without its folder (the run alone).',
        "`cp -r` copies into an empty folder on the same disk. An uploaded big file is deleted after each repetition, folders when all are measured (ext4 without a journal makes files created right after a mass deletion slow). Peak RSS: `/usr/bin/time -f %M`.",
        '',
        `**(a) one file of ${(sizes.bigBytes / MB).toFixed(0)} MiB**`,
        '',
        ...table(['contender', 'time', 'throughput', 'peak RSS'], bigRows),
        '',
        `**(b) a folder of ${FILE_BYTES / 1024} KB files**`,
        '',
        ...table(['contender', 'files', 'time', 'rate', 'peak RSS'], manyRows),
        '',
        '**Scaling with file count** (5., mlrun only; one run at the smaller counts, the median of (b) at the largest):',
        '',
        ...table(['files', 'server', 'embedded'], scaleRows),
        '',
        `- ${perFile('server')}`,
        `- ${perFile('embedded')}`,
      ],
      targets,
      heldBack,
    };
  } finally {
    for (const dir of leftovers) remove(dir);
    remove(root);
  }
}
