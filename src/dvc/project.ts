/** The dvc.yaml files of a project, found and parsed only when asked for. */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { readParsingConfig } from './dvc-config.ts';
import { Pipeline } from './pipeline.ts';
import type { ParsingConfig } from './templating.ts';

const SKIPPED_DIRS = new Set(['.dvc', '.git', 'node_modules']);

export class Project {
  readonly root: string;
  private parsingConfig?: ParsingConfig;
  private readonly pipelines = new Map<string, Pipeline>();
  private allFiles?: string[];

  constructor(root: string) {
    this.root = path.resolve(root);
  }

  /** The parsed dvc.yaml at an absolute path (cached), or undefined when there is no such file. */
  pipeline(file: string): Pipeline | undefined {
    const abs = path.resolve(file);
    const cached = this.pipelines.get(abs);
    if (cached) return cached;
    if (!statSync(abs, { throwIfNoEntry: false })?.isFile()) return undefined;
    this.parsingConfig ??= readParsingConfig(this.root);
    const pipeline = new Pipeline(abs, { root: this.root, parsing: this.parsingConfig });
    this.pipelines.set(abs, pipeline);
    return pipeline;
  }

  /**
   * Every dvc.yaml DVC would collect: the root and nested folders, minus `.dvc/`, `.git/`,
   * `node_modules`, virtualenvs (a folder holding `pyvenv.cfg`), nested DVC/Git repos and the
   * root `.dvcignore` patterns (gitignore syntax without `!` negation).
   */
  pipelineFiles(): string[] {
    if (this.allFiles) return this.allFiles;
    const ignored = readDvcignore(this.root);
    const found: string[] = [];
    const walk = (dir: string, rel: string): void => {
      let entries;
      try {
        entries = readdirSync(dir, { withFileTypes: true });
      } catch {
        return;
      }
      const names = new Set(entries.map((e) => e.name));
      if (rel && (names.has('.dvc') || names.has('.git') || names.has('pyvenv.cfg'))) return;
      if (rel && names.has('.dvcignore') && ignoresEverything(path.join(dir, '.dvcignore'))) return;
      if (names.has('dvc.yaml') && !ignored(rel ? `${rel}/dvc.yaml` : 'dvc.yaml', false)) found.push(path.join(dir, 'dvc.yaml'));
      for (const entry of entries) {
        if (!entry.isDirectory() || SKIPPED_DIRS.has(entry.name)) continue;
        const childRel = rel ? `${rel}/${entry.name}` : entry.name;
        if (!ignored(childRel, true)) walk(path.join(dir, entry.name), childRel);
      }
    };
    walk(this.root, '');
    this.allFiles = found;
    return found;
  }
}

type IgnoreTest = (relPath: string, isDir: boolean) => boolean;

function readDvcignore(root: string): IgnoreTest {
  let text: string;
  try {
    text = readFileSync(path.join(root, '.dvcignore'), 'utf8');
  } catch {
    return () => false;
  }
  const rules = text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#') && !line.startsWith('!'))
    .map(globRule);
  return (relPath, isDir) => rules.some((rule) => rule(relPath, isDir));
}

function globRule(pattern: string): IgnoreTest {
  const dirOnly = pattern.endsWith('/');
  let body = dirOnly ? pattern.slice(0, -1) : pattern;
  // A pattern with a slash (other than a trailing one) is anchored to the root; otherwise it matches any basename.
  const anchored = body.includes('/');
  body = body.replace(/^\//, '');
  const source = body
    .split(/(\*\*\/|\/\*\*|\*|\?)/)
    .map((part) => {
      if (part === '**/') return '(?:.*/)?';
      if (part === '/**') return '/.*';
      if (part === '*') return '[^/]*';
      if (part === '?') return '[^/]';
      return part.replace(/[.+^${}()|[\]\\]/g, '\\$&');
    })
    .join('');
  const regex = new RegExp(anchored ? `^${source}$` : `(?:^|/)${source}$`);
  return (relPath, isDir) => (!dirOnly || isDir) && regex.test(relPath);
}

/** A folder's own .dvcignore that ignores all it holds (as mlrun writes into its folders). */
function ignoresEverything(file: string): boolean {
  try {
    return readFileSync(file, 'utf8')
      .split('\n')
      .some((line) => ['*', '/*', '**'].includes(line.trim()));
  } catch {
    return false;
  }
}
