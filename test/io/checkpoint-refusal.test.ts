import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as eddy from '../../lib';
import { decodeSafetensors, encodeSafetensors, entryToFloat32 } from '../../lib/io/safetensors';

/** A copy of a safetensors file with its metadata edited. */
function withMetadata(file: string, edit: (m: Map<string, string>) => void): Buffer {
  const c = decodeSafetensors(fs.readFileSync(file));
  const tensors = new Map<string, { data: Float32Array; shape: number[] }>();
  for (const [name, e] of c.tensors) tensors.set(name, { data: entryToFloat32(e, name), shape: e.shape });
  const metadata = new Map(c.metadata);
  edit(metadata);
  return Buffer.from(encodeSafetensors(tensors as never, metadata));
}

describe('a refused checkpoint restore changes nothing', () => {
  let dir = '';
  let good = '';
  const make = (): { model: eddy.Sequential; optimizer: eddy.optim.Adam } => {
    const model = eddy.sequential([new eddy.LSTM({ inputSize: 2, hiddenSize: 3 }), new eddy.Linear({ inFeatures: 3, outFeatures: 1 })]);
    return { model, optimizer: new eddy.optim.Adam(model.parameters(), { lr: 0.1 }) };
  };
  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eddy-ck-'));
    good = path.join(dir, 'good.safetensors');
    eddy.manualSeed(1);
    const { model, optimizer } = make();
    await model.saveCheckpoint(good, { optimizer, rng: new eddy.Generator(5), epoch: 1 });
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  const cases: [string, (m: Map<string, string>) => void, RegExp][] = [
    ['an invalid generator state', (m) => m.set('eddy.rng', JSON.stringify({ global: [1, 2, 3, 4], rng: [0, 0, 0, 0] })), /not all zero/],
    [
      'an invalid learning rate',
      (m) => {
        const o = JSON.parse(m.get('eddy.optimizer')!);
        o.paramGroups[0].lr = -1;
        m.set('eddy.optimizer', JSON.stringify(o));
      },
      /lr/,
    ],
  ];
  for (const [name, edit, message] of cases) {
    it(name, async () => {
      const bad = path.join(dir, 'bad.safetensors');
      fs.writeFileSync(bad, withMetadata(good, edit));
      eddy.manualSeed(2);
      const { model, optimizer } = make();
      const rng = new eddy.Generator(9);
      const before = { weights: model.parameters().map((p) => Array.from(p.data.data)), lr: optimizer.paramGroups[0].lr, rng: rng.getState(), global: globalGen().getState() };
      await assert.rejects(eddy.loadCheckpoint(bad, { model, optimizer, rng }), (e: unknown) => e instanceof eddy.FormatError && message.test((e as Error).message));
      assert.deepStrictEqual(model.parameters().map((p) => Array.from(p.data.data)), before.weights);
      assert.strictEqual(optimizer.paramGroups[0].lr, before.lr);
      assert.deepStrictEqual(rng.getState(), before.rng);
      assert.deepStrictEqual(globalGen().getState(), before.global);
    });
  }
});

function globalGen(): eddy.Generator {
  return (require('../../lib/random') as typeof import('../../lib/random')).globalGenerator;
}
