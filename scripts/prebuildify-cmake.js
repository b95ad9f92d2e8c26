#!/usr/bin/env node
// prebuildify drives node-gyp; Eddy builds with cmake-js. prebuildify calls
// this script in node-gyp's place (`--node-gyp`) with node-gyp's arguments
// (`rebuild --target=… --arch=… --release`); for a Node-API addon only the
// architecture and build type matter, so they are mapped onto cmake-js.
'use strict';
const { spawnSync } = require('child_process');

const args = process.argv.slice(2);
const cmakeJs = require.resolve('cmake-js/bin/cmake-js');
// `compile` reuses an existing build directory (incremental).
const forwarded = ['compile'];
for (const a of args) {
  if (a.startsWith('--arch=')) forwarded.push('--arch', a.slice('--arch='.length));
  if (a === '--debug') forwarded.push('--debug');
}
const r = spawnSync(process.execPath, [cmakeJs, ...forwarded], { stdio: 'inherit' });
process.exit(r.status === null ? 1 : r.status);
