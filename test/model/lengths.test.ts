import * as assert from 'assert';
import * as eddy from '../../lib';
import { Tensor } from '../../lib';

const rand = (shape: number[], seed: number): Tensor => {
  const n = shape.reduce((a, b) => a * b, 1);
  return eddy.tensor(new eddy.Generator(seed).uniform(new Float32Array(n), -1, 1), shape);
};

/** The graph runs the very same kernels on the very same inputs as the hand-written composition: results are bit-identical. */
const same = (a: Tensor, b: Tensor, what: string): void => {
  assert.deepStrictEqual(a.shape, b.shape, what);
  assert.deepStrictEqual(Array.from(a.toFloat32Array()), Array.from(b.toFloat32Array()), what);
};

/** A source and a target of different lengths: an encoder GRU, a decoder GRU attending over it, logits per target step. */
function encoderDecoder(): { model: eddy.GraphModel; enc: eddy.GRU; dec: eddy.GRU; attention: eddy.DotAttention; head: eddy.Linear } {
  eddy.manualSeed(5);
  const source = eddy.input({ shape: [null, 3], name: 'source' });
  const target = eddy.input({ shape: [null, 2], name: 'target' });
  const enc = new eddy.GRU({ inputSize: 3, hiddenSize: 4 });
  const dec = new eddy.GRU({ inputSize: 2, hiddenSize: 4 });
  const attention = new eddy.DotAttention();
  const head = new eddy.Linear({ inFeatures: 8, outFeatures: 5 });
  const queries = dec.apply(target);
  const context = attention.apply([queries, enc.apply(source)]);
  const logits = head.apply(new eddy.Concatenate().apply([queries, context]));
  return { model: eddy.model({ inputs: [source, target], outputs: logits }), enc, dec, attention, head };
}

