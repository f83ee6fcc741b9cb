/** Finding the stage mlrun runs in: from `DVC_STAGE`, from `--stage`, or by matching the command. */
import path from 'node:path';
import type { StageAddress } from './address.ts';
import { parseStageAddress } from './address.ts';
import { DvcError } from './errors.ts';
import type { Pipeline } from './pipeline.ts';
import type { Stage } from './stage.ts';
import { Project } from './project.ts';
import { findDvcRoot } from './root.ts';
import { lineRunsWrapped } from './shell-words.ts';

/** A stage found by findRunningStage comes with its project, whose parsed dvc.yaml files later questions reuse. */
export type Located = { stage: Stage; via: 'DVC_STAGE' | '--stage' | 'command'; project?: Project } | { reason: string };
type Via = 'DVC_STAGE' | '--stage';

export interface LocateOptions {
  /** The process cwd: DVC runs a stage's command in its wdir. */
  cwd: string;
  /** The `DVC_STAGE` value, if any. */
  dvcStage?: string;
  /** The `--stage NAME` flag, if any (a name or `path/dvc.yaml:name`, relative to cwd). */
  stageFlag?: string;
  /** What follows `mlrun [options] --`, to match against stage commands. */
  argv?: readonly string[];
  /** argv as a message may quote it, with its secrets taken out (default: argv). */
  shownArgv?: readonly string[];
}

/**
 * The stage this process runs as, for the CLI: the project root from `DVC_ROOT` or the nearest
 * `.dvc/`, then `DVC_STAGE` (from `env` unless given), `--stage`, or the wrapped command.
 */
export function findRunningStage(options: LocateOptions & { env?: NodeJS.ProcessEnv }): Located {
  const env = options.env ?? process.env;
  const root = findDvcRoot(options.cwd, env);
  if (!root) return { reason: `not in a DVC project (no .dvc folder above ${options.cwd})` };
  const dvcStage = options.dvcStage ?? env['DVC_STAGE'];
  const project = new Project(root);
  const located = locateStage(project, { ...options, ...(dvcStage ? { dvcStage } : {}) });
  return 'stage' in located ? { ...located, project } : located;
}

export function locateStage(project: Project, options: LocateOptions): Located {
  try {
    if (options.dvcStage) return byAddress(project, options.cwd, options.dvcStage, 'DVC_STAGE');
    if (options.stageFlag) return byAddress(project, options.cwd, options.stageFlag, '--stage');
    if (options.argv?.length) return byCommand(project, options.cwd, options.argv, options.shownArgv ?? options.argv);
    return { reason: 'no DVC_STAGE, --stage or command to find the DVC stage by' };
  } catch (err) {
    if (err instanceof DvcError) return { reason: err.message };
    throw err;
  }
}

function isInside(parent: string, child: string): boolean {
  const rel = path.relative(parent, child);
  return !rel.startsWith('..') && !path.isAbsolute(rel);
}

/** cwd, its parents, up to the project root: where `dvc` most likely ran (wdir is usually at or below it). */
function ancestors(root: string, cwd: string): string[] {
  const dirs: string[] = [];
  if (isInside(root, cwd)) for (let dir = cwd; isInside(root, dir) && dir !== root; dir = path.dirname(dir)) dirs.push(dir);
  dirs.push(root);
  return dirs;
}

/**
 * `DVC_STAGE` paths are relative to the directory `dvc` ran in, which the stage cannot see: its
 * cwd is the stage wdir. So the dvc.yaml is looked for from cwd upwards (reading only those files),
 * and only then among every dvc.yaml of the project whose path ends like the given one. When several
 * define the name, the one whose stage runs in cwd wins.
 */
function byAddress(project: Project, cwd: string, value: string, via: Via): Located {
  const address = parseStageAddress(value);
  if (!address.name) return { reason: `${via} '${value}' names no stage` };
  const errors: string[] = [];
  const near = ancestors(project.root, path.resolve(cwd)).map((dir) => path.resolve(dir, address.dvcYaml ?? 'dvc.yaml'));
  const found = pick(project, near, address, cwd, via, errors);
  if (found) return found;
  const tail = (address.dvcYaml ?? 'dvc.yaml').split('/').filter((s) => s !== '..' && s !== '.');
  const far = project.pipelineFiles().filter((file) => endsWithSegments(file, tail) && !near.includes(file));
  return (
    pick(project, far, address, cwd, via, errors) ?? {
      // A broken dvc.yaml may well be the one holding the stage: say so rather than "not found".
      reason: errors[0] ?? `${via} '${value}': no such stage in ${describe(project, address)}`,
    }
  );
}

function pick(project: Project, files: string[], address: StageAddress, cwd: string, via: Via, errors: string[]): Located | undefined {
  const matches: Stage[] = [];
  for (const file of new Set(files)) {
    if (!isInside(project.root, file)) continue;
    let stage: Stage | undefined;
    try {
      stage = project.pipeline(file)?.stage(address.name);
    } catch (err) {
      if (!(err instanceof DvcError)) throw err;
      errors.push(err.message);
      continue;
    }
    if (!stage) continue;
    if (stage.wdir === path.resolve(cwd)) return { stage, via };
    matches.push(stage);
  }
  if (matches.length === 1) return { stage: matches[0] as Stage, via };
  if (matches.length > 1) return { reason: ambiguous(project, `'${address.name}'`, matches) };
  return undefined;
}

function endsWithSegments(file: string, tail: string[]): boolean {
  const segments = file.split(path.sep);
  return tail.every((segment, i) => segments[segments.length - tail.length + i] === segment);
}

function describe(project: Project, address: StageAddress): string {
  return address.dvcYaml ? `'${address.dvcYaml}'` : `the dvc.yaml files of ${project.root}`;
}

function ambiguous(project: Project, what: string, stages: Stage[]): string {
  const names = stages.map((s) => {
    const file = path.relative(project.root, s.dvcYamlPath);
    return file === 'dvc.yaml' ? s.name : `${file}:${s.name}`;
  });
  return `${what} matches ${stages.length} stages (${names.join(', ')}); set --stage`;
}

/** The stage whose `cmd` (one of its lines, as DVC runs each separately) is `mlrun ... -- <argv>`. */
function byCommand(project: Project, cwd: string, argv: readonly string[], shownArgv: readonly string[]): Located {
  const matches: Stage[] = [];
  const errors: string[] = [];
  for (const file of project.pipelineFiles()) {
    let pipeline: Pipeline | undefined;
    try {
      pipeline = project.pipeline(file);
      for (const stage of pipeline?.stages() ?? []) {
        const lines = (Array.isArray(stage.cmd) ? stage.cmd : [stage.cmd]).flatMap((cmd) => cmd.split(/\r\n|\r|\n/));
        if (lines.some((line) => lineRunsWrapped(line, argv))) matches.push(stage);
      }
    } catch (err) {
      // One broken dvc.yaml must not hide the stage in another; mention it only if nothing matched.
      if (!(err instanceof DvcError)) throw err;
      errors.push(err.message);
    }
  }
  const command = `'${shownArgv.join(' ')}'`;
  if (matches.length === 1) return { stage: matches[0] as Stage, via: 'command' };
  const inCwd = matches.filter((s) => s.wdir === path.resolve(cwd));
  if (inCwd.length === 1) return { stage: inCwd[0] as Stage, via: 'command' };
  if (matches.length > 1) return { reason: ambiguous(project, `command ${command}`, inCwd.length ? inCwd : matches) };
  return { reason: `no stage runs 'mlrun -- ${shownArgv.join(' ')}'${errors.length ? ` (${errors[0]})` : ''}` };
}
