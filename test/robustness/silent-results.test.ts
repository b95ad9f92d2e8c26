/**
 * Results that used to be silently wrong: a matmul input edited between
 * forward and backward, and validationSplit ignored.
 */
import * as assert from 'assert';
import * as eddy from '../../lib';

describe('robustness: no silent wrong results', () => {
  it('matmul keeps what backward needs: editing an input array afterwards does not change the gradients', () => {
    const aData = new Float32Array([1, 2]);
    const bData = new Float32Array([3, 4]);
    const a = eddy.tensor(aData, [1, 2], { requiresGrad: true });
    const b = eddy.tensor(bData, [2, 1], { requiresGrad: true });
    const y = eddy.matmul(a, b).sum();
    bData[0] = 100;
    aData[1] = -7;
    y.backward();
    // dA = Bᵀ and dB = Aᵀ at the forward call: exact small integers in float32.
    assert.deepStrictEqual(Array.from(a.grad!.toFloat32Array()), [3, 4]);
    assert.deepStrictEqual(Array.from(b.grad!.toFloat32Array()), [1, 2]);
  });

  it('fit({ validationSplit }) evaluates the last rows, before shuffling, and trains on the others only', async () => {
    eddy.manualSeed(3);
    const x = eddy.tensor(Array.from({ length: 10 }, (_, i) => [i / 10, 1]));
    const y = eddy.tensor(Array.from({ length: 10 }, (_, i) => [i < 8 ? 0 : 5]));
    const model = new eddy.Sequential([new eddy.Linear({ inFeatures: 2, outFeatures: 1 })]);
    // lr 0: the weights stay put, so valLoss must equal evaluate() on rows 8 and 9.
    const optimizer = new eddy.optim.SGD(model.parameters(), { lr: 0 });
    const history = await model.fit({ x, y }, { loss: 'mse', epochs: 1, validationSplit: 0.2, optimizer, batchSize: 4 });
    const last = await model.evaluate({ x: x.slice(0, 8, 10), y: y.slice(0, 8, 10) }, { loss: 'mse' });
    const first = await model.evaluate({ x: x.slice(0, 0, 8), y: y.slice(0, 0, 8) }, { loss: 'mse' });
    assert.strictEqual(history.history.valLoss[0], last.loss);
    assert.strictEqual(history.history.loss[0].toFixed(5), first.loss.toFixed(5));
  });
});
