import * as assert from 'assert';
import * as eddy from '../../lib';
import { ShapeError, Tensor, ValidationError } from '../../lib';
import { assertClose } from '../helpers';
import { moduleGradcheck, randomTensor, throwsExactly } from './module-gradcheck';

type Layer = eddy.RNN | eddy.LSTM | eddy.GRU;

/** Copies a native bidirectional layer's weights into a wrapper: `_reverse` → backward_layer. */
function copyWeights(native: Layer, wrapper: eddy.Bidirectional): void {
  const state: Record<string, Tensor> = {};
  for (const [name, t] of Object.entries(native.stateDict())) {
    state[name.endsWith('_reverse') ? `backward_layer.${name.slice(0, -8)}` : `forward_layer.${name}`] = t;
  }
  wrapper.loadStateDict(state);
}

const makers: [string, (bidirectional: boolean) => Layer][] = [
  ['LSTM', (bidirectional) => new eddy.LSTM({ inputSize: 3, hiddenSize: 4, bidirectional })],
  ['GRU', (bidirectional) => new eddy.GRU({ inputSize: 3, hiddenSize: 4, bidirectional })],
  ['GRU resetAfter=false', (bidirectional) => new eddy.GRU({ inputSize: 3, hiddenSize: 4, resetAfter: false, bidirectional })],
  ['RNN relu', (bidirectional) => new eddy.RNN({ inputSize: 3, hiddenSize: 4, nonlinearity: 'relu', bidirectional })],
];

