// CommonJS consumer of the installed package: loads the native binding and
// multiplies two matrices (exact in float32: small integers).
'use strict';
const assert = require('assert');
const eddy = require('eddy-rnn');

const c = eddy.matmul(eddy.tensor([[1, 2], [3, 4]]), eddy.tensor([[5, 6], [7, 8]]));
assert.deepStrictEqual(c.toArray(), [[19, 22], [43, 50]]);
assert.strictEqual(require('eddy-rnn/package.json').name, 'eddy-rnn');
console.log(`require('eddy-rnn') works: [[1, 2], [3, 4]] x [[5, 6], [7, 8]] = ${JSON.stringify(c.toArray())}`);
