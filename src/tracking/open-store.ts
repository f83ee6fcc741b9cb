// Chooses the backend from the tracking URI, as MLflow does, and loads only that backend's code:
// the embedded store needs no HTTP, the server needs no SQLite.
import path from 'node:path';
import { keepOutOfGit } from '../settings/private-folders.ts';
import { UsageError } from '../settings/usage-error.ts';
import { redactUri } from './redact.ts';
import type { Store } from './store.ts';

const EMBEDDED_DB = 'mlflow.db';
/**
 * What SQLite keeps beside a database: in WAL mode (mlrun's) the log and its index while it is
 * open; a rollback journal while it writes where WAL is not available (sqlite.org/tempfiles.html).
 */
const SQLITE_SIDE_FILES = ['-wal', '-shm', '-journal'];
export { DEFAULT_ARTIFACT_FOLDER as EMBEDDED_ARTIFACTS } from './sqlite/location.ts';

/** `embedded`: the project's own mlflow.db, chosen because no tracking URI was given. */
export type StoreTarget = { kind: 'rest'; uri: string } | { kind: 'sqlite'; dbPath: string; embedded?: boolean };

/**
 * What a tracking URI points at. No URI means the embedded store, `mlflow.db` at the project
 * root (MLflow's own default since 3.7, anchored at the root so every stage finds the same one).
 */
export function storeTarget(trackingUri: string | undefined, projectRoot: string, cwd: string): StoreTarget {
  if (!trackingUri) return { kind: 'sqlite', dbPath: path.join(projectRoot, EMBEDDED_DB), embedded: true };
  if (/^https?:\/\//i.test(trackingUri)) return { kind: 'rest', uri: trackingUri };
  if (trackingUri.startsWith('sqlite:///')) {
    // SQLAlchemy's form: sqlite:///relative.db, sqlite:////absolute.db, percent-encoded, maybe ?options
    const file = decodeURIComponent(trackingUri.slice('sqlite:///'.length).replace(/\?.*$/, ''));
    return { kind: 'sqlite', dbPath: path.resolve(cwd, file) };
  }
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(trackingUri)?.[1];
  const what = scheme ? `the '${scheme}:' scheme` : 'a plain path (MLflow\'s deprecated file store)';
  throw new UsageError(
    `tracking URI ${redactUri(trackingUri)} uses ${what}: mlrun writes to an MLflow server (http://, https://) or an SQLite database (sqlite:///path)`,
  );
}

export async function openStore(target: StoreTarget, env: NodeJS.ProcessEnv): Promise<Store> {
  if (target.kind === 'rest') {
    const { createRestStore } = await import('./rest/store.ts');
    return createRestStore(target.uri, env);
  }
  const { openSqliteStore } = await import('./sqlite/store.ts');
  if (!target.embedded) return openSqliteStore(target.dbPath);
  // Created once per project, so its files are kept out of git then, and never looked at again.
  const folder = path.dirname(target.dbPath);
  const name = path.basename(target.dbPath);
  return openSqliteStore(target.dbPath, { onCreated: () => keepOutOfGit(folder, [name, ...SQLITE_SIDE_FILES.map((suffix) => name + suffix)]) });
}
