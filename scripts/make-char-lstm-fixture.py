#!/usr/bin/env python3
"""Writes test/fixtures/reference/char-lstm: the first 20 training steps of the
character LSTM as a PyTorch user writes it, for the end-to-end parity test
(test/model/char-lstm-parity.test.ts) and `npm run bench -- train`.

Embedding(V, 64) -> LSTM(64, 256, batch_first) -> Linear(256, V) on
examples/data/austen-northanger-abbey.txt, batches of 32 x 100 characters at
random offsets (generator seed 1), weights from torch.manual_seed(0),
cross-entropy (mean), Adam(lr 3e-3), clip_grad_norm_(1.0).

  init.safetensors  the initial weights under Sequential module paths
                    (0.weight, 1.weight_ih_l0, 1.weight_hh_l0, 1.bias_ih_l0,
                    1.bias_hh_l0, 2.weight, 2.bias), float32
  run.json          vocabulary, sizes, hyperparameters, each step's batch
                    offsets and its loss

Needs torch (2.x) and numpy:
    PYTHONPATH=/path/to/torch python3 scripts/make-char-lstm-fixture.py
"""
import json
import os
import struct
import sys

try:
    import torch
except ImportError:
    print('make-char-lstm-fixture: skipped, torch is not installed (set PYTHONPATH to a torch install)')
    sys.exit(0)

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..')
TEXT = os.path.join(ROOT, 'examples', 'data', 'austen-northanger-abbey.txt')
OUT = os.path.join(ROOT, 'test', 'fixtures', 'reference', 'char-lstm')
E, H, B, T, LR, CLIP, STEPS = 64, 256, 32, 100, 3e-3, 1.0, 20


def write_safetensors(path, named):
    header, blobs, pos = {}, [], 0
    for name, value in named.items():
        raw = value.detach().contiguous().numpy().astype('<f4').tobytes()
        header[name] = {'dtype': 'F32', 'shape': list(value.shape), 'data_offsets': [pos, pos + len(raw)]}
        pos += len(raw)
        blobs.append(raw)
    encoded = json.dumps(header).encode()
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(encoded)) + encoded + b''.join(blobs))


def main():
    torch.set_num_threads(2)
    text = open(TEXT, encoding='utf-8').read()
    vocab = sorted(set(text))
    lookup = {c: i for i, c in enumerate(vocab)}
    data = torch.tensor([lookup[c] for c in text], dtype=torch.long)
    V = len(vocab)
    torch.manual_seed(0)
    emb, lstm, head = torch.nn.Embedding(V, E), torch.nn.LSTM(E, H, batch_first=True), torch.nn.Linear(H, V)
    params = list(emb.parameters()) + list(lstm.parameters()) + list(head.parameters())
    opt = torch.optim.Adam(params, lr=LR)
    g = torch.Generator().manual_seed(1)
    offsets = torch.randint(0, len(data) - T - 1, (STEPS, B), generator=g)

    os.makedirs(OUT, exist_ok=True)
    named = {'0.weight': emb.weight}
    named.update({'1.' + k: v for k, v in lstm.named_parameters()})
    named.update({'2.weight': head.weight, '2.bias': head.bias})
    write_safetensors(os.path.join(OUT, 'init.safetensors'), named)

    losses = []
    for off in offsets:
        x = torch.stack([data[o:o + T] for o in off])
        y = torch.stack([data[o + 1:o + T + 1] for o in off])
        logits = head(lstm(emb(x))[0])
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, V), y.reshape(-1))
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, CLIP)
        opt.step()
        losses.append(loss.item())

    run = {'vocab': ''.join(vocab), 'E': E, 'H': H, 'B': B, 'T': T, 'lr': LR, 'clip_norm': CLIP, 'optimizer': 'Adam',
           'loss': 'cross_entropy mean over B*T', 'torch': torch.__version__, 'offsets': offsets.tolist(), 'losses': losses}
    with open(os.path.join(OUT, 'run.json'), 'w') as f:
        json.dump(run, f)
    print(f'wrote {OUT}: {STEPS} steps, loss {losses[0]:.4f} -> {losses[-1]:.4f}')


if __name__ == '__main__':
    main()
