import * as assert from 'assert';
import * as eddy from '../../lib';
import { additiveScore } from '../../lib/ops/additive-score';
import { gradcheck } from '../gradcheck';
import { assertClose, randomArray, rng } from '../helpers';

describe('additiveScore (fused native attention score)', () => {
  const random = rng(21);
  const qp = eddy.tensor(randomArray(2 * 3 * 5, random), [2, 3, 5]);
  const kp = eddy.tensor(randomArray(2 * 4 * 5, random), [2, 4, 5]);
  const v = eddy.tensor(randomArray(5, random), [5]);

  it('equals vᵀ tanh(qp + kp) for every query and key', () => {
    const s = additiveScore(qp, kp, v);
    assert.deepStrictEqual(s.shape, [2, 3, 4]);
    const want = new Float64Array(24);
    for (let b = 0; b < 2; b++)
      for (let i = 0; i < 3; i++)
        for (let j = 0; j < 4; j++) {
          let acc = 0;
          for (let h = 0; h < 5; h++) acc += v.data[h] * Math.tanh(qp.get(b, i, h) + kp.get(b, j, h));
          want[(b * 3 + i) * 4 + j] = acc;
        }
    assertClose(s.data, want, 1e-6);
  });

  it('gradients match finite differences for qp, kp and v', () => {
    const worst = gradcheck((a, b, c) => additiveScore(a, b, c), [qp, kp, v]);
    console.log(`      max scaled difference ${Math.max(...worst).toExponential(1)}`);
  });

  it('rejects mismatched shapes', () => {
    assert.throws(() => additiveScore(qp, eddy.tensor(new Float32Array(8), [2, 4, 1]), v), {
      name: 'ShapeError',
      message: 'Expected qp [B, Tq, H], kp [B, Tk, H] and v [H] for additiveScore but received [2, 3, 5], [2, 4, 1] and [5]',
    });
  });
});
