// The bundle (build/mlrun.cjs) as a vm.Script, so that the executable can start it with a V8 code
// cache recorded after real runs (scripts/train-code-cache.ts). Node's own SEA code cache is made
// before anything runs: it holds only the bundle's top level, and every function a stage calls
// would still be compiled at each start (~45 ms of a stage's overhead).
import vm from 'node:vm';

/** The CommonJS variables the bundle expects, as Node's module wrapper passes them. */
export interface ModuleScope {
  exports: unknown;
  require: NodeJS.Require;
  module: unknown;
  filename: string;
  dirname: string;
}

type Wrapped = (exports: unknown, require: NodeJS.Require, module: unknown, filename: string, dirname: string) => void;

export function compileBundle(source: string, cachedData?: Uint8Array, filename = 'mlrun.cjs'): vm.Script {
  return new vm.Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, {
    filename,
    ...(cachedData ? { cachedData } : {}),
  });
}

export function runBundle(script: vm.Script, scope: ModuleScope): void {
  (script.runInThisContext() as Wrapped)(scope.exports, scope.require, scope.module, scope.filename, scope.dirname);
}
