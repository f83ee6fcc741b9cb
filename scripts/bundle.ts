// `node scripts/bundle.ts OUTFILE`: bundles src/ into one CommonJS file for the single executable.
// The metrics thread's code is bundled first and embedded in it as a string
// (MLRUN_METRICS_THREAD), because the executable carries one script and no files beside it.
// The AWS SDK (src/artifacts/s3-sdk.ts) goes into a file of its own beside OUTFILE, `mlrun-s3.cjs`,
// which the bundle requires only when a run writes to S3 (the executable serves it from an asset:
// src/sea/main.ts).
// OUTFILE.inputs.json lists every source file in them, for the notices of a release (packaging/licenses.ts).
import fs from 'node:fs';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { build, type BuildOptions, type Plugin } from 'esbuild';

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

/** The file name, beside the bundle, that it requires the AWS SDK from. */
const S3_SDK = 'mlrun-s3.cjs';

// Some bundled libraries ask for their own URL; in a CommonJS bundle it is the bundle's file.
const importMetaUrl: BuildOptions = {
  define: { 'import.meta.url': '__mlrun_import_meta_url' },
  banner: { js: 'const __mlrun_import_meta_url = require("url").pathToFileURL(__filename).href;' },
};

const sdk = await build({
  ...common,
  ...importMetaUrl,
  entryPoints: ['src/artifacts/s3-sdk.ts'],
  outfile: path.join(path.dirname(outfile), S3_SDK),
  minifyWhitespace: true,
});

/** s3-sdk.ts becomes `require('./mlrun-s3.cjs')`, left to run time. */
const sdkApart: Plugin = {
  name: 's3-sdk-apart',
  setup(builder) {
    builder.onResolve({ filter: /\/s3-sdk\.ts$/ }, () => ({ path: S3_SDK, namespace: 's3-sdk-apart' }));
    builder.onLoad({ filter: /.*/, namespace: 's3-sdk-apart' }, () => ({ contents: `module.exports = require('./${S3_SDK}');`, loader: 'js' }));
    builder.onResolve({ filter: new RegExp(`^\\./${S3_SDK.replace('.', '\\.')}$`) }, (args) => ({ path: args.path, external: true }));
  },
};

/**
 * `import fs from 'node:fs'` becomes, in each of the ~50 modules that write it, esbuild's
 * `__toESM(require('node:fs'))`: a copy of all of the module's ~100 properties, made at start-up.
 * Through one module of the bundle that re-exports it, node:fs, node:path and node:os are copied
 * once each (2.9 ms of `__copyProps` in the CPU profile of `mlrun -- true` before).
 */
const builtinsOnce: Plugin = {
  name: 'builtins-once',
  setup(builder) {
    builder.onResolve({ filter: /^node:(fs|path|os)$/ }, (args) =>
      args.namespace === 'builtins-once' ? { path: args.path, external: true } : { path: args.path, namespace: 'builtins-once' },
    );
    builder.onLoad({ filter: /.*/, namespace: 'builtins-once' }, (args) => ({
      contents: `export * from '${args.path}'; export { default } from '${args.path}';`,
      loader: 'js',
    }));
  },
};

const main = await build({
  ...common,
  entryPoints: ['src/main.ts'],
  outfile,
  plugins: [sdkApart, builtinsOnce],
  // Without comments the bundle is ASCII, which the executable reads as Latin-1 (src/sea/main.ts).
  minifyWhitespace: true,
  // Beside it, not in the executable: where each position comes from, for the start-up profile (bench/profile.ts).
  sourcemap: 'external',
  ...importMetaUrl,
  define: {
    ...importMetaUrl.define,
    MLRUN_METRICS_THREAD: JSON.stringify(thread.outputFiles[0]!.text),
    MLRUN_COMMIT: JSON.stringify(commitOfWorkTree()),
  },
});
// esbuild escapes non-ASCII characters in code (its default charset); this holds unless a comment survives.
const nonAscii = /[^\x00-\x7f]/.exec(fs.readFileSync(outfile, 'latin1'));
if (nonAscii) throw new Error(`${outfile} is not ASCII at offset ${nonAscii.index}: src/sea/main.ts reads it as Latin-1`);
const inputs = new Set([thread, sdk, main].flatMap((result) => Object.keys(result.metafile!.inputs)));
fs.writeFileSync(`${outfile}.inputs.json`, JSON.stringify([...inputs].sort(), null, 1));
