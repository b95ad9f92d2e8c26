import * as assert from 'assert';
import * as eddy from '../../lib';
import { Tensor } from '../../lib';

const rand = (shape: number[], seed: number): Tensor => {
  const n = shape.reduce((a, b) => a * b, 1);
  return eddy.tensor(new eddy.Generator(seed).uniform(new Float32Array(n), -1, 1), shape);
};

/** Float32 sums in a different order: an LSTM step sums at most in + H products of |terms| ≤ 1. */
const TOL = 1e-5;
const close = (a: Tensor, b: Tensor, what: string): void => {
  assert.deepStrictEqual(a.shape, b.shape, what);
  let worst = 0;
  for (let i = 0; i < a.size; i++) worst = Math.max(worst, Math.abs(a.data[a.offset + i] - b.data[b.offset + i]));
  assert.ok(worst <= TOL, `${what}: largest difference ${worst} (tolerance ${TOL})`);
};

describe('model states (forward with states)', () => {
  const build = (): eddy.Sequential => {
    eddy.manualSeed(7);
    return eddy.sequential([new eddy.LSTM({ inputSize: 3, hiddenSize: 5, numLayers: 2 }), new eddy.Linear({ inFeatures: 5, outFeatures: 4 }), new eddy.GRU({ inputSize: 4, hiddenSize: 6 })]);
  };

  it('carrying states over two halves equals one call over the whole sequence', () => {
    const model = build().eval();
    const x = rand([2, 8, 3], 1);
    const whole = eddy.noGrad(() => model.forward(x, { states: null }));
    const first = eddy.noGrad(() => model.forward(eddy.slice(x, 1, 0, 5), { states: null }));
    const second = eddy.noGrad(() => model.forward(eddy.slice(x, 1, 5, 8), { states: first.states }));
    assert.deepStrictEqual(Object.keys(whole.states), ['0', '2']);
    assert.deepStrictEqual(whole.states['0'].h.shape, [2, 2, 5]);
    assert.deepStrictEqual(whole.states['0'].c!.shape, [2, 2, 5]);
    assert.strictEqual(whole.states['2'].c, undefined);
    close(eddy.concat([first.output, second.output], 1), whole.output, 'outputs');
    close(second.states['0'].h, whole.states['0'].h, 'LSTM h');
    close(second.states['0'].c!, whole.states['0'].c!, 'LSTM c');
    close(second.states['2'].h, whole.states['2'].h, 'GRU h');
    // Without states the result is the plain tensor, as before.
    const plain = eddy.noGrad(() => model.forward(x));
    assert.ok(plain instanceof Tensor);
    close(plain, whole.output, 'plain forward');
  });

  it('works on functional models and asynchronously', async () => {
    eddy.manualSeed(3);
    const input = eddy.input({ shape: [null, 3] });
    const gru = new eddy.GRU({ inputSize: 3, hiddenSize: 4 });
    const model = eddy.model({ inputs: input, outputs: new eddy.Linear({ inFeatures: 4, outFeatures: 2 }).apply(gru.apply(input)) }).eval();
    const x = rand([1, 6, 3], 2);
    const whole = eddy.noGrad(() => model.forward(x, { states: null }));
    const a = await model.forwardAsync(eddy.slice(x, 1, 0, 2), { states: null });
    const b = await model.forwardAsync(eddy.slice(x, 1, 2, 6), { states: a.states });
    close(eddy.concat([a.output as Tensor, b.output as Tensor], 1), whole.output as Tensor, 'outputs');
    assert.deepStrictEqual(Object.keys(b.states), ['0']);
  });

  it('rejects states for layers the model does not have, and malformed states', () => {
    const model = build();
    assert.throws(() => model.forward(rand([1, 2, 3], 1), { states: { 1: { h: eddy.zeros([1, 1, 4]) } } }), {
      name: 'ValidationError',
      message: "Expected states keyed by the recurrent layers of Sequential(3 layers) ('0', '2') but received a state for '1'",
    });
    assert.throws(() => model.forward(rand([1, 2, 3], 1), { states: { 0: { h: [1, 2] } } as never }), { name: 'ValidationError', message: "Expected { h: Tensor, c?: Tensor } for states['0'] but received an object" });
    assert.throws(() => model.forward(rand([1, 2, 3], 1), { states: { 2: { h: eddy.zeros([1, 3, 6]) } } }), { name: 'ShapeError' });
  });
});
