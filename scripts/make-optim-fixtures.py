#!/usr/bin/env python3
"""Writes test/fixtures/optim/optimizers.json: parameter trajectories of
torch.optim's optimizers (float32, as Eddy computes) on fixed gradients,
and torch.nn.utils.clip_grad_norm_ results. Needs torch:
    PYTHONPATH=/path/to/torch python3 scripts/make-optim-fixtures.py
"""
import json
import os

import torch

torch.manual_seed(0)
OUT = os.path.join(os.path.dirname(__file__), '..', 'test', 'fixtures', 'optim', 'optimizers.json')
SHAPES = [[3, 4], [5]]
STEPS = 6

CASES = [
    ('SGD', {'lr': 0.1}),
    ('SGD', {'lr': 0.05, 'momentum': 0.9, 'dampening': 0.1, 'weight_decay': 0.01}),
    ('SGD', {'lr': 0.05, 'momentum': 0.9, 'nesterov': True, 'weight_decay': 0.01}),
    ('Adam', {'lr': 0.01}),
    ('Adam', {'lr': 0.01, 'betas': (0.8, 0.99), 'eps': 1e-6, 'weight_decay': 0.1, 'amsgrad': True}),
    ('AdamW', {'lr': 0.01}),
    ('AdamW', {'lr': 0.02, 'weight_decay': 0.05, 'amsgrad': True}),
    ('RMSprop', {'lr': 0.01}),
    ('RMSprop', {'lr': 0.01, 'alpha': 0.9, 'momentum': 0.5, 'centered': True, 'weight_decay': 0.01}),
    ('Adagrad', {'lr': 0.1}),
    ('Adagrad', {'lr': 0.1, 'lr_decay': 0.01, 'weight_decay': 0.01, 'initial_accumulator_value': 0.1}),
]

CAMEL = {'weight_decay': 'weightDecay', 'lr_decay': 'lrDecay', 'initial_accumulator_value': 'initialAccumulatorValue'}


def flat(t):
    return [float(v) for v in t.detach().reshape(-1).tolist()]


def run(name, opts, groups=None):
    params = [torch.randn(*s, dtype=torch.float32, requires_grad=True) for s in SHAPES]
    initial = [flat(p) for p in params]
    grads = [[torch.randn(*s, dtype=torch.float32) for s in SHAPES] for _ in range(STEPS)]
    cls = getattr(torch.optim, name)
    if groups:
        opt = cls([{'params': [params[0]], **groups[0]}, {'params': [params[1]], **groups[1]}], **opts)
    else:
        opt = cls(params, **opts)
    trajectory = []
    for step in range(STEPS):
        for p, g in zip(params, grads[step]):
            p.grad = g.clone()
        opt.step()
        trajectory.append([flat(p) for p in params])
    js_opts = {CAMEL.get(k, k): (list(v) if isinstance(v, tuple) else v) for k, v in opts.items()}
    js_groups = [{CAMEL.get(k, k): v for k, v in g.items()} for g in groups] if groups else None
    return {'optimizer': name, 'options': js_opts, 'groups': js_groups, 'shapes': SHAPES, 'initial': initial,
            'grads': [[flat(g) for g in step] for step in grads], 'trajectory': trajectory}


def clip_case(max_norm, norm_type):
    grads = [torch.randn(*s, dtype=torch.float32) * 3 for s in SHAPES]
    params = [torch.zeros(*s, requires_grad=True) for s in SHAPES]
    for p, g in zip(params, grads):
        p.grad = g.clone()
    total = torch.nn.utils.clip_grad_norm_(params, max_norm, norm_type=norm_type)
    return {'maxNorm': max_norm, 'normType': 'inf' if norm_type == float('inf') else norm_type,
            'grads': [flat(g) for g in grads], 'totalNorm': float(total), 'clipped': [flat(p.grad) for p in params]}


fixtures = {
    'torch_version': torch.__version__,
    'optimizers': [run(n, o) for n, o in CASES] + [run('SGD', {'lr': 0.1, 'momentum': 0.5}, groups=[{'lr': 0.01}, {}])],
    'clip': [clip_case(1.0, 2.0), clip_case(100.0, 2.0), clip_case(0.5, float('inf')), clip_case(2.0, 1.0)],
}
with open(OUT, 'w') as f:
    json.dump(fixtures, f)
print('wrote', os.path.relpath(OUT))
