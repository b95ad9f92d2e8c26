/**
 * Accuracy of the native activation kernels against float64: the portable
 * and AVX2+FMA array versions, and the AVX-512 fused steps' own sigmoid and
 * tanh (where the CPU has those sets).
 */
import * as assert from 'assert';
import { binding } from '../../lib/native';

const KINDS = [
  { name: 'sigmoid', id: 0, f: (v: number) => 1 / (1 + Math.exp(-v)), abs: 2e-7, rel: 1e-6 },
  { name: 'tanh', id: 1, f: Math.tanh, abs: 2e-7, rel: 1e-6 },
  { name: 'exp', id: 2, f: Math.exp, abs: 0, rel: 5e-7 },
];

const FLT_MAX = 3.4028234663852886e38;
const FLT_MIN = 1.1754943508222875e-38;

function inputs(): Float32Array {
  const values: number[] = [0, -0, 1e-30, -1e-30, 1e-7, -1e-7, 0.625, -0.625, 0.6249999, 88, -87, 100, -100, 1e4, -1e4, Infinity, -Infinity];
  for (let v = -20; v <= 20; v += 0.001) values.push(v);
  return Float32Array.from(values);
}

describe('native activations', () => {
  const x = inputs();
  for (const kernels of [0, 1, 2]) {
    const label = ['portable', 'AVX2+FMA', 'AVX-512 fused-step'][kernels];
    const set = ['portable', 'AVX2+FMA', 'AVX-512'][kernels];
    // The AVX-512 set is the fused steps' gate activations: no exp.
    const kinds = kernels === 2 ? KINDS.filter((k) => k.name !== 'exp') : KINDS;
    for (const k of kinds) {
      it(`${k.name} (${label}) within ${k.abs} absolute or ${k.rel} relative of float64 on ${x.length} points`, function () {
        const y = new Float32Array(x.length);
        if (!binding.activate(k.id, x, y, kernels)) {
          console.log(`      skipped: this CPU has no ${set}`);
          this.skip();
        }
        let worstAbs = 0;
        let worstRel = 0;
        for (let i = 0; i < x.length; i++) {
          const want = k.f(x[i]);
          // Past float32's range only the direction matters: saturate high, flush low.
          if (want > FLT_MAX) {
            assert.ok(y[i] > 1e38, `${k.name}(${x[i]}) = ${y[i]}, expected overflow`);
            continue;
          }
          if (k.name === 'exp' && want < FLT_MIN) {
            assert.ok(y[i] >= 0 && y[i] <= 1.2e-38, `${k.name}(${x[i]}) = ${y[i]}, expected underflow`);
            continue;
          }
          const err = Math.abs(y[i] - want);
          const rel = err / Math.max(Math.abs(want), 1e-38);
          if (err > k.abs && rel > k.rel) assert.fail(`${k.name}(${x[i]}) = ${y[i]}, expected ${want} (error ${err}, relative ${rel})`);
          worstAbs = Math.max(worstAbs, err);
          worstRel = Math.max(worstRel, Math.abs(want) > 1e-3 ? rel : 0);
        }
        console.log(`      max absolute error ${worstAbs.toExponential(2)}, max relative error ${worstRel.toExponential(2)}`);
      });
    }
    it(`propagates NaN (${label})`, function () {
      const y = new Float32Array(17);
      for (const k of kinds) {
        if (!binding.activate(k.id, new Float32Array(17).fill(NaN), y, kernels)) this.skip();
        assert.ok(y.every(Number.isNaN), `${k.name}(NaN) = ${Array.from(y)}`);
      }
    });
  }
});
