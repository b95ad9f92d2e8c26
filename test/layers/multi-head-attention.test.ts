import * as assert from 'assert';
import * as eddy from '../../lib';
import { MultiHeadAttention } from '../../lib';
import { checkAgainstReference, inputsOf, loadAttentionReference, loadWeights } from './attention-reference';
import { assertClose } from '../helpers';

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

describe('MultiHeadAttention options, masks and errors', () => {
  const gen = new eddy.Generator(5);
  const rand = (shape: number[]): eddy.Tensor => eddy.tensor(gen.uniform(new Float32Array(shape.reduce((a, b) => a * b, 1)), -1, 1), shape);

  it('refuses bad options and shapes with typed errors naming the argument', () => {
    assert.throws(() => new MultiHeadAttention({ embedDim: 10, numHeads: 3 }), (e: unknown) => e instanceof eddy.ValidationError && (e as Error).message === 'Expected a divisor of embedDim (10) for numHeads but received 3 of type number');
    const mha = new MultiHeadAttention({ embedDim: 4, numHeads: 2 });
    assert.throws(() => mha.forward(rand([2, 3, 5])), (e: unknown) => e instanceof eddy.ShapeError && (e as Error).message === 'Expected query of shape [batch, time, 4] for MultiHeadAttention(embedDim=4, numHeads=2) but received [2, 3, 5]');
    assert.throws(() => mha.forward(rand([2, 3, 4]), rand([1, 3, 4])), /Expected key of shape \[2, time, 4\]/);
    assert.throws(() => mha.forward(rand([2, 3, 4]), { needweights: false } as never), (e: unknown) => e instanceof eddy.UnknownOptionError && /did you mean needWeights\?/.test((e as Error).message));
    assert.throws(() => mha.forward(rand([2, 3, 4]), { lengths: [3, 2], keyPaddingMask: [[false, false, false], [false, false, true]] }), /Expected lengths or keyPaddingMask for the keys, not both/);
    assert.throws(() => mha.forward(rand([2, 3, 4]), { lengths: [3, 4] }), /Expected lengths between 1 and 3/);
    assert.throws(() => mha.forward(rand([2, 3, 4]), { attnMask: rand([3, 2]) }), /Expected attnMask of shape \[3, 3\] or \[4, 3, 3\] but received \[3, 2\]/);
  });

  it('a trailing boolean padding mask runs as lengths; padding in the middle matches the float mask', () => {
    const mha = new MultiHeadAttention({ embedDim: 4, numHeads: 2 });
    const x = rand([2, 4, 4]);
    const byLengths = mha.forward(x, { lengths: [4, 2] }).output;
    const byMask = mha.forward(x, { keyPaddingMask: [[false, false, false, false], [false, false, true, true]] }).output;
    assert.deepStrictEqual(Array.from(byMask.toFloat32Array()), Array.from(byLengths.toFloat32Array()));
    const middle = [[false, true, false, false], [true, false, false, true]];
    const asBool = mha.forward(x, { keyPaddingMask: middle, needWeights: true });
    const asFloat = mha.forward(x, { keyPaddingMask: eddy.tensor(Float32Array.from(middle.flat(), (m) => (m ? -Infinity : 0)), [2, 4]) });
    assert.deepStrictEqual(Array.from(asBool.output.toFloat32Array()), Array.from(asFloat.output.toFloat32Array()));
    // Masked keys get exactly zero weight.
    const w = asBool.weights!;
    for (let b = 0; b < 2; b++) for (let i = 0; i < 4; i++) for (let j = 0; j < 4; j++) if (middle[b][j]) assert.strictEqual(w.get(b, i, j), 0);
  });

  it('time-major inputs give the batch-first results transposed', () => {
    const a = new MultiHeadAttention({ embedDim: 6, numHeads: 3, generator: new eddy.Generator(1) });
    const b = new MultiHeadAttention({ embedDim: 6, numHeads: 3, batchFirst: false, generator: new eddy.Generator(1) });
    const q = rand([2, 3, 6]), kv = rand([2, 5, 6]);
    const want = a.forward(q, kv, { lengths: [5, 2] }).output;
    const got = b.forward(q.transpose(0, 1), kv.transpose(0, 1), { lengths: [5, 2] }).output;
    assertClose(got.transpose(0, 1).toFloat32Array(), want.toFloat32Array(), 0, 'time-major');
  });

  it('dropout acts in training calls only, and scales kept weights by 1/(1 − p)', () => {
    const mha = new MultiHeadAttention({ embedDim: 4, numHeads: 1, dropout: 0.5, generator: new eddy.Generator(2) });
    const x = rand([1, 64, 4]);
    const evalOut = mha.forward(x, { training: false, needWeights: false }).output.toFloat32Array();
    const trainOut = mha.forward(x, { training: true, needWeights: false }).output.toFloat32Array();
    assert.deepStrictEqual(Array.from(mha.forward(x, { training: false }).output.toFloat32Array()), Array.from(evalOut));
    assert.notDeepStrictEqual(Array.from(trainOut), Array.from(evalOut));
  });
});

describe('MultiHeadAttention unbatched input', () => {
  it('[T, E] gives the batch-of-one result without the batch axis', () => {
    for (const batchFirst of [true, false]) {
      const mha = new MultiHeadAttention({ embedDim: 4, numHeads: 2, kdim: 3, vdim: 3, batchFirst, generator: new eddy.Generator(6) });
      const q = eddy.tensor(new eddy.Generator(1).uniform(new Float32Array(12), -1, 1), [3, 4]);
      const kv = eddy.tensor(new eddy.Generator(2).uniform(new Float32Array(15), -1, 1), [5, 3]);
      const one = mha.forward(q, kv, { isCausal: true, averageAttnWeights: false });
      const lift = (t: eddy.Tensor): eddy.Tensor => eddy.reshape(t, batchFirst ? [1, ...t.shape] : [t.shape[0], 1, t.shape[1]]);
      const batched = mha.forward(lift(q), lift(kv), { isCausal: true, averageAttnWeights: false });
      assert.deepStrictEqual(one.output.shape, [3, 4]);
      assert.deepStrictEqual(one.weights!.shape, [2, 3, 5]);
      assert.deepStrictEqual(Array.from(one.output.toFloat32Array()), Array.from(batched.output.toFloat32Array()));
    }
  });
});

describe('MultiHeadAttention backward off the main thread', () => {
  it('backwardAsync gives the same gradients as backward, bit for bit', async () => {
    const grads = async (useAsync: boolean): Promise<number[][]> => {
      const mha = new MultiHeadAttention({ embedDim: 8, numHeads: 2, generator: new eddy.Generator(4) });
      const x = eddy.tensor(new eddy.Generator(9).uniform(new Float32Array(2 * 70 * 8), -1, 1), [2, 70, 8], { requiresGrad: true });
      const { output, weights } = mha.forward(x, { lengths: [70, 33], isCausal: true });
      const loss = eddy.add(eddy.sum(eddy.square(output)), eddy.sum(eddy.mul(weights!, weights!)));
      if (useAsync) await eddy.backwardAsync([loss]);
      else loss.backward();
      return [x, ...mha.parameters().map((p) => p.data)].map((t) => Array.from(t.grad!.toFloat32Array()));
    };
    assert.deepStrictEqual(await grads(true), await grads(false));
  });
});
