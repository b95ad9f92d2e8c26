import * as assert from 'assert';
import * as eddy from '../../lib';

/** A lag network for 3 lags and a horizon of 2: Linear → ReLU → Linear, plus a Linear from the inputs, summed. */
function lagNetwork(): eddy.GraphModel {
  eddy.manualSeed(5);
  const x = eddy.input({ shape: [3] });
  const h = new eddy.ReLU().apply(new eddy.Linear({ inFeatures: 3, outFeatures: 8 }).apply(x));
  const out = new eddy.Add().apply([new eddy.Linear({ inFeatures: 8, outFeatures: 2 }).apply(h), new eddy.Linear({ inFeatures: 3, outFeatures: 2 }).apply(x)]);
  return eddy.model({ inputs: x, outputs: out }).eval();
}

describe('Coalescer', () => {
  it('fails only the request that fails: its batch-mates get bit-identical answers to their own forecast', async () => {
    // Relative scaling needs a history ending on a positive value; one request breaks that, and
    // the batched forecastMany throws for all of them until each runs again alone.
    const rows = new eddy.serving.RowModel(lagNetwork());
    const json = { type: 'SeriesForecaster', inputSteps: 4, season: 0, horizon: 2, scaling: 'relative', scale: 0.05, levels: [0.9], halfWidths: [[1, 1.5]] };
    const f = eddy.timeseries.SeriesForecaster.fromJSON((x: eddy.Tensor) => rows.run(x), json);
    const sizes: number[] = [];
    const queue = new eddy.serving.Coalescer((rs: { history: number[]; steps: number }[]) => f.forecastMany(rs.map((r) => r.history), rs.map((r) => r.steps)), { maxBatch: 8, maxDelayMs: 20, onBatch: (n) => sizes.push(n) });
    const asks = [
      { history: [10, 11, 12, 11.5, 12.5], steps: 3 },
      { history: [5, 6, 7, 8], steps: 1 },
      { history: [3, 2, 1, 0, -1], steps: 2 },
      { history: [20, 19, 21, 22, 23, 24], steps: 5 },
    ];
    const settled = await Promise.allSettled(asks.map((a) => queue.submit(a)));
    assert.deepStrictEqual(sizes, [4, 1, 1, 1, 1], 'one failed batch of 4, then each request alone');
    for (const i of [0, 1, 3]) {
      assert.strictEqual(settled[i].status, 'fulfilled', `request ${i}`);
      assert.deepStrictEqual((settled[i] as PromiseFulfilledResult<unknown>).value, await f.forecast(asks[i].history, asks[i].steps), `request ${i}`);
    }
    assert.strictEqual(settled[2].status, 'rejected');
    assert.deepStrictEqual(
      { name: ((settled[2] as PromiseRejectedResult).reason as Error).name, message: ((settled[2] as PromiseRejectedResult).reason as Error).message },
      { name: 'ValidationError', message: 'Expected a positive last value of history for a forecaster with relative scaling but received -1 at row 4' },
    );
    // checkHistory refuses the same history up front (what a server does before batching).
    assert.throws(() => f.checkHistory(asks[2].history), { name: 'ValidationError' });
    assert.deepStrictEqual(f.checkHistory(asks[3].history), [21, 22, 23, 24]);
  });

  it('runs a failed batch again one by one, skipping requests aborted meanwhile, and rejects each failure with its own error', async () => {
    const batches: number[][] = [];
    const controller = new AbortController();
    const queue = new eddy.serving.Coalescer(
      async (xs: number[]) => {
        batches.push(xs);
        // Request 3 is aborted while the first batch runs: it is not run again.
        if (batches.length === 1) controller.abort();
        await new Promise((r) => setTimeout(r, 1));
        const bad = xs.find((x) => x < 0);
        if (bad !== undefined) throw new RangeError(`bad input ${bad}`);
        return xs.map((x) => x * 2);
      },
      { maxBatch: 8, maxDelayMs: 10 },
    );
    const results = [queue.submit(1), queue.submit(-2), queue.submit(3, controller.signal), queue.submit(-4), queue.submit(5)];
    const settled = await Promise.allSettled(results);
    assert.deepStrictEqual(
      settled.map((s) => (s.status === 'fulfilled' ? s.value : `${(s.reason as Error).name}: ${(s.reason as Error).message}`)),
      [2, 'RangeError: bad input -2', 'AbortError: The request was aborted', 'RangeError: bad input -4', 10],
    );
    assert.deepStrictEqual(batches, [[1, -2, 3, -4, 5], [1], [-2], [-4], [5]]);
    assert.strictEqual(queue.batchesRunning, 0);
  });

  it('takes any Abortable for a signal: a cancelled request leaves the queue, the others run', async () => {
    const listeners: (() => void)[] = [];
    const cancellation = {
      aborted: false,
      addEventListener: (_: 'abort', l: () => void) => void listeners.push(l),
      removeEventListener: (_: 'abort', l: () => void) => void listeners.splice(listeners.indexOf(l), 1),
    };
    const batches: number[][] = [];
    const queue = new eddy.serving.Coalescer((xs: number[]) => (batches.push(xs), xs.map((x) => -x)), { maxBatch: 4, maxDelayMs: 30 });
    const a = queue.submit(1);
    const b = queue.submit(2, cancellation);
    assert.strictEqual(queue.queued, 2);
    cancellation.aborted = true;
    for (const l of [...listeners]) l();
    await assert.rejects(b, { name: 'AbortError' });
    assert.strictEqual(queue.queued, 1);
    assert.strictEqual(await a, -1);
    assert.deepStrictEqual(batches, [[1]]);
    await assert.rejects(queue.submit(3, cancellation), { name: 'AbortError' });
  });
});
