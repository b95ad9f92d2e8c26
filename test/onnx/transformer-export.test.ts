/**
 * ONNX export of the attention and transformer layers, checked by running
 * the exported files in onnxruntime-node against Eddy's own forward at
 * several batch sizes and sequence lengths (the time axes are dynamic):
 * multi-head self- and cross-attention with key lengths, positional
 * encodings, encoder and decoder layers both ways of normFirst with ReLU
 * and GELU, the stacks (causal or not), an LSTM under a transformer
 * encoder, and GRU/LSTM encoders feeding a transformer decoder.
 */
import * as assert from 'assert';
import * as eddy from '../../lib';
import { exportAndCompare, GraphFeeds, ortSuite, randomTensor as rand, tokenIds as ids } from './ort';

/**
 * onnxruntime and Eddy run the same float32 arithmetic in other orders
 * (GEMM blocking, the fused kernel's online softmax against a plain
 * Softmax, LayerNorm's mean and variance sums, Erf against Eddy's erf
 * within 1.5e-7): each output is a few chained sums of ≤ 16 products of
 * terms of size ≤ 4, so rounding stays within about a hundred float32 ulps
 * of 1 (2⁻²³ ≈ 1.2e-7; 4e-7 measured), far below what a wrong mask,
 * weight or layout changes (≥ 1e-2 here).
 */
const TOL = 1e-5;

/** Every weight moved off its initial value (zero biases, unit gains), so the export must carry each one. */
function scramble(model: eddy.Module, seed: number): void {
  model.namedParameters().forEach(([, p], i) => p.data.data.set(rand([p.data.size], seed + i, 0.5).toFloat32Array()));
}

const lens = (...v: number[]): Int32Array => Int32Array.from(v);

