// Where the executable of this machine's platform is: in the package of that platform (one of the
// optionalDependencies; npm installs the one whose `os` and `cpu` match).
'use strict';
const { name } = require('./package.json');

function executable() {
  const platformPackage = `${name}-${process.platform}-${process.arch}`;
  try {
    return require.resolve(`${platformPackage}/bin/mlrun`);
  } catch {
    throw new Error(
      `the package ${platformPackage} is not installed (installed with --omit=optional, or from another platform's lock file?): install ${name} again on this machine`,
    );
  }
}

module.exports = { executable };
