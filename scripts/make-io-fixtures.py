#!/usr/bin/env python3
"""PyTorch side of Eddy's file-interop tests.

  make-io-fixtures.py write [DIR]        writes the committed fixtures (default test/fixtures/io):
                                         PyTorch state dicts saved as safetensors, plus
                                         torch-cases.json with inputs, PyTorch's outputs and
                                         state_dict key names and shapes
  make-io-fixtures.py forward FILE SPEC  loads an Eddy-written FILE into the PyTorch model
                                         described by the JSON SPEC with load_state_dict(strict=True)
                                         (no renaming) and prints PyTorch's output as JSON

Debian has no safetensors package, so the format is read and written here
with json + struct + torch.frombuffer, as a PyTorch user without the
package would.  Needs torch (e.g. PYTHONPATH=/tmp/torch2 python3).
"""
import json
import struct
import sys

import torch

DTYPES = {'F32': torch.float32, 'F64': torch.float64, 'F16': torch.float16, 'BF16': torch.bfloat16, 'I64': torch.int64, 'I32': torch.int32}


def save_safetensors(path, tensors, metadata=None):
    header = {}
    if metadata:
        header['__metadata__'] = metadata
    blobs, offset = [], 0
    for name, t in tensors.items():
        # Raw little-endian float32 bytes, without numpy.
        data = bytes(t.detach().float().contiguous().view(torch.uint8).flatten().tolist())
        header[name] = {'dtype': 'F32', 'shape': list(t.shape), 'data_offsets': [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header).encode()
    text += b' ' * (-len(text) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)


def load_safetensors(path):
    with open(path, 'rb') as f:
        raw = f.read()
    (n,) = struct.unpack('<Q', raw[:8])
    header = json.loads(raw[8:8 + n])
    meta = header.pop('__metadata__', {})
    data = raw[8 + n:]
    out = {}
    for name, e in header.items():
        b, end = e['data_offsets']
        buf = bytearray(data[b:end])
        out[name] = torch.frombuffer(buf, dtype=DTYPES[e['dtype']]).reshape(e['shape']) if buf else torch.zeros(e['shape'], dtype=DTYPES[e['dtype']])
    return out, meta


class Stack(torch.nn.Module):
    """torch.nn.Sequential for layers whose output may be a tuple (recurrent layers): takes element 0."""

    def __init__(self, layers):
        super().__init__()
        for i, layer in enumerate(layers):
            self.add_module(str(i), layer)

    def forward(self, x):
        for layer in self.children():
            x = layer(x)
            if isinstance(x, tuple):
                x = x[0]
        return x


def build(spec):
    kind, args = spec['kind'], spec.get('args', {})
    if kind == 'Sequential':
        return Stack([build(s) for s in spec['layers']])
    return getattr(torch.nn, kind)(**args)


def output_of(model, x):
    with torch.no_grad():
        y = model(x)
    return y[0] if isinstance(y, tuple) else y


# (name, PyTorch model spec, Eddy layer config)
CASES = [
    ('lstm', {'kind': 'LSTM', 'args': {'input_size': 3, 'hidden_size': 4, 'num_layers': 2, 'bidirectional': True, 'batch_first': True}},
     {'className': 'LSTM', 'config': {'inputSize': 3, 'hiddenSize': 4, 'numLayers': 2, 'bidirectional': True}}),
    ('gru', {'kind': 'GRU', 'args': {'input_size': 3, 'hidden_size': 5, 'batch_first': True}},
     {'className': 'GRU', 'config': {'inputSize': 3, 'hiddenSize': 5}}),
    ('rnn', {'kind': 'RNN', 'args': {'input_size': 3, 'hidden_size': 4, 'nonlinearity': 'relu', 'batch_first': True}},
     {'className': 'RNN', 'config': {'inputSize': 3, 'hiddenSize': 4, 'nonlinearity': 'relu'}}),
    ('sequential', {'kind': 'Sequential', 'layers': [
        {'kind': 'LSTM', 'args': {'input_size': 3, 'hidden_size': 4, 'batch_first': True}},
        {'kind': 'Linear', 'args': {'in_features': 4, 'out_features': 2}}]},
     {'className': 'Sequential', 'config': {'layers': [
         {'className': 'LSTM', 'config': {'inputSize': 3, 'hiddenSize': 4}},
         {'className': 'Linear', 'config': {'inFeatures': 4, 'outFeatures': 2}}]}}),
]


def write(directory):
    torch.manual_seed(6)
    cases = []
    for name, spec, eddy_config in CASES:
        model = build(spec)
        x = torch.randn(2, 5, 3)
        y = output_of(model, x)
        sd = model.state_dict()
        save_safetensors(f'{directory}/torch-{name}.safetensors', sd, {'format': 'pt'})
        cases.append({
            'name': name, 'file': f'torch-{name}.safetensors', 'torch': spec, 'eddy': eddy_config,
            'keys': [[k, list(v.shape)] for k, v in sd.items()],
            'input': {'shape': list(x.shape), 'data': x.flatten().tolist()},
            'output': {'shape': list(y.shape), 'data': y.flatten().tolist()},
        })
    with open(f'{directory}/torch-cases.json', 'w') as f:
        json.dump({'torch': torch.__version__, 'cases': cases}, f, indent=1)
        f.write('\n')


def forward(path, spec_path):
    with open(spec_path) as f:
        spec = json.load(f)
    model = build(spec['torch'])
    sd, meta = load_safetensors(path)
    model.load_state_dict(sd, strict=True)
    x = torch.tensor(spec['input']['data'], dtype=torch.float32).reshape(spec['input']['shape'])
    y = output_of(model, x)
    json.dump({'shape': list(y.shape), 'data': y.flatten().tolist(), 'keys': list(sd.keys()), 'metadata': meta}, sys.stdout)


if __name__ == '__main__':
    if len(sys.argv) >= 2 and sys.argv[1] == 'write':
        write(sys.argv[2] if len(sys.argv) > 2 else 'test/fixtures/io')
    elif len(sys.argv) == 4 and sys.argv[1] == 'forward':
        forward(sys.argv[2], sys.argv[3])
    else:
        sys.exit(__doc__)