describe('lengths per input (functional models)', () => {
  const src = rand([3, 6, 3], 1);
  const tgt = rand([3, 4, 2], 2);
  const srcLengths = Int32Array.from([6, 2, 4]);
  const tgtLengths = Int32Array.from([1, 4, 3]);

  it('masks each input with its own lengths, through every layer that reads it', () => {
    const { model, enc, dec, attention, head } = encoderDecoder();
    const out = eddy.noGrad(() => model.forward([src, tgt], { lengths: [srcLengths, tgtLengths] }) as Tensor);
    const expected = eddy.noGrad(() => {
      const keys = enc.forward(src, { lengths: srcLengths }).output;
      const queries = dec.forward(tgt, { lengths: tgtLengths }).output;
      const context = attention.forward(queries, keys, { lengths: srcLengths }).context;
      return head.forward(eddy.concat([queries, context], 2));
    });
    same(out, expected, 'logits');
  });

  it('takes null for an input without padding', () => {
    const { model, enc, dec, attention, head } = encoderDecoder();
    const out = eddy.noGrad(() => model.forward([src, tgt], { lengths: [srcLengths, null] }) as Tensor);
    const expected = eddy.noGrad(() => {
      const keys = enc.forward(src, { lengths: srcLengths }).output;
      const queries = dec.forward(tgt).output;
      return head.forward(eddy.concat([queries, attention.forward(queries, keys, { lengths: srcLengths }).context], 2));
    });
    same(out, expected, 'logits');
  });

  it('masks the loss of fit and evaluate with the lengths that reach the output', async () => {
    const { model } = encoderDecoder();
    const y = eddy.tensor(Float32Array.from({ length: 12 }, (_, i) => i % 5), [3, 4]);
    const logs = await model.evaluate({ x: [src, tgt], y, lengths: [srcLengths, tgtLengths] }, { loss: 'crossEntropy', batchSize: 3 });
    const pred = eddy.noGrad(() => model.forward([src, tgt], { lengths: [srcLengths, tgtLengths] }) as Tensor);
    const masked = eddy.losses.crossEntropy(pred, y, { lengths: tgtLengths }).item();
    const unmasked = eddy.losses.crossEntropy(pred, y).item();
    assert.ok(Math.abs(masked - unmasked) > 1e-3, 'the test needs padding that changes the loss');
    // Both sides compute the same float32 loss over the same rows; evaluate averages one batch.
    assert.ok(Math.abs(logs.loss - masked) <= 1e-6, `evaluate ${logs.loss} vs masked cross-entropy ${masked}`);
    const history = await model.fit({ x: [src, tgt], y, lengths: [srcLengths, tgtLengths] }, { loss: 'crossEntropy', batchSize: 3, shuffle: false, optimizer: new eddy.optim.SGD(model.parameters(), { lr: 0 }) });
    assert.ok(Math.abs(history.history.loss[0] - masked) <= 1e-6, `fit ${history.history.loss[0]} vs ${masked}`);
  });

  it('predict cuts every input’s lengths into its batches', async () => {
    const { model } = encoderDecoder();
    const whole = eddy.noGrad(() => model.forward([src, tgt], { lengths: [srcLengths, null] }) as Tensor);
    const batched = await model.predict([src, tgt], { lengths: [srcLengths, null], batchSize: 2 });
    // GEMMs over 2 rows rather than 3 may sum in another order: float32 rounding of sums of ≤ 8 terms of size ≤ 1.
    assert.deepStrictEqual(batched.shape, whole.shape);
    const a = batched.toFloat32Array(), b = whole.toFloat32Array();
    const worst = a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);
    assert.ok(worst <= 1e-6, `largest difference ${worst} (tolerance 1e-6)`);
  });

  it('drops the lengths where the time axis ends and joins them where sequences meet', () => {
    eddy.manualSeed(6);
    const a = eddy.input({ shape: [null, 2] });
    const b = eddy.input({ shape: [null, 2] });
    const joined = new eddy.Concatenate().apply([a, b]);
    const pooled = new eddy.SequencePooling({ mode: 'mean' }).apply(joined);
    const model = eddy.model({ inputs: [a, b], outputs: [joined, pooled] });
    const x = rand([2, 3, 2], 3);
    const [j, p] = eddy.noGrad(() => model.forward([x, x], { lengths: [[3, 1], [2, 2]] }) as Tensor[]);
    assert.deepStrictEqual(Array.from(eddy.lengthsOfOutput(j)!), [2, 1]);
    assert.strictEqual(eddy.lengthsOfOutput(p), undefined);
    // The mean runs over the joined lengths: row 0 over its first two steps.
    const x0 = x.toFloat32Array();
    assert.ok(Math.abs(p.get(0, 0) - (x0[0] + x0[2]) / 2) < 1e-6);
  });

  it('names the input whose lengths are wrong', async () => {
    const { model } = encoderDecoder();
    assert.throws(() => model.forward([src, tgt], { lengths: [srcLengths] }), {
      name: 'ValidationError',
      message: 'Expected lengths with one entry per input of Model(2 inputs, 1 output) (2) but received 1',
    });
    assert.throws(() => model.forward([src, tgt], { lengths: [srcLengths, [1, 5, 2]] }), {
      name: 'ValidationError',
      message: 'Expected lengths[1] between 1 and 4 (the number of time steps) but received lengths[1] = 5 (for inputs[1] of Model(2 inputs, 1 output))',
    });
    const y = eddy.zeros([3, 4]);
    await assert.rejects(() => model.evaluate({ x: [src, tgt], y, lengths: [srcLengths, [1, 2]] }, { loss: 'crossEntropy' }), {
      name: 'ShapeError',
      message: 'Expected data.lengths[1] to have one entry per row (3) but received 2',
    });
  });

  it('Sequential takes one lengths array, alone or as the single entry for its input', () => {
    eddy.manualSeed(8);
    const model = eddy.sequential([new eddy.GRU({ inputSize: 3, hiddenSize: 4 })]);
    same(eddy.noGrad(() => model.forward(src, { lengths: [srcLengths] })), eddy.noGrad(() => model.forward(src, { lengths: srcLengths })), 'outputs');
    assert.throws(() => model.forward(src, { lengths: [srcLengths, null] }), {
      name: 'ValidationError',
      message: 'Expected one lengths array for Sequential(1 layers), which has one input, but received 2 entries',
    });
  });
});
