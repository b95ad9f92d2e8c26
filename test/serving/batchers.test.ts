import * as assert from 'assert';
import * as eddy from '../../lib';
import { Tensor } from '../../lib';
import { binding } from '../../lib/native';
import { LinearRows } from '../../lib/serving/linear-rows';

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
    // An exact gather, the recurrent layers' packed kernels and the Linear head on the same packed GEMM: each row gets the same arithmetic whatever the batch.
    const m = eddy.sequential([
      new eddy.Embedding({ numEmbeddings: 20, embeddingDim: 8 }),
      new eddy.LSTM({ inputSize: 8, hiddenSize: 16 }),
      new eddy.GRU({ inputSize: 16, hiddenSize: 48 }),
      new eddy.Linear({ inFeatures: 48, outFeatures: 40 }),
    ]).eval();
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

  it('stepMany steps a set of streams at once, bit-identical with their queued steps, in chunks of maxBatch', async () => {
    const m = model();
    const F = 3;
    const n = 11;
    const queued = new eddy.serving.StreamBatcher(m, { maxBatch: 16 });
    const bulk = new eddy.serving.StreamBatcher(m, { maxBatch: 4 }); // 11 streams: chunks of 4, 4 and 3
    const a = Array.from({ length: n }, () => queued.open());
    const b = Array.from({ length: n }, () => bulk.open());
    for (let t = 0; t < 3; t++) {
      const x = new eddy.Generator(40 + t).uniform(new Float32Array(n * F), -1, 1);
      const expected = await Promise.all(a.map((s, i) => s.step(x.subarray(i * F, (i + 1) * F))));
      const got = bulk.stepMany(b, x);
      assert.deepStrictEqual(got.shape, [n, 2]);
      assert.deepStrictEqual(Array.from(got.toFloat32Array()), expected.flatMap((e) => Array.from(e.toFloat32Array())), `step ${t}`);
    }
    assert.deepStrictEqual(b[5].state(), a[5].state());
    // A stream resumed from a state carries on exactly.
    const resumed = bulk.open(a[5].state());
    const x = Float32Array.from([0.5, -0.25, 1]);
    assert.deepStrictEqual(Array.from(bulk.stepMany([resumed], x).toFloat32Array()), Array.from((await a[5].step(x)).toFloat32Array()));

    const other = new eddy.serving.StreamBatcher(m).open();
    const three = new Float32Array(3);
    assert.throws(() => bulk.stepMany([b[0], b[0]], new Float32Array(6)), { name: 'ValidationError', message: 'Expected distinct streams but streams[1] appears twice' });
    assert.throws(() => bulk.stepMany([b[0], other], new Float32Array(6)), { name: 'ValidationError', message: /^Expected a stream opened by this batcher for streams\[1\]/ });
    assert.throws(() => bulk.stepMany([], three), { name: 'ValidationError', message: /^Expected a non-empty array of streams/ });
    assert.throws(() => bulk.stepMany([b[0]], new Float32Array(4)), { name: 'ShapeError', message: 'Expected 1 × 3 features (one step per stream) for inputs but received Float32Array of length 4' });
    const pending = b[1].step(three);
    assert.throws(() => bulk.stepMany([b[1]], three), { name: 'ValidationError', message: 'Expected streams[0] to have no queued steps but it has 1' });
    await pending;
    b[2].close();
    assert.throws(() => bulk.stepMany([b[2]], three), { name: 'ValidationError', message: 'Expected an open stream for streams[0] but it was closed' });
  });

  it('stepMany writes into opts.out when given (no allocation per round), in chunks too, and checks it', () => {
    const m = model();
    const n = 11;
    const x = new eddy.Generator(7).uniform(new Float32Array(n * 3), -1, 1);
    const plain = new eddy.serving.StreamBatcher(m, { maxBatch: 4 });
    const into = new eddy.serving.StreamBatcher(m, { maxBatch: 4 });
    const a = Array.from({ length: n }, () => plain.open());
    const b = Array.from({ length: n }, () => into.open());
    const out = new Float32Array(n * 2 + 5).fill(7);
    for (let t = 0; t < 2; t++) {
      const expected = plain.stepMany(a, x);
      const got = into.stepMany(b, x, { out });
      assert.strictEqual(got.data.buffer, out.buffer, 'the result is a view of out');
      assert.deepStrictEqual(got.shape, [n, 2]);
      assert.deepStrictEqual(Array.from(got.toFloat32Array()), Array.from(expected.toFloat32Array()), `step ${t}`);
      assert.deepStrictEqual(Array.from(out.subarray(n * 2)), [7, 7, 7, 7, 7], 'values past the outputs are left alone');
    }
    assert.throws(() => into.stepMany(b, x, { out: new Float32Array(21) }), { name: 'ShapeError', message: 'Expected opts.out of at least 22 values (outputs [11, 2]) but received 21' });
    assert.throws(() => into.stepMany(b, x, { out: [] as never }), { name: 'ValidationError', message: 'Expected a Float32Array for opts.out but received an array of length 0' });
    assert.throws(() => into.stepMany(b, x, { output: out } as never), { name: 'UnknownOptionError', message: /^Expected a known option for opts\.output/ });
  });

  it('stepMany of 256 streams through an LSTM and its Linear head (one native call, rows shared among threads) matches each stream alone, bit for bit', () => {
    eddy.manualSeed(9);
    const m = eddy.sequential([new eddy.LSTM({ inputSize: 32, hiddenSize: 64 }), new eddy.Linear({ inFeatures: 64, outFeatures: 32 })]).eval();
    const n = 256;
    const xs = [1, 2, 3].map((seed) => new eddy.Generator(seed).uniform(new Float32Array(n * 32), -1, 1));
    const watched = [0, 31, 32, 200, 255];
    const alone = watched.map((i) => {
      const s = eddy.session(m);
      return xs.map((x) => Array.from(s.step(x.subarray(i * 32, (i + 1) * 32)).toFloat32Array()));
    });
    const threads = eddy.getNumThreads();
    try {
      // Streams in the order they were opened occupy consecutive slab rows, stepped where they are;
      // in another order the rows are gathered and written back.
      const shuffled = Array.from({ length: n }, (_, i) => (i * 97) % n);
      for (const t of [1, 2]) {
        for (const order of ['opened', 'shuffled'] as const) {
          eddy.setNumThreads(t);
          const batcher = new eddy.serving.StreamBatcher(m, { maxBatch: n });
          const opened = Array.from({ length: n }, () => batcher.open());
          const streams = order === 'opened' ? opened : shuffled.map((i) => opened[i]);
          // Stream i's input row is row i of x whichever position it is stepped at.
          const inputs = xs.map((x) => (order === 'opened' ? x : Float32Array.from(shuffled.flatMap((i) => Array.from(x.subarray(i * 32, (i + 1) * 32))))));
          const outs = inputs.map((x) => batcher.stepMany(streams, x).toFloat32Array());
          watched.forEach((i, k) => {
            const at = streams.indexOf(opened[i]);
            assert.deepStrictEqual(outs.map((o) => Array.from(o.subarray(at * 32, (at + 1) * 32))), alone[k], `stream ${i}, ${order}, ${t} threads`);
          });
        }
      }
    } finally {
      eddy.setNumThreads(threads);
    }
    // The native call checks the head it is handed: a typed error, never a crash.
    const stepper = (m.layers[0] as eddy.LSTM).stepper();
    const wrong = new LinearRows(new eddy.Linear({ inFeatures: 32, outFeatures: 4 }));
    const slab = new Float32Array(64);
    const call = (head: unknown, out: Float32Array): void => binding.rnnStepSlots(stepper.handle, new Float32Array(32), Int32Array.of(0), slab, slab.slice(), new Float32Array(64), head as never, out);
    assert.throws(() => call(wrong.handle, new Float32Array(4)), { name: 'NativeArgumentError', message: /head taking H features/ });
    assert.throws(() => call(stepper.handle, new Float32Array(4)), { name: 'NativeArgumentError', message: /head made by linearRows/ });
    assert.throws(() => call(new LinearRows(m.layers[1] as eddy.Linear).handle, new Float32Array(5)), { name: 'NativeArgumentError', message: /out of B·head\.out/ });
  });

  it('stepMany takes token ids, and runs models without a native plan through their forward', async () => {
    eddy.manualSeed(12);
    const tokens = eddy.sequential([new eddy.Embedding({ numEmbeddings: 5, embeddingDim: 3 }), new eddy.GRU({ inputSize: 3, hiddenSize: 4 })]).eval();
    const t = new eddy.serving.StreamBatcher(tokens);
    const one = eddy.session(tokens);
    assert.deepStrictEqual(Array.from(t.stepMany([t.open(), t.open()], [1, 4]).select(0, 0).toFloat32Array()), Array.from(one.step(1).toFloat32Array()));
    assert.throws(() => t.stepMany([t.open()], [9]), { name: 'ValidationError', message: 'Expected token ids between 0 and 4 for inputs but received 9 of type number at 0' });
    // Two stacked layers in one module: no single-step plan, so the batch runs model.forward with the streams' states.
    const deep = eddy.sequential([new eddy.LSTM({ inputSize: 3, hiddenSize: 4, numLayers: 2 }), new eddy.Linear({ inFeatures: 4, outFeatures: 2 })]).eval();
    const queued = new eddy.serving.StreamBatcher(deep);
    const bulk = new eddy.serving.StreamBatcher(deep);
    const a = [queued.open(), queued.open()];
    const b = [bulk.open(), bulk.open()];
    for (let step = 0; step < 2; step++) {
      const x = new eddy.Generator(60 + step).uniform(new Float32Array(6), -1, 1);
      const expected = await Promise.all(a.map((s, i) => s.step(x.subarray(i * 3, (i + 1) * 3))));
      close(bulk.stepMany(b, x), eddy.stack(expected, 0), `step ${step}`);
    }
  });

  it('closed streams keep their state and give their slots to new streams, which start from zeros', async () => {
    const m = model();
    const batcher = new eddy.serving.StreamBatcher(m, { maxBatch: 64 });
    const x = Float32Array.from([0.3, -0.7, 0.2]);
    const fresh = Array.from(eddy.session(m).step(x).toFloat32Array());
    const first = Array.from({ length: 40 }, () => batcher.open()); // more than the first slab holds
    await Promise.all(first.map((s) => s.step(x)));
    const kept = first.slice(0, 20).map((s) => s.state());
    const last = first[19].step(x); // queued: the slot stays until it has run
    first.slice(0, 20).forEach((s) => s.close());
    const after = await last;
    assert.deepStrictEqual(first.slice(0, 19).map((s) => s.state()), kept.slice(0, 19));
    const again = eddy.session(m, kept[19]).step(x);
    assert.deepStrictEqual(Array.from(after.toFloat32Array()), Array.from(again.toFloat32Array()));
    const second = Array.from({ length: 20 }, () => batcher.open());
    const outs = await Promise.all(second.map((s) => s.step(x)));
    outs.forEach((o, i) => assert.deepStrictEqual(Array.from(o.toFloat32Array()), fresh, `new stream ${i}`));
    assert.deepStrictEqual(first.slice(0, 19).map((s) => s.state()), kept.slice(0, 19), 'closed streams untouched by the new ones');
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
  it('is batch-invariant with a Linear head: a request gets bit-identical outputs alone or in any batch, position and thread count', async () => {
    eddy.manualSeed(8);
    // Wide enough that BLAS sgemm would block a 1-row and a 37-row Linear differently.
    const m = eddy.sequential([new eddy.LSTM({ inputSize: 5, hiddenSize: 48 }), new eddy.Linear({ inFeatures: 48, outFeatures: 40 })]).eval();
    const request = (i: number): Tensor => eddy.tensor(new eddy.Generator(100 + i).uniform(new Float32Array((2 + (i % 5)) * 5), -1, 1), [2 + (i % 5), 5]);
    const alone = await new eddy.serving.Batcher(m, { maxBatch: 1 }).predict(request(0));
    const reference = Array.from(alone.toFloat32Array());
    // Close to the model's own forward (BLAS for the Linear): same sums in another order.
    close(alone, eddy.noGrad(() => m.forward(request(0).reshape([1, ...request(0).shape]))).select(0, 0), 'against forward');
    const threads = eddy.getNumThreads();
    try {
      for (const [n, position, t] of [[3, 1, 1], [37, 36, 2], [64, 0, 2], [9, 4, 1]] as const) {
        eddy.setNumThreads(t);
        const batcher = new eddy.serving.Batcher(m, { maxBatch: 64, maxDelayMs: 20 });
        const outs = await Promise.all(Array.from({ length: n }, (_, i) => batcher.predict(request(i === position ? 0 : i + 1))));
        assert.deepStrictEqual(Array.from(outs[position].toFloat32Array()), reference, `${n} requests, position ${position}, ${t} threads`);
      }
    } finally {
      eddy.setNumThreads(threads);
    }
  });

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
