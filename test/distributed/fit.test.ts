import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { assertClose } from '../helpers';
import { describeWithMpi, mpirun } from './mpirun';

interface Run {
  rank: number;
  worldSize: number;
  sgd: { weights: number[]; losses: number[]; history: Record<string, number[]> };
  adam: { weights: number[]; losses: number[]; history: Record<string, number[]> };
}

describeWithMpi('fit({ distributed: true }) under mpirun', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eddy-dp-'));
  const runs = new Map<number, Run[]>();
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  // 20 steps of a global batch of 12 rows: 12 / 2 and 12 / 3 rows per rank.
  for (const np of [1, 2, 3]) {
    it(`trains on ${np} rank${np > 1 ? 's' : ''}, every rank ending with the same weights`, async function () {
      this.timeout(120_000);
      const r = await mpirun(np, 'fit', [path.join(dir, `np${np}`), '20', '12'], 110);
      assert.strictEqual(r.code, 0, `mpirun exited with ${r.code ?? r.signal}:\n${r.stdout}\n${r.stderr}`);
      const got = Array.from({ length: np }, (_, rank) => JSON.parse(fs.readFileSync(path.join(dir, `np${np}.${rank}.json`), 'utf8')) as Run);
      for (const g of got.slice(1)) {
        assert.deepStrictEqual(g.sgd.weights, got[0].sgd.weights, 'ranks disagree after SGD');
        assert.deepStrictEqual(g.adam.weights, got[0].adam.weights, 'ranks disagree after Adam');
      }
      assert.strictEqual(got[0].sgd.losses.length, 20);
      runs.set(np, got);
    });
  }

  for (const np of [2, 3]) {
    it(`on ${np} ranks gives the weights of one process on the global batch (SGD, 20 steps)`, function () {
      const one = runs.get(1);
      const many = runs.get(np);
      if (!one || !many) this.skip();
      // Each rank sums its rows' gradients (times its row count, over the global count) and
      // the all-reduce adds those partial sums: the same terms as one process's mean, added in
      // another order, so each gradient differs by a few float32 roundings (~1e-7 relative).
      // Twenty momentum steps of lr 0.1 on a contracting GRU carry that to well under 1e-5.
      const worst = assertClose(many[0].sgd.weights, one[0].sgd.weights, 1e-5, `SGD weights, ${np} ranks vs 1`);
      console.log(`      max relative weight difference ${worst.toExponential(2)} (tolerance 1e-5)`);
      assertClose(many[0].sgd.history.loss, one[0].sgd.history.loss, 1e-5, 'epoch loss');
      assertClose(many[0].sgd.history.valLoss, one[0].sgd.history.valLoss, 1e-5, 'validation loss');
    });

    it(`on ${np} ranks follows one process's loss curve with Adam`, function () {
      const one = runs.get(1);
      const many = runs.get(np);
      if (!one || !many) this.skip();
      // Adam divides by sqrt(v) + eps, which magnifies rounding differences in tiny gradient
      // components, so the weights are compared through the loss curve: per step within 1e-4.
      const worst = assertClose(many[0].adam.losses, one[0].adam.losses, 1e-4, `Adam per-step loss, ${np} ranks vs 1`);
      console.log(`      max relative loss difference ${worst.toExponential(2)} (tolerance 1e-4)`);
    });
  }
});
