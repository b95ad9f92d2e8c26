#!/usr/bin/env node
// prebuildify drives node-gyp; Eddy builds with cmake-js. prebuildify calls
// this script in node-gyp's place (`--node-gyp`) with node-gyp's arguments
// (`rebuild --target=… --arch=… --release`); for a Node-API addon only the
// architecture and build type matter, so they are mapped onto cmake-js.
// A Linux target architecture other than the host's is cross-compiled with
// cmake/toolchain-linux-<arch>.cmake.
'use strict';
const { spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const args = process.argv.slice(2);
const cmakeJs = require.resolve('cmake-js/bin/cmake-js');
// `compile` reuses an existing build directory (incremental).
const forwarded = ['compile'];
for (const a of args) {
  if (a.startsWith('--arch=')) {
    const arch = a.slice('--arch='.length);
    forwarded.push('--arch', arch);
    if (process.platform === 'linux' && arch !== process.arch) {
      const toolchain = path.resolve(__dirname, '..', 'cmake', `toolchain-linux-${arch}.cmake`);
      if (!fs.existsSync(toolchain)) {
        console.error(`Cannot cross-compile for linux-${arch}: no ${path.relative(process.cwd(), toolchain)}`);
        process.exit(1);
      }
      forwarded.push(`--CDCMAKE_TOOLCHAIN_FILE=${toolchain}`);
    }
  }
  if (a === '--debug') forwarded.push('--debug');
}
const r = spawnSync(process.execPath, [cmakeJs, ...forwarded], { stdio: 'inherit' });
process.exit(r.status === null ? 1 : r.status);
