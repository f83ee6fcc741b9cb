// Chooses the backend from the tracking URI, as MLflow does, and loads only that backend's code:
// the embedded store needs no HTTP, the server needs no SQLite.
import path from 'node:path';
import { UsageError } from '../settings/usage-error.ts';
import { redactUri } from './redact.ts';
import type { Store } from './store.ts';

const EMBEDDED_DB = 'mlflow.db';
export { DEFAULT_ARTIFACT_FOLDER as EMBEDDED_ARTIFACTS } from './sqlite/location.ts';

export type StoreTarget = { kind: 'rest'; uri: string } | { kind: 'sqlite'; dbPath: string };

/**
 * What a tracking URI points at. No URI means the embedded store, `mlflow.db` at the project
 * root (MLflow's own default since 3.7, anchored at the root so every stage finds the same one).
 */
export function storeTarget(trackingUri: string | undefined, projectRoot: string, cwd: string): StoreTarget {
  if (!trackingUri) return { kind: 'sqlite', dbPath: path.join(projectRoot, EMBEDDED_DB) };
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
  return openSqliteStore(target.dbPath);
}
