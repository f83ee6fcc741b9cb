// Which artifact names MLflow keeps as they are. Checked before any file goes, to a server or into
// a local folder alike, so that both stores hold or refuse the same names: a name the server would
// refuse or store under another name is refused everywhere.
//
// The server reads the path of a PUT /mlflow-artifacts/artifacts/<path> with
// mlflow/utils/uri.py `validate_path_is_safe`: it refuses '#', `..` and absolute paths, and first
// decodes the path with `_decode`, which unquotes it and passes it through urllib.parse's
// urlparse/urlunparse until it stops changing, then escapes control characters as %XX. So
// '%41' becomes 'A', urllib drops tab, CR and LF anywhere and C0 characters and spaces at the start,
// lower-cases what looks like a URL scheme and gives some schemes a '//' ('http:x' becomes
// 'http:///x'), and drops an empty query ('x?') or empty params ('x;'). A raw LF does not even
// reach the handler (404). MLflow's local artifact repository (local_artifact_repo.py) also
// reserves its staging prefix.

/** MLflow's staging files (local_artifact_repo.py `_TEMP_ARTIFACT_PREFIX`). */
export const STAGING_PREFIX = '.artifact.uploading.';

// urllib.parse.uses_netloc: urlunparse gives these schemes a '//'.
const NETLOC_SCHEMES = new Set([
  'ftp', 'http', 'gopher', 'nntp', 'telnet', 'imap', 'wais', 'file', 'mms', 'https', 'shttp', 'snews', 'prospero', 'rtsp',
  'rtsps', 'rtspu', 'rsync', 'svn', 'svn+ssh', 'sftp', 'nfs', 'git', 'git+ssh', 'ws', 'wss', 'itms-services',
]);
// urllib.parse's scheme_chars, and what urlsplit takes for a scheme: everything before the first ':'.
const SCHEME = /^([A-Za-z][A-Za-z0-9+.-]*):/;
const CONTROL = /[\u0000-\u001f\u007f]/;
// Most names: nothing in them that the server's URL handling touches.
const PLAIN = /^[\w./-]+$/;
const ESCAPE = /%[0-9A-Fa-f]{2}/;
// An empty, `.` or `..` segment (one regular expression: this runs for every file).
const NOT_INSIDE = /(?:^|\/)\.{0,2}(?:\/|$)/;

/** Why MLflow would not keep a file under `artifactPath` (a `/`-separated path in the run), or undefined. */
export function artifactNameProblem(artifactPath: string): string | undefined {
  // Names come from callers too: this is also what keeps every file inside the run's folder.
  if (NOT_INSIDE.test(artifactPath)) return 'not a relative /-separated path inside the run';
  return (PLAIN.test(artifactPath) ? undefined : urlProblem(artifactPath)) ?? stagingProblem(artifactPath);
}

/** What the server's URL handling would refuse or change in a name with more than PLAIN characters. */
function urlProblem(artifactPath: string): string | undefined {
  const control = CONTROL.exec(artifactPath)?.[0];
  if (control !== undefined) return `MLflow's server refuses or renames an artifact name with a control character (${codePoint(control)})`;
  if (artifactPath.includes('#')) return "MLflow's server refuses '#' in an artifact name";
  const escape = ESCAPE.exec(artifactPath)?.[0];
  if (escape !== undefined) return `MLflow's server decodes '${escape}' in an artifact name: it would store the file under another name`;
  if (artifactPath.startsWith(' ')) return "MLflow's server drops the space an artifact name starts with";
  const scheme = SCHEME.exec(artifactPath)?.[1];
  if (scheme !== undefined && (scheme !== scheme.toLowerCase() || NETLOC_SCHEMES.has(scheme))) {
    return `MLflow's server reads an artifact name that starts with '${scheme}:' as a URL: it would store the file under another name`;
  }
  const query = artifactPath.indexOf('?');
  if (query === artifactPath.length - 1) return "MLflow's server drops the '?' an artifact name ends with";
  const beforeQuery = query < 0 ? artifactPath : artifactPath.slice(0, query);
  const params = beforeQuery.indexOf(';', beforeQuery.lastIndexOf('/'));
  if (params >= 0 && params === beforeQuery.length - 1) return "MLflow's server drops the ';' that ends an artifact name";
  return undefined;
}

function stagingProblem(artifactPath: string): string | undefined {
  if (artifactPath.startsWith(STAGING_PREFIX, artifactPath.lastIndexOf('/') + 1)) return `MLflow reserves artifact names that start with '${STAGING_PREFIX}' for its own staging files`;
  return undefined;
}

/** The name in quotes, fit for a one-line message: control characters shown as escapes. */
export function quoteName(artifactPath: string): string {
  return `'${artifactPath.replace(new RegExp(CONTROL.source, 'g'), (char) => JSON.stringify(char).slice(1, -1))}'`;
}

function codePoint(char: string): string {
  return `U+${char.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;
}
