/**
 * Which of a stage's deps are data rather than code: what DVC itself tracks as data. A stage's
 * `deps:` list mixes both (`src/train.py` beside `data/features`), and only the data is worth
 * showing as an MLflow dataset.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Project } from './project.ts';

/** `s3://…`, `https://…`: an external dependency, which DVC only ever tracks as data. */
const URL_SCHEME = /^[a-z][a-z0-9+.-]*:\/\//i;

/** The declared `outs`, `metrics` and `plots` of the stages in `dvcYamls` (every one of the project by default), absolute. */
export function pipelineOutputs(project: Project, dvcYamls = project.pipelineFiles()): string[] {
  return dvcYamls
    .flatMap((file) => project.pipeline(file)?.stages() ?? [])
    .flatMap((stage) => [...stage.outs, ...stage.metrics, ...stage.plots].map((output) => path.resolve(stage.wdir, output.path)));
}

export class TrackedData {
  readonly #project: Project;
  readonly #outputs: string[];

  constructor(project: Project) {
    this.#project = project;
    this.#outputs = pipelineOutputs(project);
  }

  /**
   * Whether a dep of the stage (`dep` as written, relative to its wdir) is data: a URL, a path
   * that is, holds or lies inside some stage's output, or one `dvc add`/`dvc import` tracks
   * (a `<path>.dvc` file beside it or beside a folder holding it).
   */
  isData(dvcYaml: string, stageName: string, dep: string): boolean {
    if (URL_SCHEME.test(dep)) return true;
    const file = path.join(this.#project.root, dvcYaml);
    const wdir = this.#project.pipeline(file)?.stage(stageName)?.wdir ?? path.dirname(file);
    const abs = path.resolve(wdir, dep);
    if (this.#outputs.some((output) => within(abs, output) || within(output, abs))) return true;
    for (let at = abs; within(at, this.#project.root) && at !== this.#project.root; at = path.dirname(at)) {
      if (existsSync(`${at}.dvc`)) return true;
    }
    return false;
  }
}

function within(file: string, folder: string): boolean {
  const relative = path.relative(folder, file);
  return relative === '' || (!relative.startsWith('..') && !path.isAbsolute(relative));
}
