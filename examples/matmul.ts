/**
 * A first look at Eddy's tensors: views, products, and async work that
 * leaves the event loop free. Run with `npm run build:ts && node dist/examples/matmul.js`.
 */
import * as eddy from '../lib';

async function main(): Promise<void> {
  // A 3 × 4 matrix over a Float32Array we own: no copy is made.
  const storage = Float32Array.from({ length: 12 }, (_, i) => i);
  const m = eddy.tensor(storage, [3, 4]);

  // m.T is a view; BLAS reads it in place with a transpose flag.
  const gram = eddy.matmul(m, m.T);
  console.log('m · mᵀ =', gram.toArray());

  // Columns 1..2 of m, also a view.
  const cols = m.slice(1, 1, 3);
  console.log('m[:, 1:3] =', cols.toArray());

  // A large product on a worker thread while a timer keeps ticking.
  const n = 1024;
  const a = eddy.tensor(Float32Array.from({ length: n * n }, () => Math.random()), [n, n]);
  let ticks = 0;
  const timer = setInterval(() => ticks++, 1);
  const t0 = performance.now();
  await eddy.matmulAsync(a, a);
  clearInterval(timer);
  console.log(`${n}×${n} product in ${(performance.now() - t0).toFixed(1)} ms; the event loop ran ${ticks} timer callbacks meanwhile`);
}

void main();
