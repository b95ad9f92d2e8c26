import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as eddy from '../../lib';

function setup(): { model: eddy.Sequential; optimizer: eddy.optim.Adam; generator: eddy.Generator } {
  eddy.manualSeed(8);
  const model = eddy.sequential([new eddy.GRU({ inputSize: 2, hiddenSize: 6, numLayers: 2, dropout: 0.2 }), new eddy.Linear({ inFeatures: 6, outFeatures: 1 })]);
  return { model, optimizer: new eddy.optim.Adam(model.parameters(), { lr: 0.01 }), generator: new eddy.Generator(3) };
}

describe('exact resume from a checkpoint', () => {
  const g = new eddy.Generator(1);
  const data = { x: eddy.tensor(g.uniform(new Float32Array(40 * 5 * 2), -1, 1), [40, 5, 2]), y: eddy.tensor(g.uniform(new Float32Array(40 * 5), -1, 1), [40, 5, 1]) };
  const weights = (m: eddy.Sequential): number[] => m.parameters().flatMap((p) => Array.from(p.data.data));

  it('fit({ resumeFrom }) after model.saveCheckpoint reaches the same weights bit for bit', async () => {
    const straight = setup();
    const seen: number[] = [];
    await straight.model.fit(data, { epochs: 4, batchSize: 8, loss: 'mse', optimizer: straight.optimizer, generator: straight.generator });

    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eddy-resume-'));
    try {
      const file = path.join(dir, 'ck.safetensors');
      const first = setup();
      await first.model.fit(data, { epochs: 2, batchSize: 8, loss: 'mse', optimizer: first.optimizer, generator: first.generator });
      await first.model.saveCheckpoint(file, { optimizer: first.optimizer, epoch: 2, rng: first.generator });

      eddy.manualSeed(12345); // the resumed run must not depend on what happened in between
      const resumed = setup();
      const history = await resumed.model.fit(data, {
        epochs: 4, batchSize: 8, loss: 'mse', optimizer: resumed.optimizer, generator: resumed.generator, resumeFrom: file,
        callbacks: { onEpochEnd: (e) => void seen.push(e) },
      });
      assert.deepStrictEqual(history.epoch, [2, 3]);
      assert.deepStrictEqual(seen, [2, 3]);
      assert.deepStrictEqual(weights(resumed.model), weights(straight.model));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
