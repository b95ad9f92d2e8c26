#!/usr/bin/env python3
"""PyTorch reference results for Eddy's losses and learning-rate schedules.

Writes test/fixtures/losses/{regression,bce_with_logits,cross_entropy,ctc,schedules}.json
(and nothing else). Run from anywhere, with PyTorch importable:

    PYTHONPATH=/path/to/torch python3 scripts/make-loss-fixtures.py

Inputs are rounded to float32 first (Eddy computes in float32), then every
loss, gradient and learning rate is computed by PyTorch in float64. Schema:
test/fixtures/losses/README.md.
"""
import json
import math
import os
import sys

import torch
import torch.nn.functional as F
from torch.optim import lr_scheduler as S

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, 'test', 'fixtures', 'losses')

torch.manual_seed(1234)


def f32(t):
    """t rounded to float32, held in float64."""
    return t.float().double()


def rand(*shape, scale=1.0):
    return f32((torch.rand(*shape, dtype=torch.float64) * 2 - 1) * scale)


def tensor_json(t):
    return {'shape': list(t.shape), 'data': [float(v) for v in t.reshape(-1).tolist()]}


def optional_json(t):
    return None if t is None else tensor_json(t)


def ints_json(t):
    return {'shape': list(t.shape), 'data': [int(v) for v in t.reshape(-1).tolist()]}


def backward(loss, inputs, reduction):
    """Gradients of loss (after weighting a 'none' loss by a random grad_output) for each input."""
    grad_output = rand(*loss.shape) if reduction == 'none' else None
    loss.backward(grad_output if grad_output is not None else torch.ones_like(loss))
    return grad_output, [None if x.grad is None else x.grad.detach().clone() for x in inputs]


def write(name, cases):
    path = os.path.realpath(os.path.join(OUT, name))
    if os.path.dirname(path) != os.path.realpath(OUT):
        sys.exit(f'refusing to write outside {OUT}: {path}')
    doc = {'schema_version': 1, 'generator': 'scripts/make-loss-fixtures.py', 'torch': torch.__version__, 'cases': cases}
    with open(path, 'w') as f:
        json.dump(doc, f, separators=(',', ':'), allow_nan=False)
        f.write('\n')
    print(f'{os.path.relpath(path, ROOT)}: {len(cases)} cases, {os.path.getsize(path)} bytes')


def regression_cases():
    cases = []
    specs = [
        ('mse', lambda x, y, r, o: F.mse_loss(x, y, reduction=r), {}, (3, 4), 1.0),
        ('mse', lambda x, y, r, o: F.mse_loss(x, y, reduction=r), {}, (2, 3, 2), 2.0),
        ('mae', lambda x, y, r, o: F.l1_loss(x, y, reduction=r), {}, (3, 4), 1.0),
        ('huber', lambda x, y, r, o: F.huber_loss(x, y, reduction=r, delta=o['delta']), {'delta': 1.0}, (3, 4), 2.0),
        ('huber', lambda x, y, r, o: F.huber_loss(x, y, reduction=r, delta=o['delta']), {'delta': 0.25}, (2, 5), 1.0),
    ]
    for loss, fn, opts, shape, scale in specs:
        for reduction in ('mean', 'sum', 'none'):
            x = rand(*shape, scale=scale).requires_grad_()
            y = rand(*shape, scale=scale).requires_grad_()
            out = fn(x, y, reduction, opts)
            grad_output, (gx, gy) = backward(out, [x, y], reduction)
            cases.append({
                'name': f'{loss} {list(shape)} {reduction} {opts}', 'loss': loss,
                'input': tensor_json(x.detach()), 'target': tensor_json(y.detach()),
                'options': {**opts, 'reduction': reduction},
                'grad_output': optional_json(grad_output),
                'value': tensor_json(out.detach()), 'grad_input': tensor_json(gx), 'grad_target': tensor_json(gy),
            })
    return cases


