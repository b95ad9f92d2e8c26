import * as assert from 'assert';
import * as eddy from '../../lib';
import { Tensor, TransformerDecoder, TransformerDecoderLayer, TransformerEncoder, TransformerEncoderLayer } from '../../lib';
import { assertClose, rng } from '../helpers';
import { AttentionReference, checkAgainstReference, inputsOf, loadAttentionReference, loadWeights } from './attention-reference';

function layerOptions(ref: AttentionReference): eddy.TransformerLayerOptions {
  const c = ref.config;
  return { dModel: c.d_model as number, nhead: c.nhead as number, dimFeedforward: c.dim_feedforward as number, dropout: 0, activation: c.activation as 'relu' | 'gelu', normFirst: c.norm_first as boolean };
}

function report(name: string, worst: { output: number; grad: number }): void {
  console.log(`      ${name}: max scaled difference ${worst.output.toExponential(2)} (outputs, tol 1e-5), ${worst.grad.toExponential(2)} (gradients, tol 1e-4)`);
}

describe('Transformer layers against PyTorch float64', () => {
  for (const name of ['transformer_encoder_layer_post_relu', 'transformer_encoder_layer_pre_gelu', 'transformer_encoder_stack']) {
    it(name, () => {
      const ref = loadAttentionReference(name);
      const c = ref.config;
      const layer = c.num_layers ? new TransformerEncoder(layerOptions(ref), { numLayers: c.num_layers as number, norm: c.final_norm as boolean }) : new TransformerEncoderLayer(layerOptions(ref));
      loadWeights(layer, ref);
      const inputs = inputsOf(ref);
      const call = ref.call as { lengths: number[] | null; is_causal: boolean };
      const output = layer.forward(inputs.src, { lengths: call.lengths ?? undefined, isCausal: call.is_causal });
      report(name, checkAgainstReference(ref, layer, inputs, { output }));
    });
  }

  for (const name of ['transformer_decoder_layer_post_relu', 'transformer_decoder_layer_pre_gelu', 'transformer_decoder_stack']) {
    it(name, () => {
      const ref = loadAttentionReference(name);
      const c = ref.config;
      const layer = c.num_layers ? new TransformerDecoder(layerOptions(ref), { numLayers: c.num_layers as number, norm: c.final_norm as boolean }) : new TransformerDecoderLayer(layerOptions(ref));
      loadWeights(layer, ref);
      const inputs = inputsOf(ref);
      const call = ref.call as { memory_lengths: number[] | null };
      const output = layer.forward(inputs.tgt, inputs.memory, { tgtIsCausal: true, memoryLengths: call.memory_lengths ?? undefined });
      report(name, checkAgainstReference(ref, layer, inputs, { output }));
    });
  }
});

describe('TransformerDecoder.step (cached keys and values)', () => {
  const random = rng(4);
  const randomTensor = (shape: number[]): Tensor => eddy.tensor(Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => random() * 2 - 1), shape);

  for (const normFirst of [false, true]) {
    it(`each step equals the last position of a causal forward over the prefix (normFirst=${normFirst})`, () => {
      const decoder = new TransformerDecoder({ dModel: 8, nhead: 2, dimFeedforward: 16, dropout: 0.3, normFirst }, { numLayers: 2, norm: normFirst }).eval();
      const B = 3, T = 20, S = 7;
      const tgt = randomTensor([B, T, 8]);
      const memory = randomTensor([B, S, 8]);
      const memoryLengths = [7, 2, 5];
      const full = eddy.noGrad(() => decoder.forward(tgt, memory, { tgtIsCausal: true, memoryLengths }));
      let cache = decoder.createCache(memory, { memoryLengths });
      let worst = 0;
      for (let t = 0; t < T; t++) {
        const y = decoder.step(tgt.select(1, t), cache);
        // Same float32 arithmetic in a different grouping (one row instead of T): rounding only.
        worst = Math.max(worst, assertClose(y.toFloat32Array(), full.select(1, t).toFloat32Array(), 1e-5, `step ${t}`));
        if (t === 10) cache = cache.select([0, 1, 2]); // a no-op reorder keeps working
      }
      assert.strictEqual(cache.length, T);
      console.log(`      max scaled difference ${worst.toExponential(2)} over ${T} steps (tol 1e-5)`);
    });
  }

  it('select reorders and expands the batch (beams)', () => {
    const decoder = new TransformerDecoder({ dModel: 4, nhead: 1, dimFeedforward: 8, dropout: 0 }, { numLayers: 1 });
    const memory = randomTensor([2, 3, 4]);
    const cache = decoder.createCache(memory, { memoryLengths: [3, 1] });
    const x = randomTensor([2, 4]);
    decoder.step(x, cache);
    const beams = cache.select([1, 1, 0]);
    assert.strictEqual(beams.batch, 3);
    const next = randomTensor([1, 4]);
    const three = decoder.step(eddy.concat([next, next, next], 0), beams);
    const alone = decoder.step(next, cache.select([1]));
    assertClose(three.select(0, 0).toFloat32Array(), alone.toFloat32Array(), 0, 'beam 0 is row 1');
    assertClose(three.select(0, 1).toFloat32Array(), alone.toFloat32Array(), 0, 'beam 1 is row 1');
    assert.throws(() => cache.select([2]), /Expected indices between 0 and 1/);
  });
});

