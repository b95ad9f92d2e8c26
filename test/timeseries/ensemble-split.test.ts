/**
 * The default forecaster's ensemble split over the ranks of a job, with
 * the ranks simulated in one process (a DataParallel whose sum meets the
 * other simulated ranks): every rank ends with the forecaster one process
 * trains. The same split under mpirun is tested in test/distributed/cli.test.ts.
 */
import * as assert from 'assert';
import * as eddy from '../../lib';
import type { DataParallel } from '../../lib/model/parallel';
import { gatherMembers, TrainedMember } from '../../lib/timeseries/ensemble-split';
import { lagNetwork } from '../../lib/timeseries/lag-network';

/** `worldSize` replicas whose `sum` resolves once every one of them has called it. */
function simulatedJob(worldSize: number): DataParallel[] {
  let waiting: { values: Float64Array; resolve: (v: Float64Array) => void }[] = [];
  return Array.from({ length: worldSize }, (_, rank) => ({
    rank,
    worldSize,
    setup: async () => undefined,
    agree: async (flag: boolean) => flag,
    gradients: () => assert.fail('the forecaster trains each network on one rank'),
    sum: (values: Float64Array) =>
      new Promise<Float64Array>((resolve) => {
        waiting.push({ values, resolve });
        if (waiting.length < worldSize) return;
        const total = new Float64Array(values.length);
        for (const w of waiting) w.values.forEach((v, i) => (total[i] += v));
        for (const w of waiting) w.resolve(w.values.set(total) ?? w.values);
        waiting = [];
      }),
  }));
}

describe('default forecaster split over ranks', () => {
  const threads = eddy.getNumThreads();
  // One thread everywhere, so a network's arithmetic does not depend on which run trains it.
  before(() => eddy.setNumThreads(1));
  after(() => eddy.setNumThreads(threads));

  it('gives every rank the forecaster one process trains, bit for bit, for 2 and 4 ranks of 3 networks', async function () {
    this.timeout(60000);
    const noise = new eddy.Generator(5).normal(new Float32Array(160), 0, 1);
    const y = Array.from(noise, (e, t) => 50 + 0.05 * t + 5 * Math.sin((2 * Math.PI * t) / 12) + e);
    const opts = { season: 12, ensemble: 3, epochs: 4, hidden: 4, seed: 11 };
    const seen: string[][] = [];
    const fit = (dp?: DataParallel): ReturnType<typeof eddy.timeseries.fitForecaster> => {
      const log: string[] = [];
      seen.push(log);
      return eddy.timeseries.fitForecaster(y, { ...opts, ...(dp ? { distributed: dp } : {}), onNetworkEnd: (e) => log.push(`${e.stage} ${e.scaling} ${e.member} ${e.epochs} ${e.valLoss}`) });
    };
    const alone = await fit();
    const weights = (m: eddy.Model): Float32Array[] => m.parameters().map((p) => p.data.toFloat32Array());
    for (const worldSize of [2, 4]) {
      const ranks = await Promise.all(simulatedJob(worldSize).map((dp) => fit(dp)));
      for (const r of ranks) {
        assert.deepStrictEqual(weights(r.model), weights(alone.model));
        assert.deepStrictEqual(r.training, alone.training);
        assert.deepStrictEqual(r.forecaster.toJSON(), alone.forecaster.toJSON());
      }
    }
    // Every rank reports every network of both stages, in order, as one process does.
    assert.ok(seen[0].length >= 6);
    for (const log of seen.slice(1)) assert.deepStrictEqual(log, seen[0]);
  });

  it('fails every rank at once, the failing one with its own error, when one rank fails before the gather', async () => {
    // The simulated sum resolves only once every rank has called it: a rank that threw before
    // calling it would leave the others waiting, and this test would time out.
    const member = (epochs: number): TrainedMember => ({ net: lagNetwork(3, 2, 1, new eddy.Generator(1)), bestEpochs: epochs, valLoss: 0.5, history: { loss: new Array(epochs).fill(1), valLoss: [] } });
    const blank = (): ReturnType<typeof lagNetwork> => lagNetwork(3, 2, 1, new eddy.Generator(0));
    const [zero, one, two] = simulatedJob(3);
    const results = await Promise.allSettled([
      gatherMembers(zero, [member(2), null, null], blank, 2),
      gatherMembers(one, [null, member(3), null], blank, 2), // more epochs than the bound: a RangeError here
      gatherMembers(two, [null, null, null], blank, 2, new Error('training failed')),
    ]);
    assert.strictEqual(results[0].status, 'rejected');
    const peer = (results[0] as PromiseRejectedResult).reason as eddy.DistributedError;
    assert.ok(peer instanceof eddy.DistributedError);
    assert.strictEqual(peer.code, 'ERR_EDDY_DISTRIBUTED_PEER');
    assert.match(peer.message, /failed on ranks 1, 2 /);
    assert.ok((results[1] as PromiseRejectedResult).reason instanceof RangeError);
    assert.strictEqual(((results[2] as PromiseRejectedResult).reason as Error).message, 'training failed');
    // Without a failure the same gather succeeds and carries the members bit for bit.
    const m0 = member(2);
    const m1 = member(1);
    const [g0, g1] = await Promise.all((([a, b]) => [gatherMembers(a, [m0, null], blank, 2), gatherMembers(b, [null, m1], blank, 2)])(simulatedJob(2)));
    assert.deepStrictEqual(g1[0].net.model.parameters().map((p) => p.data.toFloat32Array()), m0.net.model.parameters().map((p) => p.data.toFloat32Array()));
    assert.deepStrictEqual(g0[1].history, m1.history);
  });
});