def bce_cases():
    cases = []
    for pos_weight in (None, f32(torch.tensor([0.5, 2.0, 3.0], dtype=torch.float64))):
        for reduction in ('mean', 'sum', 'none'):
            x = rand(4, 3, scale=4.0)
            x[0, 0], x[1, 1], x[2, 2] = 30.0, -30.0, 0.0  # saturated both ways, and the middle
            x.requires_grad_()
            y = f32(torch.rand(4, 3, dtype=torch.float64))
            y[0, 1], y[3, 2] = 0.0, 1.0
            y.requires_grad_()
            out = F.binary_cross_entropy_with_logits(x, y, pos_weight=pos_weight, reduction=reduction)
            grad_output, (gx, gy) = backward(out, [x, y], reduction)
            opts = {'reduction': reduction}
            if pos_weight is not None:
                opts['posWeight'] = pos_weight.tolist()
            cases.append({
                'name': f'bce {reduction} posWeight={pos_weight is not None}', 'loss': 'binaryCrossEntropyWithLogits',
                'input': tensor_json(x.detach()), 'target': tensor_json(y.detach()), 'options': opts,
                'grad_output': optional_json(grad_output),
                'value': tensor_json(out.detach()), 'grad_input': tensor_json(gx), 'grad_target': tensor_json(gy),
            })
    return cases


def cross_entropy_case(name, logits, target, kind, opts, lengths=None):
    """PyTorch cross_entropy with the class axis last; `lengths` rows are dropped before PyTorch sees them."""
    reduction = opts.get('reduction', 'mean')
    C = logits.shape[-1]
    rows_shape = logits.shape[:-1]
    z = logits.clone().requires_grad_()
    t = target.clone()
    if kind == 'probs':
        t.requires_grad_()
    mask = torch.ones(rows_shape, dtype=torch.bool)
    if lengths is not None:
        for b, n in enumerate(lengths):
            mask[b, n:] = False
    kwargs = {'reduction': reduction, 'ignore_index': opts.get('ignoreIndex', -100), 'label_smoothing': opts.get('labelSmoothing', 0.0)}
    if 'weight' in opts:
        kwargs['weight'] = torch.tensor(opts['weight'], dtype=torch.float64)
    flat_mask = mask.reshape(-1)
    rows_z = z.reshape(-1, C)[flat_mask]
    rows_t = t.reshape(-1, C)[flat_mask] if kind == 'probs' else t.reshape(-1)[flat_mask]
    out_rows = F.cross_entropy(rows_z, rows_t, **kwargs)
    if reduction == 'none':
        out = torch.zeros(flat_mask.shape, dtype=torch.float64).masked_scatter(flat_mask, out_rows).reshape(rows_shape)
    else:
        out = out_rows
    grad_output, (gz, gt) = backward(out, [z, t], reduction)
    options = dict(opts)
    if lengths is not None:
        options['lengths'] = lengths
    return {
        'name': name, 'loss': 'crossEntropy',
        'input': tensor_json(logits),
        'target': {'kind': kind, **(tensor_json(target) if kind == 'probs' else ints_json(target))},
        'options': options, 'grad_output': optional_json(grad_output),
        'value': tensor_json(out.detach()), 'grad_input': tensor_json(gz), 'grad_target': optional_json(gt),
    }


