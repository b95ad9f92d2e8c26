#!/usr/bin/env python3
"""PyTorch's scaled_dot_product_attention on the shapes of Eddy's attention bench.

    PYTHONPATH=/work/pydeps python3 bench/attention_torch.py '[{"B":2,"H":8,"T":128,"D":64,"causal":false}]' 2

Prints one JSON line per shape and pass (forward under no_grad, backward
of a recorded forward), with GFLOP/s counted as Eddy's bench counts them:
forward 4·B·H·Tq·Tk·D (halved when causal), backward 2.5× that.
"""
import json
import statistics
import sys
import time

import torch
import torch.nn.functional as F


def measure(fn, sample_s=0.25, samples=5):
    fn()
    t0 = time.perf_counter()
    fn()
    once = max(time.perf_counter() - t0, 1e-6)
    per = max(1, int(sample_s / once + 0.999))
    times = []
    for _ in range(samples):
        t0 = time.perf_counter()
        for _ in range(per):
            fn()
        times.append((time.perf_counter() - t0) / per)
    return statistics.median(times)


def main():
    shapes = json.loads(sys.argv[1])
    threads = int(sys.argv[2])
    torch.set_num_threads(threads)
    for s in shapes:
        B, H, T, D, causal = s['B'], s['H'], s['T'], s['D'], s['causal']
        g = torch.Generator().manual_seed(0)
        q, k, v = (torch.rand(B, H, T, D, generator=g) - 0.5 for _ in range(3))
        flops = 4 * B * H * T * T * D * (0.5 if causal else 1)
        with torch.no_grad():
            fwd = measure(lambda: F.scaled_dot_product_attention(q, k, v, is_causal=causal))
        qg, kg, vg = (t.clone().requires_grad_() for t in (q, k, v))
        out = F.scaled_dot_product_attention(qg, kg, vg, is_causal=causal)
        dout = torch.rand_like(out)
        bwd = measure(lambda: torch.autograd.grad(out, (qg, kg, vg), dout, retain_graph=True))
        for pass_, sec, f in (('forward', fwd, flops), ('backward', bwd, 2.5 * flops)):
            print(json.dumps({'bench': 'attention', 'impl': f'torch {torch.__version__}', 'pass': pass_, **s, 'threads': threads,
                              'ms_per_iter': round(sec * 1e3, 3), 'gflops': round(f / sec * 1e-9, 1)}), flush=True)


if __name__ == '__main__':
    main()
