// `node scripts/bundle.ts OUTFILE`: bundles src/ into one CommonJS file for the single executable.
// The metrics thread's code is bundled first and embedded in it as a string
// (MLRUN_METRICS_THREAD), because the executable carries one script and no files beside it.
import { readFile } from 'node:fs/promises';
import { build, type BuildOptions, type Plugin } from 'esbuild';

const outfile = process.argv[2];
if (!outfile) throw new Error('usage: node scripts/bundle.ts OUTFILE');

// axios reaches for Node's fetch implementation (undici, web streams: ~25 ms to load) although
// mlrun uses only its `http` adapter: its fetch adapter probes the fetch API as it loads (a `new
// Request` with a ReadableStream body), and `isFormData` looks up the global FormData for every
// request body. Its Node FormData class is the form-data package with all of mime-db (~10 ms, a
// quarter of the code cache). mlrun sends JSON and file streams only, so the fetch adapter and the
// class are left out (axios falls back to Node's FormData), and `isFormData` recognizes a FormData
// by its tag alone, without loading undici.
const AXIOS_STUBS: [RegExp, string][] = [
  [/[\\/]axios[\\/]lib[\\/]adapters[\\/]fetch\.js$/, 'export const getFetch = () => undefined; export default undefined;'],
  [/[\\/]axios[\\/]lib[\\/]platform[\\/]node[\\/]classes[\\/]FormData\.js$/, 'export default undefined;'],
];
const GLOBAL_FORM_DATA_CHECK = "(typeof FormData === 'function' && thing instanceof FormData) || (";
const withoutAxiosFetch: Plugin = {
  name: 'without-axios-fetch',
  setup(plugin) {
    for (const [filter, contents] of AXIOS_STUBS) plugin.onLoad({ filter }, () => ({ contents, loader: 'js' }));
    plugin.onLoad({ filter: /[\\/]axios[\\/]lib[\\/]utils\.js$/ }, async ({ path }) => {
      const source = await readFile(path, 'utf8');
      if (!source.includes(GLOBAL_FORM_DATA_CHECK)) throw new Error(`${path}: isFormData changed, see scripts/bundle.ts`);
      return { contents: source.replace(GLOBAL_FORM_DATA_CHECK, '('), loader: 'js' };
    });
  },
};

const common: BuildOptions = {
  bundle: true,
  platform: 'node',
  target: 'node24',
  format: 'cjs',
  logLevel: 'warning',
  legalComments: 'none',
  plugins: [withoutAxiosFetch],
};

const thread = await build({
  ...common,
  entryPoints: ['src/metrics/thread/entry.ts'],
  write: false,
  minifyWhitespace: true,
  // Nothing in the thread's code asks for its own URL; a constant keeps esbuild from warning.
  define: { 'import.meta.url': '"file:///mlrun-metrics-thread"' },
});

await build({
  ...common,
  entryPoints: ['src/main.ts'],
  outfile,
  // Some bundled libraries ask for their own URL; in a CommonJS bundle it is the bundle's file.
  define: {
    'import.meta.url': '__mlrun_import_meta_url',
    MLRUN_METRICS_THREAD: JSON.stringify(thread.outputFiles[0]!.text),
  },
  banner: { js: 'const __mlrun_import_meta_url = require("url").pathToFileURL(__filename).href;' },
});
