// `node scripts/bundle.ts OUTFILE`: bundles src/ into one CommonJS file for the single executable.
// The metrics thread's code is bundled first and embedded in it as a string
// (MLRUN_METRICS_THREAD), because the executable carries one script and no files beside it.
// OUTFILE.inputs.json lists every source file in it, for the notices of a release (packaging/licenses.ts).
import fs from 'node:fs';
import { execFileSync } from 'node:child_process';
import { build, type BuildOptions } from 'esbuild';

const outfile = process.argv[2];
if (!outfile) throw new Error('usage: node scripts/bundle.ts OUTFILE');

// `mlrun --version` names the commit it was built from; `-dirty` when the work tree had changes.
function commitOfWorkTree(): string {
  const git = (...args: string[]) => execFileSync('git', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  try {
    return git('rev-parse', '--short=7', 'HEAD') + (git('status', '--porcelain') ? '-dirty' : '');
  } catch {
    return 'unknown'; // not a git checkout (a source archive)
  }
}

const common: BuildOptions = {
  bundle: true,
  platform: 'node',
  target: 'node24',
  format: 'cjs',
  logLevel: 'warning',
  legalComments: 'none',
  metafile: true,
};

const thread = await build({
  ...common,
  entryPoints: ['src/metrics/thread/entry.ts'],
  write: false,
  minifyWhitespace: true,
  // Nothing in the thread's code asks for its own URL; a constant keeps esbuild from warning.
  define: { 'import.meta.url': '"file:///mlrun-metrics-thread"' },
});

const main = await build({
  ...common,
  entryPoints: ['src/main.ts'],
  outfile,
  // Some bundled libraries ask for their own URL; in a CommonJS bundle it is the bundle's file.
  define: {
    'import.meta.url': '__mlrun_import_meta_url',
    MLRUN_METRICS_THREAD: JSON.stringify(thread.outputFiles[0]!.text),
    MLRUN_COMMIT: JSON.stringify(commitOfWorkTree()),
  },
  banner: { js: 'const __mlrun_import_meta_url = require("url").pathToFileURL(__filename).href;' },
});
const inputs = new Set([...Object.keys(thread.metafile!.inputs), ...Object.keys(main.metafile!.inputs)]);
fs.writeFileSync(`${outfile}.inputs.json`, JSON.stringify([...inputs].sort(), null, 1));
