/**
 * ONNX export of functional graphs, checked by running the exported files
 * in onnxruntime-node against Eddy's own forward: several inputs with
 * their own lengths, attention, Concatenate, Add, LayerNorm and pooling.
 */
import * as assert from 'assert';
import * as eddy from '../../lib';
import { Tensor } from '../../lib';
import { exportAndCompare, ortSuite, randomTensor as rand, tokenIds as ids } from './ort';

/** onnxruntime and Eddy run the same float32 ops in other orders (GEMM blocking, softmax sums): rounding of sums of ≤ 64 terms of size ≤ 10. */
const TOL = 1e-5;

describe('ONNX export of functional graphs (run in onnxruntime-node)', function () {
  this.timeout(60000);
  const { ort, files } = ortSuite('eddy-onnx-graph-');

  /** Exports, runs in onnxruntime with the given feeds, and checks every output against Eddy's eval-mode forward; returns the session's input names. */
  async function compare(model: eddy.GraphModel, xs: Tensor[], lengths: (Int32Array | null)[], tokenInputs: boolean[], opts: eddy.onnx.OnnxExportOptions = {}): Promise<string[]> {
    return (await exportAndCompare(ort!, files.dir, model, [{ xs, lengths }], { tokenInputs, tol: TOL, export: opts })).inputNames;
  }

  for (const kind of ['additive', 'dot', 'general'] as const) {
    it(`an encoder–decoder with ${kind} attention, each input with its own lengths`, async () => {
      eddy.manualSeed(41);
      const source = eddy.input({ shape: [null] });
      const target = eddy.input({ shape: [null] });
      const keys = new eddy.GRU({ inputSize: 6, hiddenSize: 5, bidirectional: true }).apply(new eddy.Embedding({ numEmbeddings: 9, embeddingDim: 6 }).apply(source));
      const queries = new eddy.LSTM({ inputSize: 6, hiddenSize: 10 }).apply(new eddy.Embedding({ numEmbeddings: 7, embeddingDim: 6 }).apply(target));
      const attention =
        kind === 'additive' ? new eddy.AdditiveAttention({ querySize: 10, keySize: 10, hiddenSize: 8 }) : kind === 'dot' ? new eddy.DotAttention({ scale: true }) : new eddy.GeneralAttention({ querySize: 10, keySize: 10 });
      const context = attention.apply([queries, keys]);
      const joined = new eddy.LayerNorm({ normalizedShape: 20 }).apply(new eddy.Concatenate().apply([queries, context]));
      const logits = new eddy.Linear({ inFeatures: 20, outFeatures: 7 }).apply(joined);
      const model = eddy.model({ inputs: [source, target], outputs: [logits, context.get('weights')] });
      // LayerNorm starts at gain 1, shift 0: move them so the export must carry them.
      for (const [name, p] of model.namedParameters()) if (name.startsWith('4.')) p.data.data.set(rand([p.data.size], 7).toFloat32Array());
      const names = await compare(model, [ids([3, 6], 9, 1), ids([3, 4], 7, 2)], [Int32Array.of(6, 2, 4), Int32Array.of(1, 4, 3)], [true, true]);
      assert.deepStrictEqual(names, ['input_0', 'lengths_0', 'input_1', 'lengths_1']);
    });
  }

  it('pooling (last, mean, max), Add and joined lengths on float inputs', async () => {
    eddy.manualSeed(42);
    const a = eddy.input({ shape: [null, 3] });
    const b = eddy.input({ shape: [null, 3] });
    const seqA = new eddy.GRU({ inputSize: 3, hiddenSize: 4 }).apply(a);
    const seqB = new eddy.RNN({ inputSize: 3, hiddenSize: 4 }).apply(b);
    const sum = new eddy.Add().apply([seqA, seqB]);
    const pooled = (['last', 'mean', 'max'] as const).map((mode) => new eddy.SequencePooling({ mode }).apply(sum));
    const model = eddy.model({ inputs: [a, b], outputs: [...pooled, new eddy.Concatenate().apply(pooled)] });
    await compare(model, [rand([3, 5, 3], 3), rand([3, 5, 3], 4)], [Int32Array.of(5, 3, 2), Int32Array.of(4, 5, 1)], [false, false]);
  });

  it('pooling without lengths (exported with lengths: false)', async () => {
    eddy.manualSeed(43);
    const x = eddy.input({ shape: [null, 3] });
    const seq = new eddy.Linear({ inFeatures: 3, outFeatures: 4 }).apply(x);
    const outputs = (['last', 'mean', 'max'] as const).map((mode) => new eddy.SequencePooling({ mode }).apply(seq));
    const model = eddy.model({ inputs: x, outputs });
    assert.deepStrictEqual(await compare(model, [rand([2, 4, 3], 5)], [null], [false], { lengths: false }), ['input']);
    assert.deepStrictEqual(await compare(model, [rand([2, 4, 3], 5)], [Int32Array.of(4, 2)], [false]), ['input', 'lengths']);
  });

  it('refuses what ONNX export does not cover, naming it', () => {
    const x = eddy.input({ shape: [null, 3] });
    const lstm = new eddy.LSTM({ inputSize: 3, hiddenSize: 4 });
    const model = eddy.model({ inputs: x, outputs: lstm.apply(x).get('h') });
    assert.throws(() => eddy.onnx.toOnnx(model), { code: 'ERR_EDDY_ONNX', message: 'Export does not support the output "h" of LSTM(inputSize=3, hiddenSize=4) yet' });
    const inner = eddy.model({ inputs: x, outputs: new eddy.Linear({ inFeatures: 3, outFeatures: 2 }).apply(x) });
    const nested = eddy.model({ inputs: x, outputs: inner.apply(x) });
    assert.throws(() => eddy.onnx.toOnnx(nested), { code: 'ERR_EDDY_ONNX', message: /^Export does not support Model\(1 input, 1 output\) yet \(supported: .*Concatenate.*GELU.*TransformerDecoder.*\)$/ });
  });
});