describe('ONNX export of attention and transformer layers (run in onnxruntime-node)', function () {
  this.timeout(60000);
  const { ort, files } = ortSuite('eddy-onnx-transformer-');

  async function check(model: eddy.GraphModel | eddy.Sequential, runs: GraphFeeds[], tokenInputs?: boolean[], opts?: eddy.onnx.OnnxExportOptions): Promise<string[]> {
    const { inputNames, worst } = await exportAndCompare(ort!, files.dir, model, runs, { tokenInputs, tol: TOL, export: opts });
    console.log(`      max difference ${worst.toExponential(1)} over ${runs.length} shapes`);
    return inputNames;
  }

  /** Float sequences of `features` at (batch, time) shapes, with lengths. */
  const floatRuns = (features: number, shapes: [number[], number][]): GraphFeeds[] =>
    shapes.map(([l, T], i) => ({ xs: [rand([l.length, T, features], 100 + i)], lengths: [lens(...l)] }));

  it('multi-head self-attention with key lengths, and its head-averaged weights', async () => {
    eddy.manualSeed(51);
    const x = eddy.input({ shape: [null, 8] });
    const attn = new eddy.MultiHeadAttention({ embedDim: 8, numHeads: 2 }).apply(x);
    const model = eddy.model({ inputs: x, outputs: [attn, attn.get('weights')] });
    scramble(model, 1);
    const names = await check(model, floatRuns(8, [[[5, 2, 4], 5], [[1, 1], 1], [[9], 9]]));
    assert.deepStrictEqual(names, ['input', 'lengths']);
  });

  it('multi-head cross-attention (kdim, vdim, no bias) masked by the keys\' own lengths', async () => {
    eddy.manualSeed(52);
    const q = eddy.input({ shape: [null, 8] });
    const k = eddy.input({ shape: [null, 6] });
    const v = eddy.input({ shape: [null, 5] });
    const two = new eddy.MultiHeadAttention({ embedDim: 8, numHeads: 4, kdim: 6, vdim: 6, bias: false }).apply([q, k]);
    const three = new eddy.MultiHeadAttention({ embedDim: 8, numHeads: 2, kdim: 6, vdim: 5 }).apply([q, k, v]);
    const model = eddy.model({ inputs: [q, k, v], outputs: [two, three, three.get('weights')] });
    scramble(model, 2);
    const run = (B: number, Tq: number, Tk: number, seed: number, qLen: number[], kLen: number[]): GraphFeeds => ({
      xs: [rand([B, Tq, 8], seed), rand([B, Tk, 6], seed + 1), rand([B, Tk, 5], seed + 2)],
      lengths: [lens(...qLen), lens(...kLen), lens(...kLen)],
    });
    const names = await check(model, [run(3, 4, 6, 10, [4, 1, 3], [6, 2, 5]), run(2, 7, 2, 20, [7, 7], [1, 2])]);
    // The values' lengths mask nothing: the keys' do.
    assert.deepStrictEqual(names, ['input_0', 'input_1', 'lengths_1', 'input_2']);
  });

  for (const kind of ['sinusoidal', 'learned'] as const) {
    it(`${kind} positional encoding, sliced to each input's length`, async () => {
      eddy.manualSeed(53);
      const model = eddy.sequential([new eddy.PositionalEncoding({ dModel: 6, maxLen: 20, kind, dropout: 0.5 }), new eddy.Linear({ inFeatures: 6, outFeatures: 3 })]);
      // A sinusoid table of 20 positions reaches sin(19) at feature 0: scrambling the Linear only.
      scramble(model, 3);
      const names = await check(model, floatRuns(6, [[[4, 4], 4], [[20], 20], [[1, 1, 1], 1]]));
      assert.deepStrictEqual(names, ['input']);
    });
  }

  for (const normFirst of [false, true]) {
    for (const activation of ['relu', 'gelu'] as const) {
      it(`a TransformerEncoderLayer (normFirst ${normFirst}, ${activation}) with lengths`, async () => {
        eddy.manualSeed(54);
        const model = eddy.sequential([new eddy.TransformerEncoderLayer({ dModel: 8, nhead: 2, dimFeedforward: 16, dropout: 0.2, activation, normFirst })]);
        scramble(model, 4);
        await check(model, floatRuns(8, [[[5, 2, 4], 5], [[3], 3]]));
      });

      it(`a TransformerDecoderLayer (normFirst ${normFirst}, ${activation}) over a memory`, async () => {
        eddy.manualSeed(55);
        const tgt = eddy.input({ shape: [null, 8] });
        const memory = eddy.input({ shape: [null, 8] });
        const layer = new eddy.TransformerDecoderLayer({ dModel: 8, nhead: 4, dimFeedforward: 12, dropout: 0.2, activation, normFirst });
        const model = eddy.model({ inputs: [tgt, memory], outputs: layer.apply([tgt, memory]) });
        scramble(model, 5);
        const run = (B: number, T: number, S: number, seed: number): GraphFeeds => ({ xs: [rand([B, T, 8], seed), rand([B, S, 8], seed + 1)], lengths: [lens(...Array.from({ length: B }, (_, b) => T - (b % T))), null] });
        await check(model, [run(3, 4, 6, 30), run(1, 6, 2, 40)]);
      });
    }
  }

  for (const causal of [false, true]) {
    it(`sequential([LSTM, TransformerEncoder${causal ? ' (causal)' : ''}, Linear]) with lengths`, async () => {
      eddy.manualSeed(56);
      const model = eddy.sequential([
        new eddy.LSTM({ inputSize: 3, hiddenSize: 8 }),
        new eddy.TransformerEncoder({ dModel: 8, nhead: 2, dimFeedforward: 16, activation: 'gelu', normFirst: true }, { numLayers: 2, norm: true, causal }),
        new eddy.Linear({ inFeatures: 8, outFeatures: 4 }),
      ]);
      scramble(model, 6);
      const names = await check(model, floatRuns(3, [[[5, 2, 4], 5], [[7, 7], 7], [[1], 1]]));
      assert.deepStrictEqual(names, ['input', 'lengths']);
    });
  }

  for (const rnn of ['GRU', 'LSTM'] as const) {
    it(`a ${rnn} encoder feeding a transformer decoder's cross-attention, source and target with their own lengths`, async () => {
      eddy.manualSeed(57);
      const source = eddy.input({ shape: [null] });
      const target = eddy.input({ shape: [null] });
      const memory = new eddy[rnn]({ inputSize: 6, hiddenSize: 8 }).apply(new eddy.Embedding({ numEmbeddings: 11, embeddingDim: 6 }).apply(source));
      const embedded = new eddy.PositionalEncoding({ dModel: 8, maxLen: 32 }).apply(new eddy.Embedding({ numEmbeddings: 7, embeddingDim: 8 }).apply(target));
      const decoded = new eddy.TransformerDecoder({ dModel: 8, nhead: 2, dimFeedforward: 16 }, { numLayers: 2, norm: true }).apply([embedded, memory]);
      const model = eddy.model({ inputs: [source, target], outputs: new eddy.Linear({ inFeatures: 8, outFeatures: 7 }).apply(decoded) });
      scramble(model, 7);
      const run = (B: number, S: number, T: number, seed: number, src: number[], tgt: number[]): GraphFeeds => ({ xs: [ids([B, S], 11, seed), ids([B, T], 7, seed + 1)], lengths: [lens(...src), lens(...tgt)] });
      const names = await check(model, [run(3, 6, 4, 60, [6, 2, 5], [4, 1, 3]), run(2, 3, 7, 70, [1, 3], [7, 5]), run(1, 1, 1, 80, [1], [1])], [true, true]);
      assert.deepStrictEqual(names, ['input_0', 'lengths_0', 'input_1', 'lengths_1']);
    });
  }

  it('refuses time-major layers and opsets without LayerNormalization, naming the layer and option', () => {
    const mha = eddy.sequential([new eddy.MultiHeadAttention({ embedDim: 4, numHeads: 2, batchFirst: false })]);
    assert.throws(() => eddy.onnx.toOnnx(mha), {
      name: 'EddyError', code: 'ERR_EDDY_ONNX', message: 'Export supports batch-first layers only; MultiHeadAttention(embedDim=4, numHeads=2, batchFirst=false) has batchFirst=false',
    });
    const encoder = eddy.sequential([new eddy.TransformerEncoder({ dModel: 4, nhead: 2, dimFeedforward: 8, batchFirst: false }, { numLayers: 1 })]);
    assert.throws(() => eddy.onnx.toOnnx(encoder), { code: 'ERR_EDDY_ONNX', message: /^Export supports batch-first layers only; TransformerEncoderLayer\(.*batchFirst=false\) has batchFirst=false$/ });
    const pe = eddy.sequential([new eddy.PositionalEncoding({ dModel: 4, batchFirst: false })]);
    assert.throws(() => eddy.onnx.toOnnx(pe), { code: 'ERR_EDDY_ONNX', message: /^Export supports batch-first layers only; PositionalEncoding\(.*\) has batchFirst=false$/ });
    const layer = eddy.sequential([new eddy.TransformerEncoderLayer({ dModel: 4, nhead: 2, dimFeedforward: 8 })]);
    assert.throws(() => eddy.onnx.toOnnx(layer, { opset: 16 }), { code: 'ERR_EDDY_ONNX', message: /^ONNX has LayerNormalization from opset 17; TransformerEncoderLayer\(dModel=4, .*\) cannot be exported at opset 16$/ });
  });
});
