/**
 * The fused scaled dot-product attention kernel, forward and backward, at
 * T = 128, 512 and 2048 (batch 2, 8 heads of 64 features; plain and
 * causal), next to PyTorch's `scaled_dot_product_attention` on the same
 * shapes when a Python with torch is at hand (bench/attention_torch.py;
 * set PYTHONPATH for it). FLOPs: forward 4·B·H·T²·D (the two products;
 * half when causal), backward 2.5× that (recomputed scores, dV, dP, dQ, dK).
 */
import { spawnSync } from 'child_process';
import * as path from 'path';
import * as eddy from '../index';
import { binding, SdpaCall } from '../native';
import { measure } from './measure';

interface AttentionShape {
  B: number;
  H: number;
  T: number;
  D: number;
  causal: boolean;
}

export function attentionShapes(): AttentionShape[] {
  const out: AttentionShape[] = [];
  for (const T of [128, 512, 2048]) for (const causal of [false, true]) out.push({ B: 2, H: 8, T, D: 64, causal });
  return out;
}

function callFor(s: AttentionShape): SdpaCall {
  const { B, H, T, D } = s;
  const rand = (): Float32Array => new Float32Array(B * H * T * D).map(() => Math.random() - 0.5);
  const st = { Sb: H * T * D, Sh: T * D, St: D };
  return {
    q: rand(), k: rand(), v: rand(),
    qSb: st.Sb, qSh: st.Sh, qSt: st.St, kSb: st.Sb, kSh: st.Sh, kSt: st.St, vSb: st.Sb, vSh: st.Sh, vSt: st.St, outSb: st.Sb, outSh: st.Sh, outSt: st.St,
    lengths: null, mask: null, maskPerHead: false, B, H, Tq: T, Tk: T, D, Dv: D,
    scale: 1 / Math.sqrt(D), causal: s.causal, causalOffset: 0, dropout: 0, seed: 0,
  };
}

export function runAttentionBench(threadCounts: number[]): void {
  const shapes = attentionShapes();
  for (const threads of threadCounts) {
    eddy.setNumThreads(threads);
    for (const s of shapes) {
      const call = callFor(s);
      const n = s.B * s.H * s.T;
      const out = new Float32Array(n * s.D), lse = new Float32Array(n);
      const fwd = measure(() => binding.sdpaForward({ ...call, out, lse, weights: null }));
      const dout = new Float32Array(n * s.D).map(() => Math.random() - 0.5);
      const dq = new Float32Array(n * s.D), dk = new Float32Array(n * s.D), dv = new Float32Array(n * s.D);
      const bwd = measure(() => binding.sdpaBackward({ ...call, out, lse, weights: null, dout, dweights: null, dq, dk, dv }));
      const flops = 4 * s.B * s.H * s.T * s.T * s.D * (s.causal ? 0.5 : 1);
      for (const [pass, t, f] of [['forward', fwd, flops], ['backward', bwd, 2.5 * flops]] as const) {
        console.log(JSON.stringify({ bench: 'attention', impl: 'eddy', pass, ...s, threads, ms_per_iter: +t.msPerIter.toFixed(3), gflops: +(f / (t.msPerIter * 1e6)).toFixed(1) }));
      }
    }
    const script = path.resolve(__dirname, '..', '..', '..', 'bench', 'attention_torch.py');
    const torch = spawnSync(process.env.EDDY_BENCH_PYTHON ?? 'python3', [script, JSON.stringify(shapes), String(threads)], { stdio: ['ignore', 'inherit', 'pipe'], encoding: 'utf8' });
    if (torch.status !== 0) console.error(`PyTorch comparison skipped (${script}): ${(torch.stderr || String(torch.error ?? '')).trim().split('\n').pop()}`);
  }
}
