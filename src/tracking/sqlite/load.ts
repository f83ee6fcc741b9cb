// Loads `node:sqlite` on first use only, so a run against an MLflow server never loads it. Some
// Node 24 releases print "ExperimentalWarning: SQLite is an experimental feature..." when the
// module first loads; mlrun prints nothing of its own on success, so exactly that warning is
// dropped while the module loads, and every other warning still goes through.
type Sqlite = typeof import('node:sqlite');

let sqlite: Sqlite | undefined;

export function loadSqlite(): Sqlite {
  sqlite ??= withoutSqliteWarning(() => process.getBuiltinModule('node:sqlite'));
  return sqlite;
}

export function withoutSqliteWarning<T>(load: () => T): T {
  const emitWarning = process.emitWarning;
  process.emitWarning = function (this: NodeJS.Process, warning: string | Error, ...rest: unknown[]) {
    if (isSqliteExperimentalWarning(warning, rest[0])) return;
    return Reflect.apply(emitWarning, this, [warning, ...rest]);
  } as typeof process.emitWarning;
  try {
    return load();
  } finally {
    process.emitWarning = emitWarning;
  }
}

function isSqliteExperimentalWarning(warning: string | Error, typeOrOptions: unknown): boolean {
  const type = warning instanceof Error
    ? warning.name
    : typeof typeOrOptions === 'string' ? typeOrOptions : (typeOrOptions as { type?: string } | undefined)?.type;
  const message = warning instanceof Error ? warning.message : warning;
  return type === 'ExperimentalWarning' && /^SQLite is an experimental feature/.test(message);
}
