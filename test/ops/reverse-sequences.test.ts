import * as assert from 'assert';
import * as eddy from '../../lib';
import { ShapeError, ValidationError } from '../../lib';
import { gradcheck } from '../gradcheck';
import { randomTensor, throwsExactly } from '../layers/module-gradcheck';

describe('reverseSequences', () => {
  it('reverses each sequence within its own length and leaves padding in place', () => {
    const x = eddy.tensor([[[1, 10], [2, 20], [3, 30], [4, 40]], [[5, 50], [6, 60], [7, 70], [8, 80]]]);
    assert.deepStrictEqual(eddy.reverseSequences(x, Int32Array.of(4, 2)).toArray(), [
      [[4, 40], [3, 30], [2, 20], [1, 10]],
      [[6, 60], [5, 50], [7, 70], [8, 80]],
    ]);
    assert.deepStrictEqual(eddy.reverseSequences(eddy.tensor([[1, 2, 3]])).toArray(), [[3, 2, 1]]);
    const y = randomTensor([3, 5, 2], 1);
    assert.deepStrictEqual(eddy.reverseSequences(eddy.reverseSequences(y, [1, 5, 3]), [1, 5, 3]).toArray(), y.toArray());
  });

  it('reads non-contiguous inputs', () => {
    const tm = randomTensor([4, 2, 3], 2); // [time, batch, features]
    const a = eddy.reverseSequences(tm.transpose(0, 1), [3, 4]);
    const b = eddy.reverseSequences(eddy.tensor(tm.transpose(0, 1).toFloat32Array(), [2, 4, 3]), [3, 4]);
    assert.deepStrictEqual(a.toArray(), b.toArray());
  });

  it('gradients match finite differences (padded steps pass straight through)', () => {
    const worst = gradcheck((x) => eddy.reverseSequences(x, [2, 4, 1]), [randomTensor([3, 4, 2], 3)]);
    console.log(`      max scaled difference ${Math.max(...worst).toExponential(1)}`);
  });

  it('rejects bad shapes and lengths with the recurrent layers\' messages', () => {
    throwsExactly(() => eddy.reverseSequences(eddy.zeros([3])), ShapeError, 'Expected x of shape [batch, time, ...] for reverseSequences but received [3]');
    throwsExactly(() => eddy.reverseSequences(eddy.zeros([2, 3, 1]), [1]), ValidationError, 'Expected lengths to be an Int32Array with one entry per sequence (2) but received length 1');
    throwsExactly(() => eddy.reverseSequences(eddy.zeros([2, 3, 1]), [1, 4]), ValidationError, 'Expected lengths between 1 and 3 (the number of time steps) but received lengths[1] = 4');
    throwsExactly(() => eddy.reverseSequences(eddy.zeros([2, 3, 1]), 'x' as never), ValidationError, 'Expected lengths to be an Int32Array with one entry per sequence (2) but received "x" of type string');
  });
});
