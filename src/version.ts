// The version is the one in package.json (scripts/release checks that they agree); the commit is
// stamped into the bundle by scripts/bundle.ts.
declare const MLRUN_COMMIT: string | undefined;

export const VERSION = '0.1.0';

/** `mlrun 0.1.0 (commit abc1234, linux-x64)`: the platform is that of the Node the executable carries. */
export function versionLine(): string {
  const commit = typeof MLRUN_COMMIT === 'string' ? MLRUN_COMMIT : 'unknown';
  return `mlrun ${VERSION} (commit ${commit}, ${process.platform}-${process.arch})`;
}
