#!/usr/bin/env node
// bin/mlrun until the install script (install.cjs) puts the executable itself here: starts it and
// ends as it ends, passing on the signals a caller sends (SIGINT only when it is not a terminal's
// Ctrl-C, which reaches the executable already, as it is in the shim's process group).
'use strict';
const { spawn } = require('node:child_process');
const { executable } = require('../executable.cjs');

let child;
try {
  child = spawn(executable(), process.argv.slice(2), { stdio: 'inherit' });
} catch (error) {
  process.stderr.write(`mlrun: ${error.message}\n`);
  process.exit(127);
}
for (const signal of ['SIGTERM', 'SIGHUP', 'SIGINT']) {
  process.on(signal, () => {
    if (signal !== 'SIGINT' || !process.stdin.isTTY) child.kill(signal);
  });
}
child.on('error', (error) => {
  process.stderr.write(`mlrun: ${error.message}\n`);
  process.exit(127);
});
child.on('exit', (code, signal) => {
  if (code !== null) process.exit(code);
  process.removeAllListeners(signal);
  process.kill(process.pid, signal);
});
