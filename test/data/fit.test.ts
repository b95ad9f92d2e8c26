import * as assert from 'assert';
import * as eddy from '../../lib';

const { fromArray, fromGenerator } = eddy.data;

interface Tagged {
  x: number[][];
  y: number[];
}

/** Sequences of 3–12 steps × 2 features; the tag of step t says whether the running sum of feature 0 is positive. */
function runningSignTask(n: number, seed: number): Tagged[] {
  const g = new eddy.Generator(seed);
  return Array.from({ length: n }, () => {
    const steps = 3 + Math.floor(g.next() * 10);
    let sum = 0;
    const x: number[][] = [];
    const y: number[] = [];
    for (let t = 0; t < steps; t++) {
      const a = g.next() * 2 - 1;
      sum += a;
      x.push([a, g.next()]);
      y.push(sum > 0 ? 1 : 0);
    }
    return { x, y };
  });
}

describe('data: fit on a dataset', () => {
  it('trains a GRU tagger on padded variable-length batches (shuffle, split, padBatch, prefetch), masking padded steps', async () => {
    eddy.manualSeed(7);
    const all = fromArray(runningSignTask(480, 3));
    const { train, validation } = all.split({ validation: 0.2, seed: 1 });
    // Padded targets hold 7, not a class: the loss only accepts them because fit passes the lengths on.
    const pad = { sequenceTargets: true, targetPadValue: 7 };
    const trainBatches = train.shuffle(256, { seed: 2 }).padBatch(16, pad).prefetch(2);
    const model = eddy.sequential([new eddy.GRU({ inputSize: 2, hiddenSize: 16 }), new eddy.Linear({ inFeatures: 16, outFeatures: 2 })]);
    const history = await model.fit(trainBatches, {
      epochs: 8,
      loss: 'crossEntropy',
      metrics: ['accuracy'],
      optimizer: new eddy.optim.Adam(model.parameters(), { lr: 0.02 }),
      validationData: validation.padBatch(64, pad),
    });
    const loss = history.history.loss;
    const valAccuracy = history.history.valAccuracy;
    console.log(`      loss ${loss[0].toFixed(3)} → ${loss[loss.length - 1].toFixed(3)}, validation accuracy ${valAccuracy[0].toFixed(3)} → ${valAccuracy[valAccuracy.length - 1].toFixed(3)}`);
    assert.ok(loss[loss.length - 1] < 0.6 * loss[0], `the loss falls: ${loss.map((l) => l.toFixed(3))}`);
    assert.ok(valAccuracy[valAccuracy.length - 1] > 0.85, `validation accuracy ${valAccuracy.map((a) => a.toFixed(3))}`);
  });

  it('takes bucketed batches and stops cleanly when fit fails mid-epoch', async () => {
    eddy.manualSeed(8);
    const items = runningSignTask(64, 4).map(({ x, y }) => ({ x, y: y[y.length - 1] }));
    const model = eddy.sequential([
      new eddy.GRU({ inputSize: 2, hiddenSize: 8 }),
      new eddy.SequencePooling({ mode: 'last' }),
      new eddy.Linear({ inFeatures: 8, outFeatures: 2 }),
    ]);
    const history = await model.fit(fromArray(items).bucketBy([6, 9], 8), { epochs: 2, loss: 'crossEntropy' });
    assert.strictEqual(history.history.loss.length, 2);
    let closed = 0;
    const failing = fromGenerator(function* () {
      try {
        for (let i = 0; i < 64; i++) yield i === 40 ? { x: [[Number.NaN, 0]], y: 0 } : items[i];
      } finally {
        closed++;
      }
    }).padBatch(8);
    await assert.rejects(model.fit(failing, { epochs: 1, loss: 'crossEntropy' }), { name: 'NonFiniteError' });
    assert.strictEqual(closed, 1, 'the source was closed when fit stopped');
  });
});
