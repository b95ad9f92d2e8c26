#!/usr/bin/env node
// Checks an unpacked eddy-rnn tarball (the `package/` directory npm pack
// writes): what must ship, what must not, and that every source map resolves
// (its sources are embedded or present in the package).
'use strict';
const fs = require('fs');
const path = require('path');

const dir = path.resolve(process.argv[2] || 'package');
const files = [];
(function walk(d) {
  for (const e of fs.readdirSync(d, { withFileTypes: true })) {
    const p = path.join(d, e.name);
    if (e.isDirectory()) walk(p);
    else files.push(path.relative(dir, p).split(path.sep).join('/'));
  }
})(dir);

const required = [
  /^LICENSE$/, /^THIRD-PARTY-NOTICES\.md$/, /^CHANGELOG\.md$/, /^README\.md$/, /^package\.json$/,
  /^examples\/data\/austen-northanger-abbey\.txt$/, /^examples\/data\/co2\.csv$/,
  /^dist\/lib\/index\.js$/, /^dist\/lib\/index\.d\.ts$/, /^dist\/lib\/cli\/main\.js$/,
  /^prebuilds\/[a-z0-9]+-[a-z0-9]+\/[^/]+\.node$/, /^native\/binding\.cc$/, /^CMakeLists\.txt$/,
];
const forbidden = [/^test\//, /^bench\//, /^dist\/(test|bench|examples)\//, /^build\//, /^\.ci\//, /\.tgz$/, /^node_modules\//];

const problems = [];
for (const re of required) if (!files.some((f) => re.test(f))) problems.push(`missing: nothing matches ${re}`);
for (const f of files) for (const re of forbidden) if (re.test(f)) problems.push(`must not ship: ${f}`);
let maps = 0;
for (const f of files.filter((x) => x.endsWith('.map'))) {
  maps++;
  const map = JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8'));
  (map.sources || []).forEach((s, i) => {
    const embedded = map.sourcesContent && typeof map.sourcesContent[i] === 'string';
    const target = path.join(path.dirname(path.join(dir, f)), map.sourceRoot || '', s);
    if (!embedded && !fs.existsSync(target)) problems.push(`broken source map: ${f} points at ${s}, which the package lacks`);
  });
}
if (problems.length) {
  console.error(problems.slice(0, 20).join('\n') + (problems.length > 20 ? `\n… and ${problems.length - 20} more` : ''));
  process.exit(1);
}
console.log(`tarball contents ok: ${files.length} files, ${maps} source maps resolve`);