def cross_entropy_cases():
    cases = []
    logits = rand(6, 4, scale=3.0)
    logits[5] = f32(torch.tensor([1000.0, -1000.0, 999.0, 0.0], dtype=torch.float64))  # overflow bait
    idx = torch.tensor([0, 3, 1, 2, 2, 2])
    for reduction in ('mean', 'sum', 'none'):
        cases.append(cross_entropy_case(f'indices {reduction}', logits, idx, 'indices', {'reduction': reduction}))
    ignored = torch.tensor([0, -100, 1, 2, -100, 3])
    weight = [0.5, 2.0, 1.0, 3.0]
    cases.append(cross_entropy_case('ignoreIndex -100 + weight, mean', logits, ignored, 'indices', {'weight': weight}))
    for reduction in ('mean', 'sum', 'none'):
        cases.append(cross_entropy_case(f'label smoothing + weight + ignoreIndex 2, {reduction}', logits, idx, 'indices',
                                        {'reduction': reduction, 'labelSmoothing': 0.1, 'ignoreIndex': 2, 'weight': weight}))
    cases.append(cross_entropy_case('label smoothing 1', logits, idx, 'indices', {'labelSmoothing': 1.0}))
    probs = f32(torch.rand(6, 4, dtype=torch.float64).softmax(1))
    for reduction in ('mean', 'none'):
        cases.append(cross_entropy_case(f'probabilities + weight + label smoothing, {reduction}', logits, probs, 'probs',
                                        {'reduction': reduction, 'weight': weight, 'labelSmoothing': 0.2}))
    # Sequences [B, T, C] with lengths: padded targets hold junk Eddy must not look at.
    seq = rand(3, 4, 5, scale=2.0)
    lengths = [4, 2, 1]
    seq_idx = torch.tensor([[1, 4, 0, 2], [3, 3, 77, -5], [0, 99, 99, 99]])
    for reduction in ('mean', 'sum', 'none'):
        cases.append(cross_entropy_case(f'sequences + lengths, {reduction}', seq, seq_idx, 'indices', {'reduction': reduction}, lengths))
    cases.append(cross_entropy_case('sequences + lengths + ignoreIndex + label smoothing + weight', seq,
                                    torch.tensor([[1, -100, 0, 2], [3, 3, 7, 7], [-100, 9, 9, 9]]), 'indices',
                                    {'labelSmoothing': 0.05, 'weight': [1.0, 2.0, 0.5, 1.5, 1.0]}, lengths))
    seq_probs = f32(torch.rand(3, 4, 5, dtype=torch.float64).softmax(2))
    for reduction in ('mean', 'none'):
        cases.append(cross_entropy_case(f'sequence probabilities + lengths, {reduction}', seq, seq_probs, 'probs', {'reduction': reduction}, lengths))
    return cases


def ctc_cases():
    cases = []
    T, B, C = 6, 3, 4
    for blank, targets, target_lengths, input_lengths, opts in [
        (0, [[1, 1, 2], [3, 0, 0], [2, 3, 0]], [3, 1, 2], [6, 4, 5], {}),
        (0, [[1, 1, 2], [3, 0, 0], [2, 3, 0]], [3, 1, 2], [6, 4, 5], {'reduction': 'sum'}),
        (0, [[1, 1, 2], [3, 0, 0], [2, 3, 0]], [3, 0, 2], [6, 6, 3], {'reduction': 'none'}),
        (3, [[1, 1, 2], [0, 0, 0], [2, 1, 0]], [3, 2, 1], [5, 6, 2], {'blank': 3}),
        # Sequence 1 cannot fit its target (3 labels with a repeat need 4 steps): zeroInfinity.
        (0, [[1, 2, 3], [2, 2, 1], [1, 0, 0]], [3, 3, 1], [6, 3, 6], {'zeroInfinity': True}),
        (0, [[1, 2, 3], [2, 2, 1], [1, 0, 0]], [3, 3, 1], [6, 3, 6], {'zeroInfinity': True, 'reduction': 'none'}),
    ]:
        log_probs = f32(torch.randn(T, B, C, dtype=torch.float64).mul(1.5).log_softmax(2))
        z = log_probs.clone().requires_grad_()
        reduction = opts.get('reduction', 'mean')
        # Through log_softmax, where PyTorch's CTC gradient is the true one (see lib/losses/ctc-alignment.ts).
        out = F.ctc_loss(z.log_softmax(2), torch.tensor(targets), torch.tensor(input_lengths), torch.tensor(target_lengths),
                         blank=blank, reduction=reduction, zero_infinity=opts.get('zeroInfinity', False))
        grad_output, (gz,) = backward(out, [z], reduction)
        cases.append({
            'name': f'ctc blank={blank} {opts}', 'loss': 'ctc', 'input': tensor_json(log_probs),
            'targets': targets, 'input_lengths': input_lengths, 'target_lengths': target_lengths,
            'options': {**opts, 'blank': blank}, 'grad_output': optional_json(grad_output),
            'value': tensor_json(out.detach()), 'grad_logits': tensor_json(gz),
        })
    return cases


