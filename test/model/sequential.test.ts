import * as assert from 'assert';
import * as eddy from '../../lib';
import { Tensor, ValidationError } from '../../lib';
import { assertClose } from '../helpers';

const seq3 = (B: number, T: number, F: number): Tensor =>
  eddy.tensor(Float32Array.from({ length: B * T * F }, (_, i) => Math.sin(0.3 * i)), [B, T, F]);

describe('sequential', () => {
  it("names parameters as torch.nn.Sequential's state_dict does", () => {
    const model = eddy.sequential([new eddy.LSTM({ inputSize: 8, hiddenSize: 32 }), new eddy.Linear({ inFeatures: 32, outFeatures: 1 })]);
    assert.deepStrictEqual(Object.keys(model.stateDict()), ['0.weight_ih_l0', '0.weight_hh_l0', '0.bias_ih_l0', '0.bias_hh_l0', '1.weight', '1.bias']);
    assert.strictEqual(model.parameters().length, 6);
  });

  it('passes the recurrent output sequence on and the lengths to every layer', () => {
    const lstm = new eddy.LSTM({ inputSize: 3, hiddenSize: 4 });
    const head = new eddy.Linear({ inFeatures: 4, outFeatures: 2 });
    const model = eddy.sequential([lstm, head]);
    const x = seq3(3, 5, 3);
    const lengths = [5, 2, 4];
    const y = model.forward(x, { lengths });
    const expected = head.forward(lstm.forward(x, { lengths }).output);
    assert.deepStrictEqual(y.shape, [3, 5, 2]);
    assert.deepStrictEqual(Array.from(y.data), Array.from(expected.data));
  });

  it('trains end to end through the tape', () => {
    eddy.manualSeed(1);
    const model = eddy.sequential([new eddy.GRU({ inputSize: 2, hiddenSize: 8 }), new eddy.Linear({ inFeatures: 8, outFeatures: 1 })]);
    const opt = new eddy.optim.Adam(model.parameters(), { lr: 0.02 });
    const x = seq3(16, 6, 2);
    // Target: the running sum of the first feature, a task a GRU learns fast.
    const target = new Float32Array(16 * 6);
    for (let b = 0; b < 16; b++) {
      let s = 0;
      for (let t = 0; t < 6; t++) target[b * 6 + t] = s += x.data[(b * 6 + t) * 2] * 0.3;
    }
    const y = eddy.tensor(target, [16, 6, 1]);
    const loss = (): Tensor => eddy.mean(eddy.square(eddy.sub(model.forward(x), y)));
    const first = loss().item();
    for (let i = 0; i < 150; i++) {
      opt.zeroGrad();
      loss().backward();
      opt.step();
    }
    assert.ok(loss().item() < first / 20, `loss ${first} → ${loss().item()}`);
  });

  it('switches every layer between train and eval', () => {
    const drop = new eddy.Dropout({ p: 0.5 });
    const model = eddy.sequential([new eddy.Linear({ inFeatures: 2, outFeatures: 2 }), drop]);
    model.eval();
    assert.strictEqual(drop.training, false);
    model.train();
    assert.strictEqual(drop.training, true);
  });

  it('summarizes layers, output shapes and parameter counts', () => {
    const model = eddy.sequential([
      new eddy.Embedding({ numEmbeddings: 50, embeddingDim: 8 }),
      new eddy.LSTM({ inputSize: 8, hiddenSize: 16, bidirectional: true }),
      new eddy.Linear({ inFeatures: 32, outFeatures: 50 }),
    ]);
    const text = model.summary([12]);
    const lines = text.split('\n');
    assert.strictEqual(lines[0], 'Sequential');
    assert.match(text, /^0\s+Embedding\(numEmbeddings=50, embeddingDim=8\)\s+\[batch, 12, 8\]\s+400$/m);
    assert.match(text, /^1\s+LSTM\(inputSize=8, hiddenSize=16, bidirectional=true\)\s+\[batch, 12, 32\]\s+3,328$/m);
    assert.match(text, /^2\s+Linear\(inFeatures=32, outFeatures=50\)\s+\[batch, 12, 50\]\s+1,650$/m);
    assert.strictEqual(lines[lines.length - 1], 'Parameters: 5,378 (trainable 5,378)');
  });

  it('rejects what is not a layer', () => {
    assert.throws(() => eddy.sequential([]), { name: 'ValidationError', message: 'Expected a non-empty array of layers for sequential but received an array of length 0' });
    assert.throws(() => eddy.sequential([new eddy.Linear({ inFeatures: 2, outFeatures: 2 }), (() => 1) as never]), (e: unknown) => e instanceof ValidationError && e.message === 'Expected a layer (a Module with forward) for layers[1] but received a function');
  });
});

