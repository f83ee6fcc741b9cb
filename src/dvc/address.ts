/** What `DVC_STAGE` (or `--stage`) names: a stage, and the dvc.yaml holding it when given. */
export interface StageAddress {
  /** Path of the dvc.yaml as written, relative to the directory `dvc` ran in; absent for a bare name. */
  dvcYaml?: string;
  name: string;
}

const PROJECT_FILE = 'dvc.yaml';

/**
 * Parses DVC's `PipelineStage.addressing`: `name` when the dvc.yaml is the one in DVC's cwd,
 * else `<relpath>/dvc.yaml:name` with OS separators (`..\\dvc.yaml:train` on Windows).
 * Stage names cannot hold `:`, but generated names can (`train@a:b` from a matrix value), so the
 * split is at the first `dvc.yaml:` that ends a path segment, not at the last `:`.
 */
export function parseStageAddress(value: string): StageAddress {
  const trimmed = value.trim();
  for (let at = trimmed.indexOf(`${PROJECT_FILE}:`); at >= 0; at = trimmed.indexOf(`${PROJECT_FILE}:`, at + 1)) {
    const before = trimmed[at - 1];
    if (at === 0 || before === '/' || before === '\\') {
      const end = at + PROJECT_FILE.length;
      return { dvcYaml: trimmed.slice(0, end).replaceAll('\\', '/'), name: trimmed.slice(end + 1) };
    }
  }
  return { name: trimmed };
}
