/**
 * ONNX export, checked by running the exported files in onnxruntime-node
 * against Eddy's own outputs.
 */
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import * as eddy from '../../lib';
import { Module, Tensor } from '../../lib';
import { Ort, ortSuite } from './ort';


const TOL = 1e-5;

describe('ONNX export (run in onnxruntime-node)', function () {
  this.timeout(60000);
  const { ort, files } = ortSuite('eddy-onnx-');

  /** Exports, runs in onnxruntime, and returns the largest difference from Eddy's eval-mode output. */
  async function compare(model: Module & { forward(x: Tensor, ctx?: object): Tensor }, x: Tensor, lengths: Int32Array, ids = false): Promise<number> {
    model.eval();
    const file = path.join(files.dir, `m${Math.random().toString(36).slice(2)}.onnx`);
    await eddy.onnx.export(model, file);
    const session = await ort!.InferenceSession.create(file);
    const feeds: Record<string, InstanceType<Ort['Tensor']>> = {
      input: ids ? new ort!.Tensor('int64', BigInt64Array.from(x.toFloat32Array(), (v) => BigInt(v)), x.shape.slice()) : new ort!.Tensor('float32', x.toFloat32Array(), x.shape.slice()),
    };
    if (session.inputNames.includes('lengths')) feeds.lengths = new ort!.Tensor('int32', lengths, [lengths.length]);
    const result = await session.run(feeds);
    const want = eddy.noGrad(() => model.forward(x, { lengths }));
    const got = result.output.data as Float32Array;
    assert.deepStrictEqual(result.output.dims, want.shape);
    let worst = 0;
    for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i] - want.data[i]));
    assert.ok(worst <= TOL, `max difference ${worst}`);
    return worst;
  }

  const x = (B: number, T: number, F: number): Tensor => eddy.tensor(Float32Array.from({ length: B * T * F }, (_, i) => Math.sin(0.7 * i)), [B, T, F]);
  const lengths = Int32Array.of(5, 2, 4);

  const cases: [string, () => Module & { forward(x: Tensor, ctx?: object): Tensor }][] = [
    ['2-layer bidirectional LSTM + Linear', () => eddy.sequential([new eddy.LSTM({ inputSize: 3, hiddenSize: 4, numLayers: 2, bidirectional: true }), new eddy.Linear({ inFeatures: 8, outFeatures: 2 })])],
    ['GRU (linear before reset) + Tanh', () => eddy.sequential([new eddy.GRU({ inputSize: 3, hiddenSize: 5 }), new eddy.Tanh()])],
    ['GRU reset-before, bidirectional', () => eddy.sequential([new eddy.GRU({ inputSize: 3, hiddenSize: 4, resetAfter: false, bidirectional: true })])],
    ['RNN relu, no bias, + Linear + Sigmoid', () => eddy.sequential([new eddy.RNN({ inputSize: 3, hiddenSize: 4, nonlinearity: 'relu', bias: false }), new eddy.Linear({ inFeatures: 4, outFeatures: 3 }), new eddy.Sigmoid()])],
    ['GRU + SequencePooling(last) + Linear (the forecaster eddy train makes)', () => eddy.sequential([new eddy.GRU({ inputSize: 3, hiddenSize: 5 }), new eddy.SequencePooling({ mode: 'last' }), new eddy.Linear({ inFeatures: 5, outFeatures: 1 })])],
    ['Bidirectional wrapper (concat) around an LSTM', () => eddy.sequential([new eddy.Bidirectional(new eddy.LSTM({ inputSize: 3, hiddenSize: 4 })), new eddy.Dropout({ p: 0.3 })])],
    ['GRU + GELU (exact, from Erf) + SequencePooling(mean)', () => eddy.sequential([new eddy.GRU({ inputSize: 3, hiddenSize: 4 }), new eddy.GELU(), new eddy.SequencePooling({ mode: 'mean' })])],
  ];
  for (const [name, make] of cases) {
    it(`${name}: outputs within ${TOL}, with variable lengths`, async () => {
      eddy.manualSeed(3);
      const worst = await compare(make(), x(3, 5, 3), lengths);
      console.log(`      max difference ${worst.toExponential(1)}`);
    });
  }

  it('Embedding + LSTM + Linear + LogSoftmax over token ids', async () => {
    eddy.manualSeed(4);
    const model = eddy.sequential([
      new eddy.Embedding({ numEmbeddings: 10, embeddingDim: 4 }),
      new eddy.LSTM({ inputSize: 4, hiddenSize: 6 }),
      new eddy.Linear({ inFeatures: 6, outFeatures: 10 }),
      new eddy.LogSoftmax(),
    ]);
    const ids = eddy.tensor(Float32Array.from({ length: 15 }, (_, i) => (i * 7) % 10), [3, 5]);
    const worst = await compare(model, ids, lengths, true);
    console.log(`      max difference ${worst.toExponential(1)}`);
  });

  it('Bidirectional RNN whose directions use different nonlinearities', async () => {
    eddy.manualSeed(5);
    const model = eddy.sequential([new eddy.Bidirectional(new eddy.RNN({ inputSize: 3, hiddenSize: 4 }), { backwardLayer: new eddy.RNN({ inputSize: 3, hiddenSize: 4, nonlinearity: 'relu' }) })]);
    const worst = await compare(model, x(3, 5, 3), lengths);
    console.log(`      max difference ${worst.toExponential(1)}`);
  });

  it('SequencePooling(last) without a lengths input takes the last step', async () => {
    eddy.manualSeed(6);
    const model = eddy.sequential([new eddy.LSTM({ inputSize: 3, hiddenSize: 4 }), new eddy.SequencePooling({ mode: 'last' })]).eval();
    const file = path.join(files.dir, 'pool.onnx');
    await eddy.onnx.export(model, file, { lengths: false });
    const session = await ort!.InferenceSession.create(file);
    const input = x(2, 5, 3);
    const result = await session.run({ input: new ort!.Tensor('float32', input.toFloat32Array(), input.shape.slice()) });
    const want = eddy.noGrad(() => model.forward(input));
    assert.deepStrictEqual(result.output.dims, want.shape);
    const got = result.output.data as Float32Array;
    let worst = 0;
    for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i] - want.data[i]));
    assert.ok(worst <= TOL, `max difference ${worst}`);
    const mean = eddy.sequential([new eddy.LSTM({ inputSize: 3, hiddenSize: 4 }), new eddy.SequencePooling({ mode: 'mean' })]);
    // Mean and max pooling export too (run against Eddy in graph-export.test.ts).
    assert.ok(eddy.onnx.toOnnx(mean).byteLength > 0);
  });

  it('refuses what ONNX cannot express, naming it', async () => {
    const mixed = eddy.sequential([new eddy.Bidirectional(new eddy.GRU({ inputSize: 3, hiddenSize: 4 }), { backwardLayer: new eddy.GRU({ inputSize: 3, hiddenSize: 4, resetAfter: false }) })]);
    await assert.rejects(eddy.onnx.export(mixed, path.join(files.dir, 'm.onnx')), /ONNX needs both directions of one operator to be the same cell/);
    const timeMajor = eddy.sequential([new eddy.Bidirectional(new eddy.LSTM({ inputSize: 3, hiddenSize: 4, batchFirst: false }))]);
    await assert.rejects(eddy.onnx.export(timeMajor, path.join(files.dir, 't.onnx')), /Export needs batch-first recurrent layers/);
    const soft = eddy.sequential([new eddy.Linear({ inFeatures: 3, outFeatures: 3 }), new eddy.Softmax(1)]);
    await assert.rejects(eddy.onnx.export(soft, path.join(files.dir, 's.onnx'), { opset: 11 }), { message: 'Expected integer between 13 and 100 for opts.opset but received 11 of type number' });
    const ln = eddy.sequential([new eddy.LSTM({ inputSize: 3, hiddenSize: 4, layerNorm: true })]);
    await assert.rejects(eddy.onnx.export(ln, path.join(files.dir, 'x.onnx')), { code: 'ERR_EDDY_ONNX', message: 'ONNX has no layer-normalized LSTM; LSTM(inputSize=3, hiddenSize=4, layerNorm=true) cannot be exported' });
    const norm = eddy.sequential([new eddy.Linear({ inFeatures: 3, outFeatures: 3 }), new eddy.LayerNorm({ normalizedShape: 3 })]);
    await assert.rejects(eddy.onnx.export(norm, path.join(files.dir, 'y.onnx'), { opset: 16 }), { code: 'ERR_EDDY_ONNX', message: 'ONNX has LayerNormalization from opset 17; LayerNorm(normalizedShape=[3]) cannot be exported at opset 16' });
    assert.ok(!fs.existsSync(path.join(files.dir, 'x.onnx')));
  });
});