describe('Bidirectional', () => {
  it('takes an options object like every other layer, and the positional form alike', () => {
    eddy.manualSeed(3);
    const a = new eddy.Bidirectional({ layer: () => new eddy.GRU({ inputSize: 2, hiddenSize: 3 }), mergeMode: 'sum' });
    eddy.manualSeed(3);
    const b = new eddy.Bidirectional(() => new eddy.GRU({ inputSize: 2, hiddenSize: 3 }), { mergeMode: 'sum' });
    assert.strictEqual(a.mergeMode, 'sum');
    assert.deepStrictEqual(eddy.layerToConfig(a), eddy.layerToConfig(b));
    assert.deepStrictEqual(Object.keys(a.stateDict()), Object.keys(b.stateDict()));
    for (const [k, v] of Object.entries(a.stateDict())) assert.deepStrictEqual(Array.from(v.toFloat32Array()), Array.from(b.stateDict()[k].toFloat32Array()));
  });

  it('with concat equals a native bidirectional layer: outputs, states and gradients', () => {
    let worst = 0;
    for (const [name, make] of makers) {
      const native = make(true);
      const wrapper = new eddy.Bidirectional(() => make(false));
      copyWeights(native, wrapper);
      const lengths = Int32Array.of(5, 2, 4);
      const run = (layer: Layer | eddy.Bidirectional): { out: eddy.RecurrentOutput; grads: Float32Array[] } => {
        const x = randomTensor([3, 5, 3], 1, true);
        const h0 = randomTensor([2, 3, 4], 2, true, 0.5);
        const c0 = name === 'LSTM' ? randomTensor([2, 3, 4], 3, true, 0.5) : undefined;
        const out = layer.forward(x, { h0, c0, lengths });
        const parts = [out.output.reshape([-1]), out.h.reshape([-1]), ...(out.c ? [out.c.reshape([-1])] : [])];
        const loss = eddy.concat(parts).mul(randomTensor([parts.reduce((s, p) => s + p.size, 0)], 4)).sum();
        loss.backward();
        return { out, grads: [x, h0, ...(c0 ? [c0] : []), ...layer.parameters().map((p) => p.data)].map((t) => t.grad!.toFloat32Array()) };
      };
      const a = run(native);
      const b = run(wrapper);
      worst = Math.max(worst, assertClose(b.out.output.data, a.out.output.data, 1e-6, `${name} output`));
      worst = Math.max(worst, assertClose(b.out.h.data, a.out.h.data, 1e-6, `${name} h`));
      if (a.out.c) worst = Math.max(worst, assertClose(b.out.c!.data, a.out.c.data, 1e-6, `${name} c`));
      // Parameters in the same order: native l0 then l0_reverse; wrapper forward_layer then backward_layer.
      a.grads.forEach((g, i) => (worst = Math.max(worst, assertClose(b.grads[i], g, 1e-5, `${name} gradient ${i}`))));
    }
    console.log(`      max scaled difference ${worst.toExponential(2)} (tolerance 1e-6 values, 1e-5 gradients)`);
  });

  it('merges with sum, mul and ave, and zeroes padded steps', () => {
    const concat = new eddy.Bidirectional(() => new eddy.GRU({ inputSize: 3, hiddenSize: 2 }));
    const x = randomTensor([2, 4, 3], 5);
    const lengths = [4, 3];
    const both = concat.forward(x, { lengths }).output;
    const f = both.slice(2, 0, 2).toFloat32Array(), b = both.slice(2, 2, 4).toFloat32Array();
    const expected = { sum: f.map((v, i) => v + b[i]), mul: f.map((v, i) => v * b[i]), ave: f.map((v, i) => (v + b[i]) / 2) };
    for (const mode of ['sum', 'mul', 'ave'] as const) {
      const merged = new eddy.Bidirectional(concat.forwardLayer, { mergeMode: mode, backwardLayer: concat.backwardLayer });
      const out = merged.forward(x, { lengths }).output;
      assert.deepStrictEqual(out.shape, [2, 4, 2]);
      assertClose(out.data, expected[mode], 1e-7, mode);
      assert.strictEqual(merged.outputSize, 2);
    }
    assert.deepStrictEqual((both.toArray() as number[][][])[1][3], [0, 0, 0, 0]);
    assert.strictEqual(concat.outputSize, 4);
  });

  it('runs time-major layers and asynchronously with the same results', async () => {
    const bf = new eddy.Bidirectional(() => new eddy.LSTM({ inputSize: 3, hiddenSize: 2 }));
    const tm = new eddy.Bidirectional(() => new eddy.LSTM({ inputSize: 3, hiddenSize: 2, batchFirst: false }));
    tm.loadStateDict(bf.stateDict());
    const x = randomTensor([3, 5, 3], 6);
    const lengths = [2, 5, 4];
    const a = bf.forward(x, { lengths });
    const b = tm.forward(x.transpose(0, 1), { lengths });
    assertClose(b.output.transpose(0, 1).toFloat32Array(), a.output.data, 1e-6, 'time-major output');
    assertClose(b.h.data, a.h.data, 1e-6, 'time-major h');
    const c = await bf.forwardAsync(x, { lengths });
    assert.deepStrictEqual(c.output.toArray(), a.output.toArray());
    assert.deepStrictEqual(c.c!.toArray(), a.c!.toArray());
  });

  it('stacks the states of multi-layer directions in PyTorch order', () => {
    const bi = new eddy.Bidirectional(() => new eddy.GRU({ inputSize: 3, hiddenSize: 2, numLayers: 2 }));
    const x = randomTensor([2, 4, 3], 7);
    const h0 = randomTensor([4, 2, 2], 8);
    const { h } = bi.forward(x, { h0, lengths: [4, 3] });
    const fh = bi.forwardLayer.forward(x, { h0: eddy.stack([h0.select(0, 0), h0.select(0, 2)]), lengths: [4, 3] }).h;
    const bh = bi.backwardLayer.forward(eddy.reverseSequences(x, [4, 3]), { h0: eddy.stack([h0.select(0, 1), h0.select(0, 3)]), lengths: [4, 3] }).h;
    assert.deepStrictEqual(h.toArray(), [fh.select(0, 0), bh.select(0, 0), fh.select(0, 1), bh.select(0, 1)].map((t) => t.toArray()));
  });

  it('gradients match finite differences (input, h0, c0 and all weights)', () => {
    const generator = new eddy.Generator(3);
    const bi = new eddy.Bidirectional(() => new eddy.LSTM({ inputSize: 2, hiddenSize: 2, generator }), { mergeMode: 'mul' });
    const x = randomTensor([2, 3, 2], 9, true);
    const h0 = randomTensor([2, 2, 2], 10, true, 0.5);
    const c0 = randomTensor([2, 2, 2], 11, true, 0.5);
    const run = (): Tensor => {
      const { output, h, c } = bi.forward(x, { h0, c0, lengths: [3, 2] });
      return eddy.concat([output.reshape([-1]), h.reshape([-1]), c!.reshape([-1])]);
    };
    const worst = moduleGradcheck(run, [x, h0, c0, ...bi.parameters().map((p) => p.data)]);
    console.log(`      max scaled difference ${worst.toExponential(1)}`);
  });

  it('names parameters forward_layer.* and backward_layer.*, copying a given layer\'s configuration', () => {
    const gru = new eddy.GRU({ inputSize: 3, hiddenSize: 2, resetAfter: false, bias: false });
    const bi = new eddy.Bidirectional(gru);
    assert.strictEqual(bi.forwardLayer, gru);
    assert.strictEqual(bi.backwardLayer.toString(), gru.toString());
    assert.notDeepStrictEqual(bi.backwardLayer.stateDict().weight_ih_l0.toArray(), gru.stateDict().weight_ih_l0.toArray());
    assert.deepStrictEqual(Object.keys(bi.stateDict()), ['forward_layer.weight_ih_l0', 'forward_layer.weight_hh_l0', 'backward_layer.weight_ih_l0', 'backward_layer.weight_hh_l0']);
    assert.strictEqual(bi.toString(), 'Bidirectional(GRU(inputSize=3, hiddenSize=2, bias=false, resetAfter=false))');
    bi.eval();
    assert.strictEqual(bi.backwardLayer.training, false);
  });

  it('rejects bad layers, options and states with exact messages', () => {
    const lstm = (o: Partial<eddy.LSTMOptions> = {}): eddy.LSTM => new eddy.LSTM({ inputSize: 3, hiddenSize: 2, ...o });
    throwsExactly(() => new eddy.Bidirectional(lstm({ bidirectional: true })), ValidationError, 'Expected an RNN, LSTM or GRU with bidirectional: false for layer but received LSTM(inputSize=3, hiddenSize=2, bidirectional=true)');
    throwsExactly(() => new eddy.Bidirectional(new eddy.Linear({ inFeatures: 1, outFeatures: 1 }) as never), ValidationError, 'Expected an RNN, LSTM or GRU with bidirectional: false for layer but received Linear(inFeatures=1, outFeatures=1)');
    throwsExactly(() => new eddy.Bidirectional((() => 3) as never), ValidationError, 'Expected an RNN, LSTM or GRU with bidirectional: false for the layer returned by layer() but received 3 of type number');
    const one = lstm();
    throwsExactly(() => new eddy.Bidirectional(() => one), ValidationError, 'Expected a new layer for the backward direction but received the forward layer again: layer() must return a new layer on each call');
    throwsExactly(() => new eddy.Bidirectional(lstm(), { mergeMode: 'max' as never }), ValidationError, `Expected one of 'concat', 'sum', 'mul', 'ave' for mergeMode but received "max" of type string`);
    throwsExactly(() => new eddy.Bidirectional(lstm(), { backwardLayer: lstm({ hiddenSize: 3 }) }), ValidationError, 'Expected LSTM with inputSize=3, hiddenSize=2, numLayers=1, batchFirst=true for backwardLayer but received LSTM(inputSize=3, hiddenSize=3)');
    throwsExactly(() => new eddy.Bidirectional(lstm(), { backwardLayer: new eddy.GRU({ inputSize: 3, hiddenSize: 2 }) }), ValidationError, 'Expected LSTM with inputSize=3, hiddenSize=2, numLayers=1, batchFirst=true for backwardLayer but received GRU(inputSize=3, hiddenSize=2)');
    const bi = new eddy.Bidirectional(lstm());
    const x = randomTensor([2, 4, 3], 1);
    throwsExactly(() => bi.forward(randomTensor([2, 4, 2], 1)), ShapeError, 'Expected input of shape [batch, time, 3] for Bidirectional(LSTM(inputSize=3, hiddenSize=2)) but received [2, 4, 2]');
    throwsExactly(() => bi.forward(x, { h0: eddy.zeros([1, 2, 2]) }), ShapeError, 'Expected h0 of shape [2, 2, 2] for Bidirectional(LSTM(inputSize=3, hiddenSize=2)) but received [1, 2, 2]');
    throwsExactly(() => bi.forward(x, { lengths: [4, 5] }), ValidationError, 'Expected lengths between 1 and 4 (the number of time steps) but received lengths[1] = 5');
    const gru = new eddy.Bidirectional(new eddy.GRU({ inputSize: 3, hiddenSize: 2 }), { mergeMode: 'sum' });
    throwsExactly(() => gru.forward(x, { c0: eddy.zeros([2, 2, 2]) }), ValidationError, "Expected no c0 for Bidirectional(GRU(inputSize=3, hiddenSize=2), mergeMode='sum'): only LSTM has a cell state");
  });
});