describe('transformer layers in models', () => {
  it('LSTM → PositionalEncoding → TransformerEncoder → Linear: forward with lengths, summary, save and load', async () => {
    const fs = await import('fs/promises');
    const os = await import('os');
    const path = await import('path');
    const model = eddy.sequential([
      new eddy.LSTM({ inputSize: 3, hiddenSize: 8 }),
      new eddy.PositionalEncoding({ dModel: 8, maxLen: 32 }),
      new TransformerEncoder({ dModel: 8, nhead: 2, dimFeedforward: 16, normFirst: true }, { numLayers: 2, norm: true }),
      new eddy.Linear({ inFeatures: 8, outFeatures: 2 }),
    ]).eval();
    const x = eddy.tensor(new eddy.Generator(1).uniform(new Float32Array(2 * 6 * 3), -1, 1), [2, 6, 3]);
    const y = eddy.noGrad(() => model.forward(x, { lengths: [6, 4] }));
    assert.deepStrictEqual(y.shape, [2, 6, 2]);
    assert.match(model.summary([6, 3]), /TransformerEncoder\(numLayers=2/);
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'eddy-transformer-'));
    try {
      await eddy.save(model, path.join(dir, 'm.safetensors'));
      const loaded = (await eddy.load(path.join(dir, 'm.safetensors'))) as eddy.Sequential;
      assert.ok(Object.keys(loaded.stateDict()).includes('2.layers.1.self_attn.in_proj_weight'));
      const again = eddy.noGrad(() => loaded.eval().forward(x, { lengths: [6, 4] }));
      assert.deepStrictEqual(Array.from(again.toFloat32Array()), Array.from(y.toFloat32Array()));
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
});

describe('TransformerEncoder causal option', () => {
  const x = eddy.tensor(new eddy.Generator(2).uniform(new Float32Array(2 * 5 * 8), -1, 1), [2, 5, 8]);
  const make = (causal?: boolean): TransformerEncoder => {
    eddy.manualSeed(7);
    return new TransformerEncoder({ dModel: 8, nhead: 2, dimFeedforward: 16, dropout: 0 }, causal === undefined ? { numLayers: 2 } : { numLayers: 2, causal }).eval();
  };
  const run = (f: () => Tensor): number[] => Array.from(eddy.noGrad(f).toFloat32Array());

  it('makes every call causal unless the call says otherwise, in models too, and survives save/load configs', () => {
    const causal = make(true);
    const plain = make();
    assert.strictEqual(plain.causal, false);
    const wanted = run(() => plain.forward(x, { isCausal: true, lengths: [5, 3] }));
    assert.deepStrictEqual(run(() => causal.forward(x, { lengths: [5, 3] })), wanted);
    assert.deepStrictEqual(run(() => causal.forward(x, { isCausal: false })), run(() => plain.forward(x)));
    assert.notDeepStrictEqual(wanted, run(() => plain.forward(x, { lengths: [5, 3] })));
    // Inside a model the stack is called without isCausal: it stays causal. Changing a later step leaves earlier outputs alone.
    const model = eddy.sequential([causal]);
    const later = x.toFloat32Array();
    later.fill(3, 4 * 8, 5 * 8);
    const a = run(() => model.forward(x)), b = run(() => model.forward(eddy.tensor(later, [2, 5, 8])));
    assert.deepStrictEqual(a.slice(0, 4 * 8), b.slice(0, 4 * 8));
    assert.notDeepStrictEqual(a.slice(4 * 8, 5 * 8), b.slice(4 * 8, 5 * 8));
    const config = eddy.layerToConfig(causal);
    assert.strictEqual(config.config.causal, true);
    assert.strictEqual((eddy.layerFromConfig(config) as TransformerEncoder).causal, true);
    const { causal: _dropped, ...older } = config.config;
    assert.strictEqual((eddy.layerFromConfig({ className: 'TransformerEncoder', config: older }) as TransformerEncoder).causal, false);
    assert.match(causal.toString(), /^TransformerEncoder\(numLayers=2, .*, causal=true\)$/);
    assert.throws(() => new TransformerEncoder({ dModel: 8, nhead: 2 }, { numLayers: 1, causal: 'yes' as never }), { code: 'ERR_EDDY_VALIDATION', message: /causal/ });
  });
});

describe('a transformer encoder learns', () => {
  it('fit reaches a small error on a task that needs attention across time (each step predicts its sequence mean)', async () => {
    eddy.manualSeed(3);
    const B = 256, T = 6;
    const g = new eddy.Generator(8);
    const xs = g.uniform(new Float32Array(B * T), -1, 1);
    const ys = new Float32Array(B * T);
    for (let b = 0; b < B; b++) {
      let m = 0;
      for (let t = 0; t < T; t++) m += xs[b * T + t] / T;
      ys.fill(m, b * T, (b + 1) * T);
    }
    const model = eddy.sequential([
      new eddy.Linear({ inFeatures: 1, outFeatures: 16 }),
      new TransformerEncoder({ dModel: 16, nhead: 2, dimFeedforward: 32, dropout: 0 }, { numLayers: 1 }),
      new eddy.Linear({ inFeatures: 16, outFeatures: 1 }),
    ]);
    const x = eddy.tensor(xs, [B, T, 1]), y = eddy.tensor(ys, [B, T, 1]);
    await model.fit({ x, y }, { epochs: 40, batchSize: 32, loss: 'mse', optimizer: new eddy.optim.Adam(model.parameters(), { lr: 3e-3 }) });
    const variance = ys.reduce((a, v) => a + v * v, 0) / ys.length; // what predicting 0 costs
    const mse = eddy.noGrad(() => eddy.losses.mse(model.eval().forward(x), y)).item();
    console.log(`      mse ${mse.toExponential(2)} vs ${variance.toExponential(2)} for predicting 0, after 40 epochs`);
    assert.ok(mse < variance / 10, `mse ${mse} not below a tenth of ${variance}`);
  });
});
