import * as assert from 'assert';
import * as eddy from '../../lib';
import { MultiHeadAttention } from '../../lib';
import { checkAgainstReference, inputsOf, loadAttentionReference, loadWeights } from './attention-reference';

function mhaFor(name: string): { ref: ReturnType<typeof loadAttentionReference>; layer: MultiHeadAttention } {
  const ref = loadAttentionReference(name);
  const c = ref.config;
  const layer = new MultiHeadAttention({ embedDim: c.embed_dim as number, numHeads: c.num_heads as number, bias: c.bias as boolean, kdim: c.kdim as number, vdim: c.vdim as number });
  loadWeights(layer, ref);
  return { ref, layer };
}

describe('MultiHeadAttention against PyTorch float64', () => {
  for (const name of ['attention_mha_self', 'attention_mha_self_masked', 'attention_mha_cross_kvdim', 'attention_mha_cross_nobias']) {
    it(name, () => {
      const { ref, layer } = mhaFor(name);
      const inputs = inputsOf(ref);
      const call = ref.call as { need_weights: boolean; average_attn_weights: boolean; is_causal: boolean; lengths: number[] | null };
      let attnMask: eddy.AttentionMaskValue | undefined;
      if (ref.attn_mask) attnMask = eddy.tensor(Float32Array.from(ref.attn_mask.data as (number | null)[], (v) => (v === null ? -Infinity : v)), ref.attn_mask.shape);
      if (ref.attn_mask_bool) {
        const [n, tq, tk] = ref.attn_mask_bool.shape;
        const d = ref.attn_mask_bool.data;
        attnMask = Array.from({ length: n }, (_, a) => Array.from({ length: tq }, (_, i) => Array.from({ length: tk }, (_, j) => d[(a * tq + i) * tk + j])));
      }
      const { output, weights } = layer.forward(inputs.query, inputs.key, inputs.value, {
        needWeights: call.need_weights, averageAttnWeights: call.average_attn_weights, isCausal: call.is_causal,
        lengths: call.lengths ?? undefined, attnMask,
      });
      const worst = checkAgainstReference(ref, layer, inputs, weights ? { output, weights } : { output });
      console.log(`      ${name}: max scaled difference ${worst.output.toExponential(2)} (outputs, tol 1e-5), ${worst.grad.toExponential(2)} (gradients, tol 1e-4)`);
    });
  }

  it('loads PyTorch names both ways: in_proj_* when kdim = vdim = embedDim, q/k/v_proj_weight otherwise', () => {
    assert.deepStrictEqual(Object.keys(new MultiHeadAttention({ embedDim: 8, numHeads: 2 }).stateDict()), ['in_proj_weight', 'in_proj_bias', 'out_proj.weight', 'out_proj.bias']);
    assert.deepStrictEqual(Object.keys(new MultiHeadAttention({ embedDim: 8, numHeads: 2, kdim: 3, bias: false }).stateDict()), ['q_proj_weight', 'k_proj_weight', 'v_proj_weight', 'out_proj.weight']);
  });
});
