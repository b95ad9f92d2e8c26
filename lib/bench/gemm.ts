/**
 * sgemm throughput for the GEMM shapes the recurrent layers of C1–C5 run:
 * the hoisted input projection (T·B × in × G·H) and the per-step recurrent
 * product (B × H × G·H), both against a transposed weight as the layers
 * store it. This is the roofline the recurrent kernels are measured against.
 */
import * as eddy from '../index';
import { binding } from '../native';
import { gateCount, BENCH_CONFIGS } from './configs';
import { measure } from './measure';

export interface GemmShape {
  config: string;
  gemm: 'input' | 'recurrent';
  m: number;
  n: number;
  k: number;
}

export function gemmShapes(): GemmShape[] {
  const shapes: GemmShape[] = [];
  for (const c of BENCH_CONFIGS) {
    const gh = gateCount(c.cell) * c.hidden;
    shapes.push({ config: c.id, gemm: 'input', m: c.seq * c.batch, n: gh, k: c.input });
    shapes.push({ config: c.id, gemm: 'recurrent', m: c.batch, n: gh, k: c.hidden });
  }
  return shapes;
}

/** Measures one shape; C = A · Bᵀ with A (m, k) and B (n, k), as a layer does. */
export function gemmRate(s: GemmShape, sampleMs?: number, samples?: number): { msPerIter: number; gflops: number } {
  const a = new Float32Array(s.m * s.k).map(() => Math.random() - 0.5);
  const b = new Float32Array(s.n * s.k).map(() => Math.random() - 0.5);
  const c = new Float32Array(s.m * s.n);
  const t = measure(() => binding.gemm(false, true, s.m, s.n, s.k, 1, a, 0, s.k, b, 0, s.k, 0, c, 0, s.n), sampleMs, samples);
  return { msPerIter: t.msPerIter, gflops: (2 * s.m * s.n * s.k) / (t.msPerIter * 1e6) };
}

export function runGemmBench(threadCounts: number[], only: string[] = []): void {
  for (const threads of threadCounts) {
    eddy.setNumThreads(threads);
    for (const s of gemmShapes().filter((g) => only.length === 0 || only.includes(g.config))) {
      const r = gemmRate(s);
      console.log(JSON.stringify({
        bench: 'gemm', config: s.config, gemm: s.gemm, m: s.m, n: s.n, k: s.k, threads,
        ms_per_iter: +r.msPerIter.toFixed(4), gflops: +r.gflops.toFixed(1),
      }));
    }
  }
}
