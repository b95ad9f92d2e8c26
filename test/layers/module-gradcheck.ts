/**
 * Finite differences on tensors a computation reads (module parameters,
 * inputs), the way test/gradcheck.ts does for plain functions: a fixed
 * random weighting of the output, central differences in float32 storage,
 * the loss summed in float64. The tensors must be contiguous leaves that
 * require grad. Returns the largest |autograd − numeric| / max(1, |numeric|).
 */
import * as assert from 'assert';
import * as eddy from '../../lib';
import { Tensor } from '../../lib';
import { rng } from '../helpers';

export function moduleGradcheck(run: () => Tensor, tensors: Tensor[], tol = 2e-3, eps = 1e-2): number {
  const out = run();
  const random = rng(11);
  const w = Float64Array.from({ length: out.size }, () => Math.fround(random() * 2 - 1));
  for (const t of tensors) t.grad = null;
  eddy.backward([out], [eddy.tensor(Float32Array.from(w), out.shape)]);
  const loss = (): number => {
    const v = eddy.noGrad(run).toFloat32Array();
    let s = 0;
    for (let i = 0; i < v.length; i++) s += v[i] * w[i];
    return s;
  };
  let worst = 0;
  tensors.forEach((t, j) => {
    const analytic = t.grad ? t.grad.toFloat32Array() : new Float32Array(t.size);
    for (let i = 0; i < t.size; i++) {
      const keep = t.data[t.offset + i];
      t.data[t.offset + i] = keep + eps;
      const up = loss();
      t.data[t.offset + i] = keep - eps;
      const down = loss();
      t.data[t.offset + i] = keep;
      const numeric = (up - down) / (2 * eps);
      const d = Math.abs(numeric - analytic[i]) / Math.max(1, Math.abs(numeric));
      assert.ok(d <= tol, `tensor ${j} element ${i}: analytic ${analytic[i]}, numeric ${numeric}`);
      worst = Math.max(worst, d);
    }
  });
  return worst;
}

/** Asserts that fn throws an error of the given class with exactly this message. */
export function throwsExactly(fn: () => unknown, type: new (message: string) => Error, message: string): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof type, `expected ${type.name}, got ${(err as Error).constructor.name}: ${(err as Error).message}`);
    assert.strictEqual((err as Error).message, message);
    return true;
  });
}

/** A tensor of uniform values in [-scale, scale) from a seeded generator. */
export function randomTensor(shape: number[], seed: number, requiresGrad = false, scale = 1): Tensor {
  const r = rng(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  return eddy.tensor(Float32Array.from({ length: n }, () => (r() * 2 - 1) * scale), shape, { requiresGrad });
}
