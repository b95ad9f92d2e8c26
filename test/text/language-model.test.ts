import * as assert from 'assert';
import * as eddy from '../../lib';

describe('text language-model data', () => {
  it('nextTokenData: targets are the inputs shifted by one', () => {
    const { x, y } = eddy.text.nextTokenData([1, 2, 3, 4, 5, 6, 7], { sequenceLength: 3 });
    assert.deepStrictEqual(x.toArray(), [[1, 2, 3], [4, 5, 6]]);
    assert.deepStrictEqual(y.toArray(), [[2, 3, 4], [5, 6, 7]]);
    const o = eddy.text.nextTokenData(Int32Array.of(1, 2, 3, 4, 5), { sequenceLength: 3, stride: 1 });
    assert.deepStrictEqual(o.x.toArray(), [[1, 2, 3], [2, 3, 4]]);
    assert.throws(() => eddy.text.nextTokenData([1, 2, 3], { sequenceLength: 3 }), { name: 'ShapeError', message: 'Expected at least sequenceLength + 1 = 4 ids for nextTokenData but received 3' });
  });

  it('unigramEntropy in bits per token', () => {
    assert.strictEqual(eddy.text.unigramEntropy([1, 1, 2, 2]), 1);
    assert.strictEqual(eddy.text.unigramEntropy([5, 5, 5]), 0);
    assert.ok(Math.abs(eddy.text.unigramEntropy([0, 1, 2, 3, 4, 5, 6, 7]) - 3) < 1e-12);
  });
});