def schedule_cases():
    def make_optimizer(kind, lrs):
        params = [torch.nn.Parameter(torch.zeros(1)) for _ in lrs]
        groups = [{'params': [p], 'lr': lr} for p, lr in zip(params, lrs)]
        return torch.optim.Adam(groups, lr=lrs[0]) if kind == 'adam' else torch.optim.SGD(groups, lr=lrs[0], momentum=0.9)

    specs = [
        ('StepLR', {'stepSize': 3, 'gamma': 0.5}, lambda o: S.StepLR(o, step_size=3, gamma=0.5)),
        ('StepLR', {'stepSize': 1}, lambda o: S.StepLR(o, step_size=1)),
        ('ExponentialLR', {'gamma': 0.9}, lambda o: S.ExponentialLR(o, gamma=0.9)),
        ('ExponentialLR', {'gamma': 1.0}, lambda o: S.ExponentialLR(o, gamma=1.0)),
        ('CosineAnnealingLR', {'tMax': 10}, lambda o: S.CosineAnnealingLR(o, T_max=10)),
        ('CosineAnnealingLR', {'tMax': 7, 'etaMin': 0.001}, lambda o: S.CosineAnnealingLR(o, T_max=7, eta_min=0.001)),
        ('CosineAnnealingLR', {'tMax': 1}, lambda o: S.CosineAnnealingLR(o, T_max=1)),
        ('CosineAnnealingWarmRestarts', {'t0': 5}, lambda o: S.CosineAnnealingWarmRestarts(o, T_0=5)),
        ('CosineAnnealingWarmRestarts', {'t0': 3, 'tMult': 2, 'etaMin': 0.001}, lambda o: S.CosineAnnealingWarmRestarts(o, T_0=3, T_mult=2, eta_min=0.001)),
        ('CosineAnnealingWarmRestarts', {'t0': 1, 'tMult': 3}, lambda o: S.CosineAnnealingWarmRestarts(o, T_0=1, T_mult=3)),
        ('OneCycleLR', {'maxLr': 0.5, 'totalSteps': 30}, lambda o: S.OneCycleLR(o, max_lr=0.5, total_steps=30)),
        ('OneCycleLR', {'maxLr': [0.5, 0.05], 'totalSteps': 30, 'annealStrategy': 'linear', 'pctStart': 0.25, 'divFactor': 10, 'finalDivFactor': 100},
         lambda o: S.OneCycleLR(o, max_lr=[0.5, 0.05], total_steps=30, anneal_strategy='linear', pct_start=0.25, div_factor=10.0, final_div_factor=100.0)),
        ('OneCycleLR', {'maxLr': 0.5, 'totalSteps': 30, 'threePhase': True, 'baseMomentum': 0.8, 'maxMomentum': [0.9, 0.99]},
         lambda o: S.OneCycleLR(o, max_lr=0.5, total_steps=30, three_phase=True, base_momentum=0.8, max_momentum=[0.9, 0.99])),
        ('OneCycleLR', {'maxLr': 0.01, 'epochs': 5, 'stepsPerEpoch': 6, 'pctStart': 0.5, 'cycleMomentum': False},
         lambda o: S.OneCycleLR(o, max_lr=0.01, epochs=5, steps_per_epoch=6, pct_start=0.5, cycle_momentum=False)),
        ('LinearLR', {}, lambda o: S.LinearLR(o)),
        ('LinearLR', {'startFactor': 0.1, 'totalIters': 10}, lambda o: S.LinearLR(o, start_factor=0.1, total_iters=10)),
        ('LinearLR', {'startFactor': 1.0, 'endFactor': 0.1, 'totalIters': 20}, lambda o: S.LinearLR(o, start_factor=1.0, end_factor=0.1, total_iters=20)),
    ]
    cases = []
    for i, (kind, options, make) in enumerate(specs):
        opt_kind = 'adam' if kind == 'OneCycleLR' and i % 2 == 0 else 'sgd'
        opt = make_optimizer(opt_kind, [0.1, 0.01])
        sched = make(opt)
        steps = 30
        lrs, momenta = [sched.get_last_lr()], []

        def momentum():
            return [g['betas'][0] if opt_kind == 'adam' else g['momentum'] for g in opt.param_groups]
        momenta.append(momentum())
        for _ in range(steps):
            opt.step()
            sched.step()
            lrs.append(sched.get_last_lr())
            momenta.append(momentum())
        cases.append({'name': f'{kind} {options} ({opt_kind})', 'type': kind, 'options': options, 'optimizer': opt_kind,
                      'lrs0': [0.1, 0.01], 'lrs': lrs, 'momenta': momenta if kind == 'OneCycleLR' else None})

    # CosineAnnealingWarmRestarts stepped by (fractional) epochs.
    epochs = [0.5, 1, 1.25, 2.9, 3, 3.5, 4, 7.5, 9, 9.01, 13, 20.5, 21, 44.9, 45, 2]
    for t0, t_mult in ((3, 2), (4, 1)):
        opt = make_optimizer('sgd', [0.1, 0.01])
        sched = S.CosineAnnealingWarmRestarts(opt, T_0=t0, T_mult=t_mult, eta_min=0.0005)
        lrs = [sched.get_last_lr()]
        for e in epochs:
            sched.step(e)
            lrs.append(sched.get_last_lr())
        cases.append({'name': f'CosineAnnealingWarmRestarts t0={t0} tMult={t_mult} by epoch', 'type': 'CosineAnnealingWarmRestarts',
                      'options': {'t0': t0, 'tMult': t_mult, 'etaMin': 0.0005}, 'optimizer': 'sgd', 'lrs0': [0.1, 0.01], 'epochs': epochs, 'lrs': lrs})

    # ReduceLROnPlateau driven by a metric sequence.
    metrics = [1.0, 0.9, 0.9, 0.95, 0.91, 0.9, 0.8, 0.8, 0.8, 0.8, 0.79995, 0.8, 0.7, 0.7, 0.7, 0.71, 0.72, 0.7, 0.7, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6]
    rising = [1 - m for m in metrics]
    for options, kwargs, series in [
        ({'patience': 2}, {'patience': 2}, metrics),
        ({'mode': 'max', 'factor': 0.5, 'patience': 1, 'threshold': 0.01, 'thresholdMode': 'abs', 'cooldown': 2, 'minLr': [0.02, 0.004]},
         {'mode': 'max', 'factor': 0.5, 'patience': 1, 'threshold': 0.01, 'threshold_mode': 'abs', 'cooldown': 2, 'min_lr': [0.02, 0.004]}, rising),
        ({'patience': 0, 'factor': 0.9, 'eps': 0.005}, {'patience': 0, 'factor': 0.9, 'eps': 0.005}, metrics),
        ({'mode': 'max', 'patience': 3, 'threshold': 0.1}, {'mode': 'max', 'patience': 3, 'threshold': 0.1}, rising),
    ]:
        opt = make_optimizer('sgd', [0.1, 0.01])
        sched = S.ReduceLROnPlateau(opt, **kwargs)
        lrs = [[g['lr'] for g in opt.param_groups]]
        for m in series:
            opt.step()
            sched.step(m)
            lrs.append(sched.get_last_lr())
        cases.append({'name': f'ReduceLROnPlateau {options}', 'type': 'ReduceLROnPlateau', 'options': options, 'optimizer': 'sgd',
                      'lrs0': [0.1, 0.01], 'metrics': series, 'lrs': lrs})
    return cases


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.set_default_dtype(torch.float64)
    write('regression.json', regression_cases())
    write('bce_with_logits.json', bce_cases())
    write('cross_entropy.json', cross_entropy_cases())
    write('ctc.json', ctc_cases())
    write('schedules.json', schedule_cases())


if __name__ == '__main__':
    main()
