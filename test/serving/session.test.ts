import * as assert from 'assert';
import * as eddy from '../../lib';
import { Tensor } from '../../lib';

/** Float32 sums of different length (one step vs whole sequence) round differently; see test/model/states.test.ts. */
const TOL = 1e-5;
function close(a: Tensor, b: Tensor, what: string): void {
  assert.deepStrictEqual(a.shape, b.shape, what);
  let worst = 0;
  for (let i = 0; i < a.size; i++) worst = Math.max(worst, Math.abs(a.toFloat32Array()[i] - b.toFloat32Array()[i]));
  assert.ok(worst <= TOL, `${what}: largest difference ${worst} (tolerance ${TOL})`);
}

function charModel(): eddy.Sequential {
  eddy.manualSeed(11);
  return eddy.sequential([new eddy.Embedding({ numEmbeddings: 10, embeddingDim: 4 }), new eddy.LSTM({ inputSize: 4, hiddenSize: 8 }), new eddy.Linear({ inFeatures: 8, outFeatures: 10 })]);
}

describe('streaming sessions', () => {
  it('one step at a time equals one forward over the whole sequence', () => {
    const model = charModel().eval();
    const ids = [3, 1, 4, 1, 5, 9, 2, 6];
    const whole = eddy.noGrad(() => model.forward(eddy.tensor(Float32Array.from(ids), [1, ids.length])));
    const s = eddy.session(model);
    const steps = ids.map((id) => s.step(id));
    assert.deepStrictEqual(steps[0].shape, [10]);
    close(eddy.stack(steps, 0), whole.reshape([ids.length, 10]), 'step outputs');
    // A chunk continues the same stream.
    s.reset();
    const a = s.step(Int32Array.from(ids.slice(0, 3)));
    const b = s.step(ids.slice(3));
    assert.deepStrictEqual(a.shape, [3, 10]);
    close(eddy.concat([a, b], 0), whole.reshape([ids.length, 10]), 'chunk outputs');
  });

  it('state() survives JSON and resumes exactly where the stream was, in a new session', () => {
    const model = charModel().eval();
    const ids = [2, 7, 1, 8, 2, 8];
    const uninterrupted = eddy.session(model);
    const expected = ids.map((id) => uninterrupted.step(id));
    const first = eddy.session(model);
    ids.slice(0, 3).forEach((id) => first.step(id));
    const saved = JSON.parse(JSON.stringify(first.state()));
    assert.strictEqual(saved.format, 'eddy.session');
    const resumed = eddy.session(charModel().eval(), saved);
    const rest = ids.slice(3).map((id) => resumed.step(id));
    // Same weights, same arithmetic, same order: bit for bit.
    rest.forEach((out, i) => assert.deepStrictEqual(Array.from(out.toFloat32Array()), Array.from(expected[3 + i].toFloat32Array())));
  });

  it('takes feature vectors for models without an Embedding', () => {
    eddy.manualSeed(5);
    const model = eddy.sequential([new eddy.GRU({ inputSize: 3, hiddenSize: 4 }), new eddy.Linear({ inFeatures: 4, outFeatures: 1 })]).eval();
    const s = eddy.session(model);
    assert.deepStrictEqual(s.step([0.1, 0.2, 0.3]).shape, [1]);
    assert.deepStrictEqual(s.step(new Float32Array([1, 2, 3])).shape, [1]);
    assert.deepStrictEqual(s.step(eddy.zeros([2, 3])).shape, [2, 1]);
    assert.throws(() => s.step([1, 2]), { name: 'ShapeError', message: 'Expected 3 features per step for input but received [2]' });
  });

  it('runs a Linear before the recurrent layers on the packed GEMM, and refuses a step of the wrong width', () => {
    eddy.manualSeed(6);
    const model = eddy.sequential([new eddy.Linear({ inFeatures: 3, outFeatures: 4 }), new eddy.LSTM({ inputSize: 4, hiddenSize: 5 })]).eval();
    const x = eddy.tensor(Float32Array.of(0.5, -1, 0.25, 0.1, 0.2, -0.3), [2, 3]);
    const s = eddy.session(model);
    const steps = [s.step(x.select(0, 0).contiguous().toFloat32Array()), s.step(x.select(0, 1).contiguous().toFloat32Array())];
    close(eddy.stack(steps, 0), eddy.noGrad(() => model.forward(x.reshape([1, 2, 3]))).reshape([2, 5]), 'steps against forward');
    assert.throws(() => s.step(new Float32Array(2)), { name: 'ShapeError', message: 'Expected rows of 3 features for Linear(inFeatures=3, outFeatures=4) but received 2 values' });
  });

  it('refuses models it cannot stream and states that do not fit, changing nothing', () => {
    const bi = eddy.sequential([new eddy.LSTM({ inputSize: 2, hiddenSize: 3, bidirectional: true })]);
    assert.throws(() => eddy.session(bi), { name: 'ValidationError', message: /^Expected unidirectional recurrent layers for a session/ });
    const stateful = eddy.sequential([new eddy.LSTM({ inputSize: 2, hiddenSize: 3, stateful: true })]);
    assert.throws(() => eddy.session(stateful), { name: 'ValidationError', message: /use one or the other/ });
    assert.throws(() => eddy.session({} as never), { name: 'ValidationError' });

    const model = charModel().eval();
    const s = eddy.session(model);
    s.step(3);
    const good = s.state();
    const wrong = (state: unknown, message: RegExp | string): void => {
      assert.throws(() => s.restore(state as eddy.SessionState), { name: 'FormatError', message });
      assert.deepStrictEqual(s.state(), good);
    };
    wrong(null, 'Expected a session state object for state but received null');
    wrong({ ...good, format: 'other' }, /^Expected format 'eddy.session'/);
    wrong({ ...good, version: 2 }, 'Expected session state version 1 but received 2 of type number');
    wrong({ ...good, layers: { 5: good.layers['1'] } }, /^Unexpected layer '5' in the session state/);
    wrong({ ...good, layers: { 1: { h: good.layers['1'].h.slice(1), c: good.layers['1'].c } } }, /^Expected 8 finite numbers \(numLayers × hiddenSize of LSTM\(inputSize=4, hiddenSize=8\)\) for state.layers\['1'\].h/);
    wrong({ ...good, layers: { 1: { h: good.layers['1'].h, c: good.layers['1'].c!.map(() => NaN) } } }, /for state.layers\['1'\].c/);
    wrong({ ...good, layers: { 1: { h: good.layers['1'].h, x: [] } } }, /^Unexpected key 'x'/);
    assert.throws(() => s.step(10), { name: 'ValidationError', message: 'Expected token ids between 0 and 9 for input but received 10 of type number at 0' });
  });
});
