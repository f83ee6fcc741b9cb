// The single executable's first script: runs the bundle, an asset of the executable, with the
// code cache recorded at build time (see bundle-script.ts and scripts/build).
import { getAsset, getRawAsset } from 'node:sea';
import { compileBundle, runBundle } from './bundle-script.ts';

// The asset names are the keys of `assets` in build/sea-config.json.
// Latin-1, not UTF-8: the bundle is ASCII (scripts/bundle.ts checks), and a Latin-1 read is a plain
// copy into a one-byte string, where decoding 1 MB of UTF-8 took ~3 ms of every start.
const script = compileBundle(Buffer.from(getRawAsset('mlrun.cjs')).toString('latin1'), new Uint8Array(getRawAsset('mlrun.code-cache')));
runBundle(script, { exports: module.exports, require: requireWithAssets(), module, filename: __filename, dirname: __dirname });

/**
 * The executable's `require` loads only Node's own modules; the bundle also requires the AWS SDK,
 * bundled apart (scripts/bundle.ts), which is compiled from its asset the first time a run needs it.
 */
function requireWithAssets(): NodeJS.Require {
  const sdkModule = { exports: {} };
  let sdkLoaded = false;
  const load = (id: string): unknown => {
    if (id !== './mlrun-s3.cjs') return require(id);
    if (!sdkLoaded) {
      sdkLoaded = true;
      const sdk = compileBundle(getAsset('mlrun-s3.cjs', 'utf8'), undefined, 'mlrun-s3.cjs');
      runBundle(sdk, { exports: sdkModule.exports, require, module: sdkModule, filename: __filename, dirname: __dirname });
    }
    return sdkModule.exports;
  };
  return Object.assign(load, require);
}
