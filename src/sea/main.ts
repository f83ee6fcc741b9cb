// The single executable's first script: runs the bundle, an asset of the executable, with the
// code cache recorded at build time (see bundle-script.ts and scripts/build).
import { getAsset, getRawAsset } from 'node:sea';
import { compileBundle, runBundle } from './bundle-script.ts';

// The asset names are the keys of `assets` in build/sea-config.json.
const script = compileBundle(getAsset('mlrun.cjs', 'utf8'), new Uint8Array(getRawAsset('mlrun.code-cache')));
runBundle(script, { exports: module.exports, require, module, filename: __filename, dirname: __dirname });
