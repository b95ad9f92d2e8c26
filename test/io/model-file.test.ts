import * as assert from 'assert';
import { promises as fs } from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as eddy from '../../lib';
import { FormatError, Module, Tensor } from '../../lib';
import { rng, randomArray } from '../helpers';

const input = (B: number, T: number, F: number, seed = 1): Tensor => eddy.tensor(randomArray(B * T * F, rng(seed)), [B, T, F]);

function outputOf(m: Module, x: Tensor): Float32Array {
  const y = eddy.noGrad(() => (m as unknown as { forward(x: Tensor): unknown }).forward(x));
  return (y instanceof Tensor ? y : (y as { output: Tensor }).output).toFloat32Array();
}

describe('io: model files', () => {
  let dir: string;
  before(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'eddy-io-'));
  });
  after(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('saves a sequential model under PyTorch module paths and loads it back with identical outputs', async () => {
    eddy.manualSeed(3);
    const model = eddy.sequential([new eddy.LSTM({ inputSize: 3, hiddenSize: 4, numLayers: 2 }), new eddy.Linear({ inFeatures: 4, outFeatures: 2 })]);
    const file = path.join(dir, 'seq.safetensors');
    await model.save(file, { metadata: { vocabulary: '["a","b"]' } });
    const raw = await fs.readFile(file);
    const n = Number(raw.readBigUInt64LE(0));
    assert.strictEqual(n % 8, 0, 'the header is padded to 8 bytes');
    const header = JSON.parse(raw.subarray(8, 8 + n).toString());
    assert.deepStrictEqual(Object.keys(header).filter((k) => k !== '__metadata__'), ['0.weight_ih_l0', '0.weight_hh_l0', '0.bias_ih_l0', '0.bias_hh_l0', '0.weight_ih_l1', '0.weight_hh_l1', '0.bias_ih_l1', '0.bias_hh_l1', '1.weight', '1.bias']);
    assert.deepStrictEqual(header['0.weight_ih_l0'], { dtype: 'F32', shape: [16, 3], data_offsets: [0, 192] });
    assert.strictEqual(header.__metadata__['eddy.format_version'], '1');
    assert.strictEqual(header.__metadata__.format, 'pt');
    const loaded = await eddy.loadModelFile(file);
    assert.ok(loaded.model instanceof eddy.Sequential);
    assert.deepStrictEqual(loaded.metadata, { vocabulary: '["a","b"]' });
    assert.strictEqual(loaded.formatVersion, 1);
    const x = input(2, 5, 3);
    assert.deepStrictEqual(outputOf(loaded.model, x), outputOf(model, x));
  });

  it('loads a bare recurrent layer, a bidirectional graph and an embedding model identically', async () => {
    const models: Module[] = [
      new eddy.GRU({ inputSize: 3, hiddenSize: 5, resetAfter: false, bidirectional: true }),
      eddy.sequential([new eddy.Bidirectional(new eddy.RNN({ inputSize: 3, hiddenSize: 4, nonlinearity: 'relu' }), { mergeMode: 'sum' }), new eddy.Tanh(), new eddy.Linear({ inFeatures: 4, outFeatures: 1 })]),
    ];
    for (const [i, m] of models.entries()) {
      const file = path.join(dir, `m${i}.safetensors`);
      await eddy.save(m, file);
      const back = await eddy.load(file);
      assert.strictEqual(back.toString(), m.toString());
      const x = input(3, 4, 3, i);
      assert.deepStrictEqual(outputOf(back, x), outputOf(m, x));
    }
    const emb = eddy.sequential([new eddy.Embedding({ numEmbeddings: 7, embeddingDim: 3 }), new eddy.LSTM({ inputSize: 3, hiddenSize: 2 })]);
    const file = path.join(dir, 'emb.safetensors');
    await emb.save(file);
    const back = await eddy.load(file);
    const ids = eddy.tensor(Float32Array.of(1, 2, 3, 6, 0, 5), [2, 3]);
    assert.deepStrictEqual(outputOf(back, ids), outputOf(emb, ids));
  });

  it('does not disturb the global random stream when loading', async () => {
    const file = path.join(dir, 'rng.safetensors');
    await eddy.save(new eddy.LSTM({ inputSize: 8, hiddenSize: 8 }), file);
    eddy.manualSeed(42);
    const a = new eddy.Linear({ inFeatures: 2, outFeatures: 2 }).weight.data.toFloat32Array();
    eddy.manualSeed(42);
    await eddy.load(file);
    const b = new eddy.Linear({ inFeatures: 2, outFeatures: 2 }).weight.data.toFloat32Array();
    assert.deepStrictEqual(b, a);
  });

  it('describes a file: architecture and parameter count, from the header', async () => {
    const model = eddy.sequential([new eddy.LSTM({ inputSize: 3, hiddenSize: 4 }), new eddy.Linear({ inFeatures: 4, outFeatures: 2 })]);
    const file = path.join(dir, 'info.safetensors');
    await model.save(file, { metadata: { note: 'x' } });
    const info = await eddy.describeModelFile(file);
    assert.strictEqual(info.parameters, 4 * 4 * (3 + 4 + 2) + 4 * 2 + 2);
    // From the config alone: every config value is shown, since defaults are known only to a built layer.
    assert.strictEqual(
      info.architecture,
      'Sequential(2 layers)\n' +
        '  0: LSTM(inputSize=3, hiddenSize=4, numLayers=1, bias=true, batchFirst=true, dropout=0, bidirectional=false, recurrentDropout=0, stateful=false, projSize=0, layerNorm=false)\n' +
        '  1: Linear(inFeatures=4, outFeatures=2, bias=true)',
    );
    assert.strictEqual(info.kind, 'model');
    assert.deepStrictEqual(info.metadata, { note: 'x' });
    assert.deepStrictEqual(info.tensors[0], { name: '0.weight_ih_l0', dtype: 'F32', shape: [16, 3] });
  });

  it('rejects reserved or non-string metadata with a ValidationError', async () => {
    const m = new eddy.Linear({ inFeatures: 1, outFeatures: 1 });
    await assert.rejects(eddy.save(m, path.join(dir, 'x.safetensors'), { metadata: { 'eddy.model': 'x' } }), /Expected a metadata key other than "eddy.model"/);
    await assert.rejects(eddy.save(m, path.join(dir, 'x.safetensors'), { metadata: { a: 1 as unknown as string } }), /Expected a string for metadata.a but received 1 of type number/);
    await assert.rejects(eddy.load(path.join(dir, 'missing.safetensors')), /ENOENT/);
    await assert.rejects(eddy.load(path.join(dir, 'missing.safetensors')), (e: Error) => !(e instanceof FormatError));
  });
});
