// Turns a stage's declared outputs (files or folders, relative to its wdir) into the files to
// upload, each named by its path from the project root. Nothing outside the project is ever read:
// a path that leaves it through `..`, an absolute path or a symlink is refused, not followed.
import { readdirSync, realpathSync, statSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';

export interface ArtifactFile {
  /** absolute path to read */
  localPath: string;
  /** path relative to the project root, `/`-separated: where the file lands in the run */
  artifactPath: string;
  /** bytes when collected; stat-ed before the upload when absent */
  size?: number;
}

export interface Collected {
  /** sorted by artifactPath, each once */
  files: ArtifactFile[];
  /** one line each: refused, missing or unreadable outputs */
  warnings: string[];
  /** declared outputs that are not local files (URLs, `remote://`), as written */
  skipped: string[];
  /** declared outputs that do not exist, as written (each also has a warning) */
  missing: string[];
}

// DVC's external outputs: `s3://…`, `remote://name/…`, `https://…`, `ssh://…`.
const URL_LIKE = /^[a-z][a-z0-9+.-]*:\/\//i;

export async function collectOutputs(projectRoot: string, wdir: string, declared: readonly string[]): Promise<Collected> {
  const root = path.resolve(projectRoot);
  const walk = new Walk(root, await fs.realpath(root));
  const skipped: string[] = [];
  for (const out of declared) {
    if (URL_LIKE.test(out)) skipped.push(out);
    else await walk.output(out, path.resolve(wdir, out));
  }
  return { files: walk.sortedFiles(), warnings: walk.warnings, skipped, missing: walk.missing };
}

class Walk {
  readonly warnings: string[] = [];
  readonly missing: string[] = [];
  readonly #files = new Map<string, ArtifactFile>();
  readonly #root: string;
  readonly #realRoot: string;

  constructor(root: string, realRoot: string) {
    this.#root = root;
    this.#realRoot = realRoot;
  }

  async output(declared: string, absolute: string): Promise<void> {
    const relative = path.relative(this.#root, absolute);
    if (!isInside(relative)) {
      this.warnings.push(`output '${declared}' is outside the project (${this.#root}): not uploaded`);
      return;
    }
    let real: string;
    try {
      real = await fs.realpath(absolute);
    } catch (error) {
      // A dangling symlink is missing too: there is nothing to read.
      if (errorCode(error) === 'ENOENT') {
        this.missing.push(declared);
        this.warnings.push(`declared output '${declared}' does not exist: not uploaded`);
      }
      else this.warnings.push(`cannot read output '${declared}' (${errorCode(error) ?? String(error)}): not uploaded`);
      return;
    }
    if (!isInside(path.relative(this.#realRoot, real))) {
      this.warnings.push(`output '${declared}' is a symlink that leads outside the project: not uploaded`);
      return;
    }
    try {
      this.#entry(absolute, real, toArtifactPath(relative), new Set());
    } catch (error) {
      // e.g. a folder without read permission, or a file removed while walking
      this.warnings.push(`cannot read output '${declared}' (${errorCode(error) ?? String(error)}): not all of it uploaded`);
    }
  }

  sortedFiles(): ArtifactFile[] {
    // Code-unit order, not the locale's: the same list on every machine.
    return [...this.#files.values()].sort((a, b) => (a.artifactPath < b.artifactPath ? -1 : a.artifactPath > b.artifactPath ? 1 : 0));
  }

  /**
   * `absolute` is the path as named inside the project, `name` its artifact path; `real` is where
   * it leads (inside too). Synchronous (the stage has ended: nothing else waits on the event loop
   * meanwhile): a stat through the thread pool cost three times as much. Names are carried down and
   * paths joined by hand, as readdir's names hold no separator: path.join and path.relative per
   * file cost as much as the stat itself.
   */
  #entry(absolute: string, real: string, name: string, ancestors: Set<string>): void {
    const stat = statSync(real);
    if (stat.isFile()) {
      if (!this.#files.has(name)) this.#files.set(name, { localPath: absolute, artifactPath: name, size: stat.size });
    } else if (stat.isDirectory()) {
      // A symlink to a folder that holds the one being walked would loop forever.
      if ([...ancestors].some((ancestor) => isInside(path.relative(real, ancestor)))) {
        this.warnings.push(`'${name}' is a symlink to a folder that contains it: not followed`);
        return;
      }
      this.#folder(absolute, real, name, new Set([...ancestors, real]));
    } else {
      // A FIFO or a device would block or never end.
      this.warnings.push(`'${name}' is not a regular file: not uploaded`);
    }
  }

  #folder(absolute: string, real: string, name: string, ancestors: Set<string>): void {
    const entries = readdirSync(real, { withFileTypes: true });
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const names = name === '' ? '' : `${name}/`;
    for (const entry of entries) {
      const child = joinName(absolute, entry.name);
      const childName = names + entry.name;
      if (!entry.isSymbolicLink()) {
        this.#entry(child, joinName(real, entry.name), childName, ancestors);
        continue;
      }
      let target: string;
      try {
        target = realpathSync.native(child);
      } catch {
        this.warnings.push(`'${childName}' is a broken symlink: not uploaded`);
        continue;
      }
      if (!isInside(path.relative(this.#realRoot, target))) {
        this.warnings.push(`'${childName}' is a symlink that leads outside the project: not uploaded`);
        continue;
      }
      this.#entry(child, target, childName, ancestors);
    }
  }
}

/** `folder` (a resolved path) joined with a name that holds no separator. */
function joinName(folder: string, name: string): string {
  return folder.endsWith(path.sep) ? folder + name : folder + path.sep + name;
}

/** True when `relative` (from a folder) stays inside that folder. */
function isInside(relative: string): boolean {
  return relative !== '..' && !relative.startsWith(`..${path.sep}`) && !path.isAbsolute(relative);
}

function toArtifactPath(relative: string): string {
  return relative.split(path.sep).join('/');
}

function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' ? code : undefined;
}