describe('functional models', () => {
  it('runs a graph with two inputs and two outputs, sharing a layer used twice', () => {
    eddy.manualSeed(2);
    const a = eddy.input({ shape: [null, 3], name: 'a' });
    const b = eddy.input({ shape: [null, 3], name: 'b' });
    const shared = new eddy.GRU({ inputSize: 3, hiddenSize: 4 });
    const ha = shared.apply(a).get('h');
    const sb = shared.apply(b);
    const head = new eddy.Linear({ inFeatures: 4, outFeatures: 1 });
    const m = eddy.model({ inputs: [a, b], outputs: [head.apply(ha), head.apply(sb)] });
    assert.deepStrictEqual(Object.keys(m.stateDict()), ['0.weight_ih_l0', '0.weight_hh_l0', '0.bias_ih_l0', '0.bias_hh_l0', '1.weight', '1.bias']);
    const xa = seq3(2, 5, 3);
    const xb = seq3(2, 3, 3);
    const [ya, yb] = m.forward([xa, xb]) as Tensor[];
    assert.deepStrictEqual(ya.shape, [1, 2, 1]);
    assert.deepStrictEqual(yb.shape, [2, 3, 1]);
    assertClose(ya.data, head.forward(shared.forward(xa).h).data, 0);
  });

  it('calls a nested multi-input model with its inputs and each input\'s lengths', async () => {
    eddy.manualSeed(5);
    const a = eddy.input({ shape: [null, 3], name: 'a' });
    const b = eddy.input({ shape: [null, 3], name: 'b' });
    const gru = new eddy.GRU({ inputSize: 3, hiddenSize: 3 });
    const inner = eddy.model({ inputs: [a, b], outputs: new eddy.Add().apply([gru.apply(a), b]) });
    const x = eddy.input({ shape: [null, 3] });
    const y = eddy.input({ shape: [null, 3] });
    const outer = eddy.model({ inputs: [x, y], outputs: inner.apply([x, y]) });
    const xa = seq3(2, 4, 3);
    const xb = seq3(2, 4, 3);
    const lengths = [[4, 2], null];
    const run = (m: eddy.Model, opts: { lengths?: typeof lengths } = {}): Float32Array => (m.forward([xa, xb], opts) as Tensor).data as Float32Array;
    // The same layers run on the same rows: bit-identical.
    assertClose(run(outer, { lengths }), run(inner, { lengths }), 0);
    assertClose(((await outer.forwardAsync([xa, xb], { lengths })) as Tensor).data, run(inner, { lengths }), 0);
    // The second row's padding (steps 2, 3) is masked, so it differs from the unmasked call.
    assert.notDeepStrictEqual(Array.from(run(outer, { lengths }).slice(12)), Array.from(run(inner).slice(12)));
  });

  it('refuses get() on a model input with a typed error naming it', () => {
    const a = eddy.input({ shape: [null, 3], name: 'a' });
    assert.throws(() => a.get('h'), (e: unknown) => e instanceof ValidationError
      && e.message === 'Expected a layer\'s output for get("h") but received input "a", which has no other parts');
  });

  it('feeds an encoder state into a decoder (encoder-decoder)', () => {
    const src = eddy.input({ shape: [null, 2] });
    const tgt = eddy.input({ shape: [null, 2] });
    const enc = new eddy.LSTM({ inputSize: 2, hiddenSize: 5 });
    const dec = new eddy.LSTM({ inputSize: 2, hiddenSize: 5 });
    const e = enc.apply(src);
    const d = dec.apply([tgt, e.get('h'), e.get('c')]);
    const m = eddy.model({ inputs: [src, tgt], outputs: d });
    const xs = seq3(2, 4, 2), xt = seq3(2, 3, 2);
    const r = enc.forward(xs);
    const want = dec.forward(xt, { h0: r.h, c0: r.c }).output;
    assertClose((m.forward([xs, xt]) as Tensor).data, want.data, 0);
    const text = m.summary([[4, 2], [3, 2]]);
    assert.match(text, /^1\s+LSTM\(inputSize=2, hiddenSize=5\)\s+\[batch, 3, 5\]\s+180$/m);
  });

  it('checks input shapes and graph wiring', () => {
    const x = eddy.input({ shape: [null, 3] });
    const m = eddy.model({ inputs: x, outputs: new eddy.Linear({ inFeatures: 3, outFeatures: 2 }).apply(x) });
    assert.throws(() => m.forward(seq3(2, 4, 5)), { name: 'ShapeError', message: 'Expected inputs[0] of shape [batch, *, 3] for Model(1 input, 1 output) but received [2, 4, 5]' });
    const other = eddy.input({ shape: [3] });
    assert.throws(() => eddy.model({ inputs: x, outputs: new eddy.Linear({ inFeatures: 3, outFeatures: 2 }).apply(other) }), {
      name: 'ValidationError',
      message: "The graph uses input, which is not among the model's inputs",
    });
    assert.throws(() => new eddy.Linear({ inFeatures: 3, outFeatures: 2 }).apply(seq3(1, 1, 3) as never), /Expected a symbolic tensor/);
  });
});
