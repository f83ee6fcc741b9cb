import fs from 'node:fs';
import path from 'node:path';
import { redactUri } from '../tracking/redact.ts';

/** The command as a shell would read it back, with credentials in URIs taken out. */
export function displayCommand(argv: string[]): string {
  return argv.map((arg) => quote(arg.replace(/[a-z][a-z0-9+.-]*:\/\/[^\s'"]+/gi, (uri) => redactUri(uri)))).join(' ');
}

function quote(arg: string): string {
  if (arg !== '' && /^[\w@%+=:,./-]+$/.test(arg)) return arg;
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** Programs that run a script named among their arguments. */
const INTERPRETER = /^(python[\d.]*|pypy[\d.]*|node|deno|bun|sh|bash|zsh|dash|ksh|fish|Rscript|R|julia|ruby|perl|php|lua|java|uv|poetry|conda)$/;

/**
 * What MLflow would record as the run's source: the script an interpreter runs (`python train.py`
 * → `train.py`, `Rscript fit.R` → `fit.R`), else the program itself (`bin/evaluate model.json`
 * → `bin/evaluate`).
 */
export function sourceNameOf(argv: string[], cwd: string): string {
  const program = argv[0]!;
  if (!INTERPRETER.test(path.basename(program))) return program;
  const script = argv.slice(1).find((arg) => !arg.startsWith('-') && isFile(path.resolve(cwd, arg)));
  return script ?? program;
}

function isFile(file: string): boolean {
  try {
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}
