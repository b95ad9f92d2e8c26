/**
 * Run under mpirun by collectives.test.ts: checks every all-reduce op on
 * float32, float64 and int32 arrays of 0, 1, 1001 and 10 M elements,
 * rounded float sums on both sides of the ring all-reduce's cuts (the same
 * bits on every rank), broadcast from every root, and barrier. Prints `rank r: N checks passed`
 * (with the largest relative error of the mean) or exits non-zero naming
 * the first wrong element.
 */
import * as eddy from '../../../lib';

type Arr = Float32Array | Float64Array | Int32Array;

/** Element i of rank r: small integers, so sums, products, maxima and minima are exact in every dtype. */
function value(op: string, r: number, i: number): number {
  return op === 'prod' ? 1 + ((i + r) % 3) : ((i * 7 + r * 3) % 11) - 5;
}

function expected(op: string, n: number, i: number): number {
  let acc = value(op, 0, i);
  for (let r = 1; r < n; r++) {
    const v = value(op, r, i);
    acc = op === 'max' ? Math.max(acc, v) : op === 'min' ? Math.min(acc, v) : op === 'prod' ? acc * v : acc + v;
  }
  return op === 'mean' ? acc / n : acc;
}

async function main(): Promise<void> {
  const { rank, worldSize } = await eddy.distributed.init({ timeout: 60 });
  let checks = 0;
  let worstMean = 0;
  const fail = (what: string): never => {
    console.error(`rank ${rank}: ${what}`);
    process.exit(1);
  };
  const makers: [string, (n: number) => Arr][] = [['float32', (n) => new Float32Array(n)], ['float64', (n) => new Float64Array(n)], ['int32', (n) => new Int32Array(n)]];
  for (const size of [0, 1, 1001, 10_000_000]) {
    for (const [dtype, make] of makers) {
      if (size > 1001 && dtype !== 'float32') continue;
      for (const op of ['sum', 'mean', 'max', 'min', 'prod'] as const) {
        if (op === 'mean' && dtype === 'int32') continue;
        const a = make(size);
        for (let i = 0; i < size; i++) a[i] = value(op, rank, i);
        const back = await eddy.distributed.allReduce(a, op);
        if (back !== a) fail('allReduce did not resolve with its argument');
        for (let i = 0; i < size; i++) {
          const want = expected(op, worldSize, i);
          if (op === 'mean') {
            // The mean is the exact integer sum times 1/worldSize, rounded once in the array's
            // precision: within one unit in the last place, 2^-23 relative for float32.
            const rel = Math.abs(a[i] - want) / Math.max(1e-30, Math.abs(want));
            worstMean = Math.max(worstMean, want === 0 ? Math.abs(a[i]) : rel);
            if (want === 0 ? a[i] !== 0 : rel > 2 ** -23) fail(`${op} ${dtype}[${size}] element ${i}: ${a[i]}, expected ${want}`);
          } else if (a[i] !== want) {
            fail(`${op} ${dtype}[${size}] element ${i}: ${a[i]}, expected ${want}`);
          }
        }
        checks++;
      }
    }
  }
  // From 64 KiB, an all-reduce runs as a ring of point-to-point messages (one block per rank, sent
  // in 1 MiB segments) whose sums round: on both sides of those cuts, and in both float types,
  // every rank must hold the same bits, within rounding of the exact sum.
  const rings: [number, (k: number) => Float32Array | Float64Array][] = [16383, 16384, 16385, 3 * 262144 + 7].map((n) => [n, (k) => new Float32Array(k)]);
  rings.push([8191, (k) => new Float64Array(k)], [3 * 131072 + 7, (k) => new Float64Array(k)]);
  for (const [n, make] of rings) {
    // Values in (-1, 1) with full mantissas, different on every rank.
    const of = (r: number): Float32Array | Float64Array => {
      const v = make(n);
      for (let i = 0; i < n; i++) v[i] = Math.sin(i * 12.9898 + r * 78.233);
      return v;
    };
    const a = of(rank);
    const exact = new Float64Array(n);
    const magnitude = new Float64Array(n);
    for (let r = 0; r < worldSize; r++) {
      const v = r === rank ? a : of(r);
      for (let i = 0; i < n; i++) {
        exact[i] += v[i];
        magnitude[i] += Math.abs(v[i]);
      }
    }
    await eddy.distributed.allReduce(a, 'sum');
    // worldSize - 1 roundings, each within half a unit in the last place of a partial sum:
    // (worldSize - 1) · u · Σ|v| bounds the error (u = 2^-24 in float32, 2^-53 in float64).
    const u = a instanceof Float32Array ? 2 ** -24 : 2 ** -53;
    for (let i = 0; i < n; i++) {
      if (Math.abs(a[i] - exact[i]) > (worldSize - 1) * u * magnitude[i]) fail(`ring sum of ${n} (${a.constructor.name}) element ${i}: ${a[i]}, exact ${exact[i]}`);
    }
    const high = await eddy.distributed.allReduce(a.slice(), 'max');
    const low = await eddy.distributed.allReduce(a.slice(), 'min');
    for (let i = 0; i < n; i++) if (high[i] !== a[i] || low[i] !== a[i]) fail(`ring sum of ${n} (${a.constructor.name}) element ${i} differs between ranks: ${low[i]} to ${high[i]}`);
    checks++;
  }
  // A tensor reduces in place too.
  const t = eddy.tensor(Float32Array.of(rank, 1), [2]);
  await eddy.distributed.allReduce(t, 'sum');
  if (t.data[0] !== (worldSize * (worldSize - 1)) / 2 || t.data[1] !== worldSize) fail(`tensor sum ${Array.from(t.data)}`);
  checks++;
  for (let root = 0; root < worldSize; root++) {
    const b = new Uint8Array(5).fill(rank === root ? 100 + root : 0);
    await eddy.distributed.broadcast(b, root);
    if (!b.every((v) => v === 100 + root)) fail(`broadcast from ${root}: ${Array.from(b)}`);
    checks++;
  }
  await eddy.distributed.barrier();
  checks++;
  console.log(`rank ${rank}: ${checks} checks passed (worst mean error ${worstMean.toExponential(2)}, tolerance 2^-23)`);
  await eddy.distributed.finalize();
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
