// The package's postinstall: replaces bin/mlrun, a Node script that starts the executable, with the
// executable itself (a hard link to the platform package's file, else a copy), so that `mlrun`
// starts with no Node process in between. esbuild's install script does the same for its binary;
// where install scripts do not run (npm --ignore-scripts), bin/mlrun stays the script and works.
'use strict';
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { version } = require('./package.json');
const { executable } = require('./executable.cjs');

const bin = path.join(__dirname, 'bin', 'mlrun');
const staged = `${bin}.${process.pid}.tmp`;
try {
  const source = executable();
  try {
    fs.linkSync(source, staged);
  } catch {
    fs.copyFileSync(source, staged);
  }
  fs.chmodSync(staged, 0o755);
  // The file must be this version's mlrun before it takes the command's place.
  const said = execFileSync(staged, ['--version'], { encoding: 'utf8' });
  if (!said.startsWith(`mlrun ${version} `)) throw new Error(`${source} says '${said.trim()}', not mlrun ${version}`);
  fs.renameSync(staged, bin);
} catch (error) {
  fs.rmSync(staged, { force: true });
  process.stderr.write(`mlrun: ${error.message}\n`);
  process.exit(1);
}
