/**
 * The PyTorch float64 references of the attention and transformer layers
 * (test/fixtures/reference/attention, written by
 * scripts/make-attention-fixtures.py): loading and comparing.
 */
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import * as eddy from '../../lib';
import { Tensor } from '../../lib';
import { assertClose } from '../helpers';
import { REFERENCE_DIR, toTensor } from './reference';

interface RefTensor {
  shape: number[];
  data: number[];
}

export interface AttentionReference {
  name: string;
  module: string;
  config: Record<string, number | boolean | string>;
  call: Record<string, unknown>;
  weights: Record<string, RefTensor>;
  inputs: Record<string, RefTensor>;
  outputs: Record<string, RefTensor>;
  loss: { weights: Record<string, RefTensor> };
  grads: Record<string, RefTensor>;
  attn_mask?: RefTensor;
  attn_mask_bool?: { shape: number[]; data: boolean[] };
}

export function loadAttentionReference(name: string): AttentionReference {
  return JSON.parse(fs.readFileSync(path.join(REFERENCE_DIR, 'attention', `${name}.json`), 'utf8')) as AttentionReference;
}

/** Loads the reference's state dict into `layer`, checking that the names are PyTorch's exactly. */
export function loadWeights(layer: eddy.Module, ref: AttentionReference): void {
  assert.deepStrictEqual(Object.keys(layer.stateDict()).sort(), Object.keys(ref.weights).sort());
  const state: Record<string, Float32Array> = {};
  for (const [k, v] of Object.entries(ref.weights)) state[k] = Float32Array.from(v.data);
  layer.loadStateDict(state);
}

/** Leaf tensors for the reference's inputs (self-attention passes one tensor). */
export function inputsOf(ref: AttentionReference): Record<string, Tensor> {
  const out: Record<string, Tensor> = {};
  for (const [k, v] of Object.entries(ref.inputs)) out[k] = toTensor(v, true);
  return out;
}

/**
 * Compares outputs (1e-5) and, after backward of the reference's loss,
 * the gradients of the inputs and of every parameter (1e-4), all scaled by
 * max(1, |reference|). float32 against float64: a few ulps of float32 per
 * op over a handful of ops stays near 1e-6; gradients pass through more
 * ops (and sums over the batch), hence the looser bound.
 */
export function checkAgainstReference(ref: AttentionReference, layer: eddy.Module, inputs: Record<string, Tensor>, outputs: Record<string, Tensor>): { output: number; grad: number } {
  let worstOut = 0;
  let loss: Tensor | null = null;
  for (const [k, expected] of Object.entries(ref.outputs)) {
    const got = outputs[k];
    assert.ok(got, `${ref.name}: output ${k} missing`);
    assert.deepStrictEqual(got.shape, expected.shape, `${ref.name}: shape of ${k}`);
    worstOut = Math.max(worstOut, assertClose(got.toFloat32Array(), expected.data, 1e-5, `${ref.name} ${k}`));
    const term = eddy.sum(eddy.mul(got, toTensor(ref.loss.weights[k])));
    loss = loss ? eddy.add(loss, term) : term;
  }
  loss!.backward();
  let worstGrad = 0;
  const params = new Map(layer.namedParameters());
  for (const [k, expected] of Object.entries(ref.grads)) {
    const t = inputs[k] ?? params.get(k)?.data;
    assert.ok(t, `${ref.name}: no tensor for gradient ${k}`);
    assert.ok(t.grad, `${ref.name}: ${k} got no gradient`);
    worstGrad = Math.max(worstGrad, assertClose(t.grad.toFloat32Array(), expected.data, 1e-4, `${ref.name} d/d${k}`));
  }
  return { output: worstOut, grad: worstGrad };
}
