// Where experiments of the embedded database keep their artifacts, and the URI of the database.
//
// MLflow 3.17.2 gives a new `sqlite:///<dir>/mlflow.db` (run from <dir>) different artifact roots
// depending on who opens it first (checked by creating databases both ways):
// - the Python client (`mlflow.start_run()` with no tracking URI, `MlflowClient('sqlite:///...')`)
//   uses its default root `./mlruns` resolved against the cwd, as a plain absolute path:
//   Default = `<dir>/mlruns/0`, new experiments `<dir>/mlruns/<id>`, runs
//   `<dir>/mlruns/<id>/<run_id>/artifacts`;
// - `mlflow ui` / `mlflow server` serve artifacts, so they use `mlflow-artifacts:/0`, which only
//   means something to a server (it maps to its own `--artifacts-destination`, default
//   `./mlartifacts` of *its* cwd).
// mlrun writes without a server, like the Python client does, so it takes the client's choice,
// with <dir> = the database's folder rather than mlrun's cwd: the artifacts sit beside mlflow.db
// whichever stage folder a stage runs from, the Python client reads them from anywhere, and
// `mlflow ui` serves runs whose artifact_uri is a local path by reading the files directly.
import path from 'node:path';

/** The Python client's default artifact root, `./mlruns`, here beside the database. */
export const DEFAULT_ARTIFACT_FOLDER = 'mlruns';

export function defaultArtifactRoot(dbPath: string): string {
  return path.join(path.dirname(path.resolve(dbPath)), DEFAULT_ARTIFACT_FOLDER);
}

/** MLflow's `append_to_uri_path` for the roots used here: a local path or `scheme:/...`. */
export function appendToUriPath(uri: string, ...segments: string[]): string {
  return [uri.replace(/\/+$/, ''), ...segments].join('/');
}

/** `sqlite:///` + the absolute path, percent-encoded as MLflow's `path_to_local_sqlite_uri` does. */
export function sqliteUri(dbPath: string): string {
  const encoded = Array.from(Buffer.from(path.resolve(dbPath), 'utf8'), (byte) => {
    const ch = String.fromCharCode(byte);
    return /[A-Za-z0-9_.~/-]/.test(ch) ? ch : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  });
  return `sqlite:///${encoded.join('')}`;
}
