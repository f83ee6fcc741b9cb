// The version is package.json's (bundled in by esbuild); the commit is stamped into the bundle by
// scripts/bundle.ts.
import packageJson from '../package.json' with { type: 'json' };

declare const MLRUN_COMMIT: string | undefined;

export const VERSION = packageJson.version;

/** `mlrun 0.1.0 (commit abc1234, linux-x64)`: the platform is that of the Node the executable carries. */
export function versionLine(): string {
  const commit = typeof MLRUN_COMMIT === 'string' ? MLRUN_COMMIT : 'unknown';
  return `mlrun ${VERSION} (commit ${commit}, ${process.platform}-${process.arch})`;
}
