import fs from 'node:fs';
import path from 'node:path';

/** The command as a shell would read it back; `shownArgv` is the argv with its secrets taken out (redactArguments). */
export function displayCommand(shownArgv: readonly string[]): string {
  return shownArgv.map(quote).join(' ');
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
 * → `bin/evaluate`). Found in `argv`, shown as in `shownArgv`.
 */
export function sourceNameOf(argv: readonly string[], shownArgv: readonly string[], cwd: string): string {
  if (!INTERPRETER.test(path.basename(argv[0]!))) return shownArgv[0]!;
  const script = argv.findIndex((arg, i) => i > 0 && !arg.startsWith('-') && isFile(path.resolve(cwd, arg)));
  return shownArgv[Math.max(script, 0)]!;
}

function isFile(file: string): boolean {
  try {
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}
