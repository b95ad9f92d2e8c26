import * as assert from 'assert';
import { promises as fs } from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as eddy from '../../lib';
import { FormatError, Generator, Sequential } from '../../lib';
import { randomArray, rng } from '../helpers';

describe('io: checkpoints', () => {
  let dir: string;
  before(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'eddy-ckpt-'));
  });
  after(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  const random = rng(3);
  const data = { x: eddy.tensor(randomArray(24 * 6 * 3, random), [24, 6, 3]), y: eddy.tensor(randomArray(24 * 6 * 1, random), [24, 6, 1]) };
  /** An LSTM with dropout (drawing from the global generator) and a head. */
  const build = (seed: number): Sequential => {
    eddy.manualSeed(seed);
    return eddy.sequential([new eddy.LSTM({ inputSize: 3, hiddenSize: 8 }), new eddy.Dropout({ p: 0.2 }), new eddy.Linear({ inFeatures: 8, outFeatures: 1 })]);
  };
  const fitOptions = (optimizer: eddy.optim.Optimizer<{ lr: number }>, generator: Generator, epochs: number) => ({ epochs, batchSize: 5, loss: 'mse' as const, optimizer, generator });
  const weights = (m: Sequential): Float32Array[] => m.parameters().map((p) => p.data.toFloat32Array());

  it('resumes training bit-identically: N epochs straight equal k, checkpoint, restore into fresh objects, N − k', async function () {
    this.timeout(60000);
    const N = 4;
    const k = 2;
    const straight = build(5);
    const optStraight = new eddy.optim.Adam(straight.parameters(), { lr: 1e-2 });
    eddy.manualSeed(100);
    await straight.fit(data, fitOptions(optStraight, new Generator(9), N));

    const first = build(5);
    const optFirst = new eddy.optim.Adam(first.parameters(), { lr: 1e-2 });
    const shuffle = new Generator(9);
    eddy.manualSeed(100);
    await first.fit(data, fitOptions(optFirst, shuffle, k));
    const file = path.join(dir, 'resume.safetensors');
    await eddy.saveCheckpoint(file, { model: first, optimizer: optFirst, epoch: k, step: k * 5, rng: shuffle, metadata: { run: 'a' } });

    // Fresh objects, different initial weights and random streams: everything comes from the file.
    const resumed = build(77);
    const optResumed = new eddy.optim.Adam(resumed.parameters(), { lr: 0.5 });
    const shuffleResumed = new Generator(1234);
    eddy.manualSeed(999);
    const restored = await eddy.loadCheckpoint(file, { model: resumed, optimizer: optResumed, rng: shuffleResumed });
    assert.deepStrictEqual([restored.epoch, restored.step, restored.metadata], [k, k * 5, { run: 'a' }]);
    assert.strictEqual(optResumed.paramGroups[0].lr, 1e-2);
    await resumed.fit(data, fitOptions(optResumed, shuffleResumed, N - k));

    const a = weights(straight);
    const b = weights(resumed);
    a.forEach((w, i) => assert.ok(Buffer.from(w.buffer).equals(Buffer.from(b[i].buffer)), `parameter ${i} differs`));
    // The checkpoint is also a model file.
    const asModel = await eddy.load(file);
    assert.strictEqual(asModel.toString(), first.toString());
  });

  it('refuses a checkpoint for a different optimizer or a plain model file, with a FormatError', async () => {
    const m = build(1);
    const file = path.join(dir, 'c.safetensors');
    await eddy.saveCheckpoint(file, { model: m, optimizer: new eddy.optim.Adam(m.parameters()) });
    await assert.rejects(eddy.loadCheckpoint(file, { optimizer: new eddy.optim.SGD(m.parameters(), { lr: 0.1 }) }), (e: Error) => e instanceof FormatError && /holds the state of a Adam optimizer, not of the SGD given/.test(e.message));
    await assert.rejects(eddy.loadCheckpoint(file, { rng: new Generator(1) }), /Expected the state of generator "rng"/);
    const plain = path.join(dir, 'p.safetensors');
    await m.save(plain);
    await assert.rejects(eddy.loadCheckpoint(plain), /Expected a checkpoint \(eddy.kind "checkpoint"\)/);
    await assert.rejects(eddy.loadCheckpoint(file, { model: new eddy.Linear({ inFeatures: 1, outFeatures: 1 }) }), FormatError);
  });

  it('ModelCheckpoint keeps the last N epochs and the best', async function () {
    this.timeout(60000);
    const m = build(2);
    const optimizer = new eddy.optim.Adam(m.parameters(), { lr: 1e-2 });
    const ckdir = path.join(dir, 'run');
    const cb = new eddy.io.ModelCheckpoint({ directory: ckdir, optimizer, keepLast: 2 });
    const history = await m.fit(data, { ...fitOptions(optimizer, new Generator(3), 4), callbacks: cb });
    assert.deepStrictEqual((await fs.readdir(ckdir)).sort(), ['best.safetensors', 'epoch-3.safetensors', 'epoch-4.safetensors']);
    assert.strictEqual(cb.best, Math.min(...history.history.loss));
    const last = await eddy.loadCheckpoint(path.join(ckdir, 'epoch-4.safetensors'));
    assert.deepStrictEqual([last.epoch, last.step], [4, 20]);

    // A resumed run continues the numbering and keeps the earlier best unless it beats it.
    const resumed = build(2);
    const opt2 = new eddy.optim.Adam(resumed.parameters(), { lr: 1e-2 });
    const cb2 = new eddy.io.ModelCheckpoint({ directory: ckdir, optimizer: opt2, keepLast: 2, monitor: 'worse' });
    const bestBefore = await fs.readFile(path.join(ckdir, 'best.safetensors'));
    await resumed.fit(data, { ...fitOptions(opt2, new Generator(3), 5), resumeFrom: path.join(ckdir, 'epoch-4.safetensors'), callbacks: [{ onEpochEnd: (_e, logs) => void (logs.worse = 1e9) }, cb2] });
    assert.ok((await fs.readdir(ckdir)).includes('epoch-5.safetensors'));
    assert.ok(!Number.isFinite(cb2.best) || cb2.best === cb.best, `best ${cb2.best}`);
    assert.deepStrictEqual(await fs.readFile(path.join(ckdir, 'best.safetensors')), bestBefore, 'a worse epoch did not replace best.safetensors');
  });
});
