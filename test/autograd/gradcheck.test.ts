import * as assert from 'assert';
import * as eddy from '../../lib';
import { Tensor } from '../../lib';
import { gradcheck, randomInput } from '../gradcheck';
import { rng } from '../helpers';

/** y = scale·x with a backward that uses `gradScale`: a deliberately wrong op when they differ. */
function scaled(x: Tensor, scale: number, gradScale: number): Tensor {
  const y = eddy.tensor(x.toFloat32Array().map((v) => v * scale), x.shape.slice());
  eddy.record('scaled', [x], [y], ([g]) => [g === null ? null : eddy.mul(g, gradScale)]);
  return y;
}

/** tanh with the classic slip: 1 - y instead of 1 - y². */
function wrongTanh(x: Tensor): Tensor {
  const y = eddy.noGrad(() => eddy.tanh(x));
  eddy.record('wrongTanh', [x], [y], ([g]) => [g === null ? null : eddy.mul(g, eddy.sub(1, y))]);
  return y;
}

describe('gradcheck', () => {
  it('passes correct gradients with float32 noise well under the tolerance', () => {
    const random = rng(61);
    // Many outputs and long dot products: the most rounding noise the default eps must absorb.
    const diffs = gradcheck((a, b) => eddy.tanh(eddy.matmul(a, b)), [randomInput([16, 40], random), randomInput([40, 16], random)]);
    console.log(`      [16,40]×[40,16] with tanh: max scaled differences ${diffs.map((d) => d.toExponential(2)).join(', ')} (tolerance 2e-3)`);
    assert.ok(Math.max(...diffs) < 2e-4);
  });

  it('catches a gradient that is 1% off, a wrong derivative and a missing gradient', () => {
    const random = rng(62);
    const x = randomInput([3, 4], random);
    assert.throws(() => gradcheck((t) => scaled(t, 3, 3.03), [x]), /gradcheck: input 0 element \d+: autograd/);
    assert.throws(() => gradcheck(wrongTanh, [x]), /gradcheck: input 0/);
    assert.throws(() => gradcheck((a, b) => eddy.add(a, eddy.noGrad(() => eddy.mul(b, 2))), [x, randomInput([4], random)]), /gradcheck: input 1/);
    assert.doesNotThrow(() => gradcheck((t) => scaled(t, 3, 3), [x]));
  });

  it('leaves its inputs as they were: values, grad and requiresGrad', () => {
    const random = rng(63);
    const x = randomInput([2, 3], random, 'transposed');
    const before = Array.from(x.data);
    gradcheck(eddy.tanh, [x]);
    assert.deepStrictEqual(Array.from(x.data), before);
    assert.strictEqual(x.grad, null);
    assert.strictEqual(x.requiresGrad, false);
  });
});
