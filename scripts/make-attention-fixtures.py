#!/usr/bin/env python3
"""PyTorch float64 references for the attention and transformer layers.

Writes test/fixtures/reference/attention/attention_*.json and transformer_*.json:
nn.MultiheadAttention (self, cross, kdim/vdim, padding and causal masks,
float and boolean masks, weights per head or averaged),
nn.TransformerEncoderLayer / nn.TransformerDecoderLayer (post- and pre-norm,
ReLU and GELU) and their stacks. Each file holds the module's config, its
state dict, the inputs, the outputs, a loss (a fixed random weighting of
every output) and the gradient of that loss with respect to every input and
every parameter. Dropout is 0 so the references are deterministic.

Run from the repository root:  PYTHONPATH=/work/pydeps python3 scripts/make-attention-fixtures.py
"""
import json
import os

import torch
import torch.nn as nn

torch.set_default_dtype(torch.float64)
OUT = os.path.join(os.path.dirname(__file__), '..', 'test', 'fixtures', 'reference', 'attention')


def t(x):
    x = x.detach()
    return {'shape': list(x.shape), 'data': x.reshape(-1).tolist()}


def mask_t(x):
    """A float mask; −∞ (which JSON cannot hold) as null."""
    return {'shape': list(x.shape), 'data': [None if v == float('-inf') else v for v in x.reshape(-1).tolist()]}


def bool_t(x):
    return {'shape': list(x.shape), 'data': [bool(v) for v in x.reshape(-1).tolist()]}


def padding_mask(lengths, T):
    return torch.arange(T)[None, :] >= torch.tensor(lengths)[:, None]


def causal(Tq, Tk):
    return torch.triu(torch.ones(Tq, Tk, dtype=torch.bool), diagonal=1)


def finish(name, module, config, inputs, call, outputs, extra):
    """Loss = Σ_k sum(output_k · w_k); gradients of inputs and parameters."""
    gen = torch.Generator().manual_seed(7)
    weights = {k: torch.rand(v.shape, generator=gen) * 2 - 1 for k, v in outputs.items()}
    loss = sum((outputs[k] * weights[k]).sum() for k in outputs)
    loss.backward()
    doc = {
        'schema_version': 1,
        'name': name,
        'generator': 'scripts/make-attention-fixtures.py',
        'torch_version': torch.__version__,
        'dtype': 'float64',
        'module': type(module).__name__,
        'config': config,
        'call': call,
        'weights': {k: t(v) for k, v in module.state_dict().items()},
        'inputs': {k: t(v) for k, v in inputs.items()},
        'outputs': {k: t(v) for k, v in outputs.items()},
        'loss': {'formula': 'sum over outputs of sum(output * w.output)', 'weights': {k: t(v) for k, v in weights.items()}, 'value': loss.item()},
        'grads': {**{k: t(v.grad) for k, v in inputs.items()}, **{k: t(p.grad) for k, p in module.named_parameters()}},
        **extra,
    }
    with open(os.path.join(OUT, name + '.json'), 'w') as f:
        json.dump(doc, f, separators=(',', ':'))
        f.write('\n')
    print(name, 'loss', loss.item())


def randn(*shape):
    return (torch.randn(*shape) * 0.8).requires_grad_()


def mha_case(name, seed, E, H, B, Tq, Tk, kdim=None, vdim=None, bias=True, self_attn=True, lengths=None,
             causal_mask=False, float_mask=False, bool_mask=False, need_weights=True, average=True):
    torch.manual_seed(seed)
    m = nn.MultiheadAttention(E, H, dropout=0.0, bias=bias, kdim=kdim, vdim=vdim, batch_first=True)
    with torch.no_grad():  # non-zero biases, so their gradients and placement are tested
        for n, p in m.named_parameters():
            if 'bias' in n:
                p.uniform_(-0.5, 0.5)
    q = randn(B, Tq, E)
    inputs = {'query': q}
    if self_attn:
        k = v = q
    else:
        k = randn(B, Tk, kdim or E)
        v = randn(B, Tk, vdim or E)
        inputs.update({'key': k, 'value': v})
    call = {'need_weights': need_weights, 'average_attn_weights': average, 'is_causal': causal_mask, 'lengths': lengths}
    kwargs = {'need_weights': need_weights, 'average_attn_weights': average}
    extra = {}
    if lengths is not None:
        kwargs['key_padding_mask'] = padding_mask(lengths, Tk)
    mask = None
    if causal_mask:
        mask = causal(Tq, Tk)
        kwargs['is_causal'] = True
    if float_mask:
        mask = torch.randn(Tq, Tk) * 0.5
        mask[0, 1] = float('-inf')
        extra['attn_mask'] = mask_t(mask)
    if bool_mask:
        mask = torch.rand(B * H, Tq, Tk) < 0.25
        mask[:, :, 0] = False  # every query keeps a key
        extra['attn_mask_bool'] = bool_t(mask)
    if mask is not None:
        kwargs['attn_mask'] = mask
    out, w = m(q, k, v, **kwargs)
    outputs = {'output': out}
    if need_weights:
        outputs['weights'] = w
    config = {'embed_dim': E, 'num_heads': H, 'bias': bias, 'kdim': kdim or E, 'vdim': vdim or E, 'batch_first': True}
    finish(name, m, config, inputs, call, outputs, extra)


