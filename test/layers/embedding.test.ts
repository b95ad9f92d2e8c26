/**
 * The native gather and scatter-add behind Embedding on a batch the size of
 * the character LSTM's, against a float64 reference and across thread counts.
 */
import * as assert from 'assert';
import * as eddy from '../../lib';
import { Tensor } from '../../lib';
import { assertClose, rng, withThreads } from '../helpers';

describe('Embedding: native gather and scatter-add', () => {
  it('looks up and accumulates 6400 indices exactly, the same on 1 and 2 threads', () => {
    const V = 75;
    const D = 64;
    // 6400 ids × 16 is above the size from which the native scatter-add splits across threads.
    const n = 6400;
    const r = rng(3);
    const ids = Int32Array.from({ length: n }, () => Math.floor(r() * V));
    const upstream = Float32Array.from({ length: n * D }, () => 2 * r() - 1);
    const run = (threads: number): [Float32Array, Float32Array] =>
      withThreads(threads, () => {
        eddy.manualSeed(5);
        const emb = new eddy.Embedding({ numEmbeddings: V, embeddingDim: D, paddingIdx: 3 });
        const out = emb.forward(eddy.tensor(Float32Array.from(ids), [64, 100]));
        assert.deepStrictEqual(out.shape, [64, 100, D]);
        eddy.backward([out], [eddy.tensor(upstream, [64, 100, D])]);
        const W = emb.weight.data.data;
        for (let i = 0; i < n; i += 97) assert.deepStrictEqual(out.data.subarray(i * D, (i + 1) * D), W.subarray(ids[i] * D, (ids[i] + 1) * D));
        return [out.toFloat32Array(), (emb.weight.grad as Tensor).toFloat32Array()];
      });
    const [outOne, gOne] = run(1);
    const [outTwo, gTwo] = run(2);
    assert.deepStrictEqual(outTwo, outOne);
    assert.deepStrictEqual(gTwo, gOne);
    // Float64 scatter-add; about 85 float32 additions per element, each within 6e-8 of its sum.
    const expected = new Float64Array(V * D);
    for (let i = 0; i < n; i++) if (ids[i] !== 3) for (let c = 0; c < D; c++) expected[ids[i] * D + c] += upstream[i * D + c];
    const worst = assertClose(gOne, expected, 1e-5, 'weight gradient');
    assert.ok(gOne.subarray(3 * D, 4 * D).every((v) => v === 0), 'the padding row gets no gradient');
    console.log(`      max scaled difference ${worst.toExponential(1)} (tolerance 1e-5)`);
  });
});
