/**
 * Training and eval mode travel with each call: `fit` trains, `predict`
 * and `evaluate` run in eval mode, and none of them touches the model's
 * `training` flag, so they can run at the same time on one model.
 */
import * as assert from 'assert';
import * as eddy from '../../lib';
import { Tensor } from '../../lib';
import { rng } from '../helpers';

const ones = (shape: number[]): Tensor => new Tensor(new Float32Array(shape.reduce((a, b) => a * b, 1)).fill(1), shape);

/** Rows of ones and zero targets: any exact zero in a prediction is a dropped element. */
function rows(n: number, features: number): { x: Tensor; y: Tensor } {
  return { x: ones([n, features]), y: eddy.zeros([n, 16]) };
}

/** A layer that records the mode its calls ran in. */
class ModeProbe extends eddy.Module {
  readonly seen: boolean[] = [];
  forward(x: Tensor, opts: { training?: boolean } = {}): Tensor {
    this.seen.push(this.modeOf(opts.training));
    return x;
  }
  toString(): string {
    return 'ModeProbe()';
  }
}

const zerosIn = (t: Tensor): number => t.toFloat32Array().filter((v) => v === 0).length;

describe('model: training and eval mode per call', () => {
  it('predict during fit: every training batch drops, no prediction does, and the flag stays', async function () {
    this.timeout(30000);
    eddy.manualSeed(11);
    // 16 outputs at p = 0.5: a training batch keeps all of them with probability 2^-16 per row.
    const model = eddy.sequential([new eddy.Linear({ inFeatures: 8, outFeatures: 16 }), new eddy.Dropout({ p: 0.5 })]);
    model.eval();
    const { x, y } = rows(120, 8);
    let trainingBatches = 0;
    let droppedBatches = 0;
    const loss = (p: Tensor, t: Tensor): Tensor => {
      trainingBatches++;
      if (zerosIn(p) > 0) droppedBatches++;
      return eddy.losses.mse(p, t);
    };
    let predictions = 0;
    let droppedPredictions = 0;
    let fitting = true;
    const predicting = (async () => {
      while (fitting || predictions < 240) {
        const out = await model.predict(ones([1, 8]));
        predictions++;
        // A Linear output of exactly 0 from random weights and bias does not happen; a dropped one is exactly 0.
        if (zerosIn(out) > 0) droppedPredictions++;
      }
    })();
    const history = await model.fit({ x, y }, { loss, batchSize: 1, epochs: 1, optimizer: new eddy.optim.SGD(model.parameters(), { lr: 1e-3 }) });
    fitting = false;
    await predicting;
    assert.strictEqual(history.epoch.length, 1);
    assert.strictEqual(trainingBatches, 120);
    assert.strictEqual(droppedBatches, 120, `${120 - droppedBatches} of 120 training batches ran without dropout`);
    assert.ok(predictions >= 240);
    assert.strictEqual(droppedPredictions, 0, `${droppedPredictions} of ${predictions} predictions ran with dropout`);
    assert.strictEqual(model.training, false);
    assert.strictEqual(model.layers[1].training, false);
  });

  it('evaluate and predict leave a training model in training mode, and fit leaves an eval one in eval mode', async () => {
    const probe = new ModeProbe();
    const model = eddy.sequential([new eddy.Linear({ inFeatures: 2, outFeatures: 3 }), probe]);
    const data = { x: ones([4, 2]), y: eddy.zeros([4, 3]) };
    await model.evaluate(data, { loss: 'mse', batchSize: 2 });
    await model.predict(data.x, { batchSize: 4 });
    assert.deepStrictEqual(probe.seen, [false, false, false]);
    assert.strictEqual(model.training, true);
    model.eval();
    probe.seen.length = 0;
    await model.fit(data, { loss: 'mse', batchSize: 2, validationData: data });
    assert.deepStrictEqual(probe.seen, [true, true, false, false], 'two training batches, then validation');
    assert.strictEqual(model.training, false);
    // Direct calls follow the flag unless the call says otherwise.
    probe.seen.length = 0;
    eddy.noGrad(() => model.forward(data.x));
    eddy.noGrad(() => model.forward(data.x, { training: true }));
    model.train();
    eddy.noGrad(() => model.forward(data.x));
    assert.deepStrictEqual(probe.seen, [false, true, true]);
  });

  it('functional models pass the mode to every layer, recurrent ones included', async () => {
    const probe = new ModeProbe();
    const input = eddy.input({ shape: [5, 3] });
    const h = new eddy.LSTM({ inputSize: 3, hiddenSize: 4 }).apply(input);
    const out = probe.apply(h);
    const model = eddy.model({ inputs: input, outputs: out });
    await model.predict(ones([2, 5, 3]));
    await model.fit({ x: ones([2, 5, 3]), y: eddy.zeros([2, 5, 4]) }, { loss: 'mse', batchSize: 2 });
    assert.deepStrictEqual(probe.seen, [false, true]);
  });

  it('a recurrent layer drops per call: training: true in eval mode, training: false in training mode', () => {
    eddy.manualSeed(3);
    const lstm = new eddy.LSTM({ inputSize: 3, hiddenSize: 8, numLayers: 2, dropout: 0.5, recurrentDropout: 0.5 });
    const bi = new eddy.Bidirectional(new eddy.GRU({ inputSize: 3, hiddenSize: 8, recurrentDropout: 0.5 }));
    const random = rng(5);
    const x = new Tensor(Float32Array.from({ length: 36 }, () => random() * 2 - 1), [2, 6, 3]);
    for (const layer of [lstm, bi]) {
      layer.eval();
      const plain = eddy.noGrad(() => layer.forward(x).output.toFloat32Array());
      const dropped = eddy.noGrad(() => layer.forward(x, { training: true }).output.toFloat32Array());
      layer.train();
      const evalCall = eddy.noGrad(() => layer.forward(x, { training: false }).output.toFloat32Array());
      // Eval calls are deterministic and identical (same kernels, same inputs); a dropped call differs.
      assert.deepStrictEqual(Array.from(evalCall), Array.from(plain), layer.toString());
      assert.ok(dropped.some((v, i) => v !== plain[i]), `${layer.toString()} dropped nothing with training: true`);
      assert.strictEqual(layer.training, true);
    }
    assert.throws(() => lstm.forward(x, { training: 'yes' as never }), { name: 'ValidationError', message: 'Expected boolean for training but received "yes" of type string' });
  });
});