def layer_config(d_model, nhead, ff, activation, norm_first):
    return {'d_model': d_model, 'nhead': nhead, 'dim_feedforward': ff, 'activation': activation, 'norm_first': norm_first, 'batch_first': True}


def transformer(seed, kind, norm_first, activation, layers, final_norm):
    """A layer (or a stack of `layers`), with perturbed norms so their gains and shifts are tested."""
    torch.manual_seed(seed)
    d, h, ff = 8, 2, 12
    Layer = nn.TransformerEncoderLayer if kind == 'encoder' else nn.TransformerDecoderLayer
    layer = Layer(d, h, ff, dropout=0.0, activation=activation, norm_first=norm_first, batch_first=True)
    config = layer_config(d, h, ff, activation, norm_first)
    m = layer
    if layers:
        norm = nn.LayerNorm(d) if final_norm else None
        m = nn.TransformerEncoder(layer, layers, norm=norm, enable_nested_tensor=False) if kind == 'encoder' else nn.TransformerDecoder(layer, layers, norm=norm)
        config.update({'num_layers': layers, 'final_norm': final_norm})
    with torch.no_grad():
        for n, p in m.named_parameters():
            if 'norm' in n:
                p.add_(torch.randn(p.shape) * 0.2)
    m.train()
    return m, config, d


def encoder_case(name, seed, norm_first, activation, lengths=None, causal_mask=False, layers=None, final_norm=False):
    m, config, d = transformer(seed, 'encoder', norm_first, activation, layers, final_norm)
    B, T = 2, 5
    src = randn(B, T, d)
    kwargs = {}
    if lengths is not None:
        kwargs['src_key_padding_mask'] = padding_mask(lengths, T)
    if causal_mask:
        kwargs['mask' if layers else 'src_mask'] = nn.Transformer.generate_square_subsequent_mask(T, dtype=torch.float64)
        kwargs['is_causal'] = True
    out = m(src, **kwargs)
    finish(name, m, config, {'src': src}, {'lengths': lengths, 'is_causal': causal_mask}, {'output': out}, {})


def decoder_case(name, seed, norm_first, activation, memory_lengths=None, layers=None, final_norm=False):
    m, config, d = transformer(seed, 'decoder', norm_first, activation, layers, final_norm)
    B, T, S = 2, 4, 6
    tgt = randn(B, T, d)
    memory = randn(B, S, d)
    kwargs = {'tgt_mask': nn.Transformer.generate_square_subsequent_mask(T, dtype=torch.float64), 'tgt_is_causal': True}
    if memory_lengths is not None:
        kwargs['memory_key_padding_mask'] = padding_mask(memory_lengths, S)
    out = m(tgt, memory, **kwargs)
    finish(name, m, config, {'tgt': tgt, 'memory': memory}, {'memory_lengths': memory_lengths, 'tgt_is_causal': True}, {'output': out}, {})


def main():
    mha_case('attention_mha_self', 1, E=8, H=2, B=2, Tq=5, Tk=5)
    mha_case('attention_mha_self_masked', 2, E=8, H=2, B=3, Tq=6, Tk=6, lengths=[6, 4, 1], causal_mask=True, need_weights=False)
    mha_case('attention_mha_cross_kvdim', 3, E=8, H=4, B=2, Tq=3, Tk=5, kdim=6, vdim=4, self_attn=False, float_mask=True, average=False)
    mha_case('attention_mha_cross_nobias', 4, E=6, H=3, B=2, Tq=4, Tk=7, bias=False, self_attn=False, bool_mask=True, lengths=[7, 3])
    encoder_case('transformer_encoder_layer_post_relu', 11, norm_first=False, activation='relu', lengths=[5, 3])
    encoder_case('transformer_encoder_layer_pre_gelu', 12, norm_first=True, activation='gelu', causal_mask=True)
    encoder_case('transformer_encoder_stack', 13, norm_first=True, activation='relu', lengths=[4, 5], layers=2, final_norm=True)
    decoder_case('transformer_decoder_layer_post_relu', 21, norm_first=False, activation='relu', memory_lengths=[6, 2])
    decoder_case('transformer_decoder_layer_pre_gelu', 22, norm_first=True, activation='gelu')
    decoder_case('transformer_decoder_stack', 23, norm_first=False, activation='gelu', memory_lengths=[3, 6], layers=2, final_norm=True)


if __name__ == '__main__':
    main()
