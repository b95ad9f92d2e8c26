import * as assert from 'assert';
import * as eddy from '../../lib';
import { Tensor } from '../../lib';

/**
 * A batched row sums the same products as the row alone, but the GEMM
 * kernel may block K differently for another row count: one step of these
 * small LSTMs differs by at most (in + H) · 2⁻²⁴ relative (≈ 2e-6), a few
 * steps through contracting gates stay below 1e-5.
 */
const TOL = 1e-5;
function close(a: Tensor, b: Tensor, what: string): void {
  assert.deepStrictEqual(a.shape, b.shape, what);
  const x = a.toFloat32Array(), y = b.toFloat32Array();
  let worst = 0;
  for (let i = 0; i < x.length; i++) worst = Math.max(worst, Math.abs(x[i] - y[i]));
  assert.ok(worst <= TOL, `${what}: largest difference ${worst} (tolerance ${TOL})`);
}

function model(): eddy.Sequential {
  eddy.manualSeed(21);
  return eddy.sequential([new eddy.LSTM({ inputSize: 3, hiddenSize: 6 }), new eddy.Linear({ inFeatures: 6, outFeatures: 2 })]).eval();
}

const seq = (steps: number, seed: number): Tensor => eddy.tensor(new eddy.Generator(seed).uniform(new Float32Array(steps * 3), -1, 1), [steps, 3]);

describe('StreamBatcher', () => {
  it('steps many streams as one batch, each from its own state, equal to separate sessions', async () => {
    const m = model();
    const batcher = new eddy.serving.StreamBatcher(m, { maxBatch: 8 });
    const inputs = Array.from({ length: 5 }, (_, i) => seq(4, i + 1));
    const streams = inputs.map(() => batcher.open());
    // Streams join at different times: stream 4 starts two steps late.
    const outs: Tensor[][] = inputs.map(() => []);
    for (let t = 0; t < 6; t++) {
      await Promise.all(
        streams.map(async (s, i) => {
          const at = i === 4 ? t - 2 : t;
          if (at < 0 || at >= 4) return;
          outs[i].push(await s.step(inputs[i].select(0, at)));
        }),
      );
    }
    inputs.forEach((x, i) => {
      const alone = eddy.session(m);
      const expected = Array.from({ length: 4 }, (_, t) => alone.step(x.select(0, t)));
      close(eddy.stack(outs[i], 0), eddy.stack(expected, 0), `stream ${i}`);
      close(eddy.tensor(streams[i].state().layers['0'].h, [1, 1, 6]), eddy.tensor(alone.state().layers['0'].h, [1, 1, 6]), `stream ${i} state`);
    });
  });

  it('is batch-invariant: a stream gets bit-identical outputs alone or among any number of streams, at any thread count', async () => {
    eddy.manualSeed(4);
    // Recurrent layers only (and an exact gather): the packed kernels give each row the same arithmetic whatever the batch.
    const m = eddy.sequential([new eddy.Embedding({ numEmbeddings: 20, embeddingDim: 8 }), new eddy.LSTM({ inputSize: 8, hiddenSize: 16 }), new eddy.GRU({ inputSize: 16, hiddenSize: 12 })]).eval();
    const ids = (s: number): number[] => Array.from({ length: 6 }, (_, t) => (s * 7 + t * 3) % 20);
    const alone = ids(0).map((id) => Array.from(eddy.session(m).step(id).toFloat32Array()));
    // Reference: one session, step by step.
    const ref = eddy.session(m);
    const expected = ids(0).map((id) => Array.from(ref.step(id).toFloat32Array()));
    assert.deepStrictEqual(alone[0], expected[0]);
    const threads = eddy.getNumThreads();
    try {
      for (const [n, t] of [[1, 1], [3, 2], [37, 1], [64, 2]] as const) {
        eddy.setNumThreads(t);
        const batcher = new eddy.serving.StreamBatcher(m, { maxBatch: 64 });
        const streams = Array.from({ length: n }, () => batcher.open());
        const position = n - 1; // the stream under test sits last
        const got: number[][] = [];
        for (let step = 0; step < 6; step++) {
          const outs = await Promise.all(streams.map((s, i) => s.step(i === position ? ids(0)[step] : ids(i + 1)[step])));
          got.push(Array.from(outs[position].toFloat32Array()));
        }
        assert.deepStrictEqual(got, expected, `${n} streams, ${t} threads`);
      }
    } finally {
      eddy.setNumThreads(threads);
    }
  });

  it('keeps each stream in order when it queues several steps at once', async () => {
    const m = model();
    const batcher = new eddy.serving.StreamBatcher(m);
    const s = batcher.open();
    const x = seq(3, 9);
    const outs = await Promise.all([0, 1, 2].map((t) => s.step(x.select(0, t))));
    const alone = eddy.session(m);
    close(eddy.stack(outs, 0), alone.step(x), 'in-order steps');
    assert.throws(() => new eddy.serving.StreamBatcher(m, { maxBatch: 0 }), { name: 'ValidationError' });
  });
});

describe('Batcher', () => {
  it('coalesces requests of different lengths into one padded batch and returns each its own rows', async () => {
    const m = model();
    const batcher = new eddy.serving.Batcher(m, { maxBatch: 16, maxDelayMs: 5 });
    const xs = [3, 7, 1, 5].map((n, i) => seq(n, 30 + i));
    const outs = await Promise.all(xs.map((x) => batcher.predict(x)));
    xs.forEach((x, i) => {
      const alone = eddy.noGrad(() => m.forward(x.reshape([1, ...x.shape]))).select(0, 0);
      close(outs[i], alone, `request ${i}`);
    });
  });

  it('refuses at once when the queue is full, and an aborted request leaves the others alone', async () => {
    const m = model();
    const batcher = new eddy.serving.Batcher(m, { maxBatch: 4, maxDelayMs: 50, maxQueue: 3 });
    const controller = new AbortController();
    const a = batcher.predict(seq(2, 1));
    const b = batcher.predict(seq(3, 2), { signal: controller.signal });
    const c = batcher.predict(seq(4, 3));
    await assert.rejects(batcher.predict(seq(1, 4)), { name: 'OverloadedError', code: 'ERR_EDDY_OVERLOADED', message: 'The queue is full (3 requests waiting); try again later' });
    controller.abort();
    await assert.rejects(b, { name: 'AbortError' });
    const [ra, rc] = await Promise.all([a, c]);
    assert.deepStrictEqual(ra.shape, [2, 2]);
    assert.deepStrictEqual(rc.shape, [4, 2]);
    assert.strictEqual(batcher.queued, 0);
  });
});
