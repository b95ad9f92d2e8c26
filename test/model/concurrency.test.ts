/**
 * Many calls in flight on one model at once: each gets its own result, as
 * if it had run alone.
 */
import * as assert from 'assert';
import * as eddy from '../../lib';
import { Tensor } from '../../lib';
import { assertClose, randomArray, rng } from '../helpers';

describe('model: concurrent calls', () => {
  it('32 concurrent forwardAsync calls on one layer and one model give the results of calls run one at a time', async () => {
    eddy.manualSeed(4);
    const lstm = new eddy.LSTM({ inputSize: 5, hiddenSize: 12, numLayers: 2, bidirectional: true }).eval();
    const model = eddy.sequential([new eddy.GRU({ inputSize: 5, hiddenSize: 7 }), new eddy.Linear({ inFeatures: 7, outFeatures: 3 })]).eval();
    const random = rng(9);
    // Different batch sizes and lengths, so the calls differ in every size the kernels see.
    const inputs = Array.from({ length: 32 }, (_, i) => new Tensor(randomArray((1 + (i % 4)) * (3 + (i % 5)) * 5, random), [1 + (i % 4), 3 + (i % 5), 5]));
    const alone = eddy.noGrad(() => inputs.map((x) => [lstm.forward(x).output.toFloat32Array(), model.forward(x).toFloat32Array()]));
    const together = await eddy.noGrad(() => Promise.all(inputs.map(async (x) => [(await lstm.forwardAsync(x)).output.toFloat32Array(), (await model.forwardAsync(x)).toFloat32Array()])));
    // The same kernels on the same inputs: concurrency only changes which
    // worker runs a call, not the order of any sum, so the results agree to
    // the last bit; the tolerance only makes a failure report its size.
    let worst = 0;
    together.forEach(([a, b], i) => {
      worst = Math.max(worst, assertClose(a, alone[i][0], 0, `lstm call ${i}`), assertClose(b, alone[i][1], 0, `model call ${i}`));
    });
    assert.strictEqual(worst, 0);
  });
});
