#!/usr/bin/env node
// prepublishOnly: refuses to publish unless every prebuilt binary the
// package promises is present and built for its architecture. Build them
// with `npm run prebuild:all`. Usage: check-publish.js [PACKAGE_ROOT]
'use strict';
const fs = require('fs');
const path = require('path');

// Target → ELF e_machine of its binary.
const REQUIRED = { 'linux-x64': 62, 'linux-arm64': 183 };
const FILE = 'eddy-rnn.glibc.node';

const root = path.resolve(process.argv[2] || path.join(__dirname, '..'));
const problems = [];
for (const [target, machine] of Object.entries(REQUIRED)) {
  const file = path.join(root, 'prebuilds', target, FILE);
  if (!fs.existsSync(file)) {
    problems.push(`missing prebuilds/${target}/${FILE}`);
    continue;
  }
  const head = Buffer.alloc(20);
  const fd = fs.openSync(file, 'r');
  fs.readSync(fd, head, 0, head.length, 0);
  fs.closeSync(fd);
  const isElf = head.readUInt32BE(0) === 0x7f454c46;
  const found = isElf ? head.readUInt16LE(18) : null;
  if (found !== machine) problems.push(`prebuilds/${target}/${FILE} is not a ${target} binary (ELF machine ${found}, expected ${machine})`);
}
if (problems.length > 0) {
  console.error(`Refusing to publish:\n  ${problems.join('\n  ')}\nRun \`npm run prebuild:all\` (see README, "Building and packaging").`);
  process.exit(1);
}
console.log(`prebuilds present: ${Object.keys(REQUIRED).join(', ')}`);
