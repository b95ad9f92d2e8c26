import * as assert from 'assert';
import * as eddy from '../../lib';
import { ShapeError, Tensor, ValidationError } from '../../lib';
import { gradcheck } from '../gradcheck';
import { assertClose, rng } from '../helpers';
import { moduleGradcheck } from './module-gradcheck';

const randomTensor = (shape: number[], seed: number, requiresGrad = false): Tensor => {
  const r = rng(seed);
  return eddy.tensor(Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => r() * 2 - 1), shape, { requiresGrad });
};

describe('Linear', () => {
  it('computes x·Wᵀ + b over the last axis of any rank', () => {
    const lin = new eddy.Linear({ inFeatures: 3, outFeatures: 2 });
    lin.loadStateDict({ weight: [[1, 2, 3], [4, 5, 6]], bias: [0.5, -0.5] });
    const y = lin.forward(eddy.tensor([[[1, 0, 1], [0, 1, 0]]]));
    assert.deepStrictEqual(y.shape, [1, 2, 2]);
    assert.deepStrictEqual(y.toArray(), [[[4.5, 9.5], [2.5, 4.5]]]);
    assert.deepStrictEqual(Object.keys(lin.stateDict()), ['weight', 'bias']);
    assert.deepStrictEqual(new eddy.Linear({ inFeatures: 3, outFeatures: 2, bias: false }).namedParameters().map(([n]) => n), ['weight']);
  });

  it('initializes from U(-1/sqrt(in), 1/sqrt(in)) like PyTorch', () => {
    const lin = new eddy.Linear({ inFeatures: 16, outFeatures: 64 });
    for (const p of lin.parameters()) assert.ok(p.data.data.every((v) => Math.abs(v) <= 0.25));
    assert.ok(Math.max(...lin.weight.data.data) > 0.2);
  });

  it('gradients match finite differences', () => {
    const lin = new eddy.Linear({ inFeatures: 4, outFeatures: 3 });
    const x = randomTensor([2, 5, 4], 1, true);
    const worst = moduleGradcheck(() => lin.forward(x), [x, lin.weight.data, lin.bias!.data]);
    console.log(`      max scaled difference ${worst.toExponential(1)}`);
  });

  it('rejects inputs with the wrong last axis', () => {
    const lin = new eddy.Linear({ inFeatures: 4, outFeatures: 3 });
    assert.throws(() => lin.forward(randomTensor([2, 5], 1)), (e: unknown) => e instanceof ShapeError && e.message === 'Expected input of shape [..., 4] for Linear(inFeatures=4, outFeatures=3) but received [2, 5]');
    assert.strictEqual(eddy.Dense, eddy.Linear);
  });
});

describe('Embedding', () => {
  it('looks up rows for indices of any shape, with a zero padding row', () => {
    const emb = new eddy.Embedding({ numEmbeddings: 5, embeddingDim: 2, paddingIdx: 0 });
    assert.deepStrictEqual(Array.from(emb.weight.data.data.subarray(0, 2)), [0, 0]);
    emb.loadStateDict({ weight: [[0, 0], [1, 1], [2, 2], [3, 3], [4, 4]] });
    const y = emb.forward(eddy.tensor([[1, 4], [0, 2]]));
    assert.deepStrictEqual(y.toArray(), [[[1, 1], [4, 4]], [[0, 0], [2, 2]]]);
    assert.deepStrictEqual(emb.forward(Int32Array.of(3)).toArray(), [[3, 3]]);
  });

  it('accumulates gradients per index and none for the padding index', () => {
    const emb = new eddy.Embedding({ numEmbeddings: 4, embeddingDim: 3, paddingIdx: 2 });
    const out = emb.forward([1, 2, 1, 3]);
    eddy.backward([out], [eddy.tensor(Float32Array.from({ length: 12 }, (_, i) => i), [4, 3])]);
    assert.deepStrictEqual(emb.weight.grad!.toArray(), [[0, 0, 0], [6, 8, 10], [0, 0, 0], [9, 10, 11]]);
  });

  it('rejects out-of-range indices, naming the position', () => {
    const emb = new eddy.Embedding({ numEmbeddings: 4, embeddingDim: 3 });
    assert.throws(() => emb.forward([1, 4]), (e: unknown) => e instanceof ValidationError && e.message === 'Expected indices between 0 and 3 for Embedding(numEmbeddings=4, embeddingDim=3) but received 4 of type number at position 1');
    assert.throws(() => emb.forward([0.5]), /received 0.5 of type number at position 0/);
  });
});

describe('Dropout', () => {
  it('zeroes about p of the elements and rescales the rest in training, nothing in eval', () => {
    const drop = new eddy.Dropout({ p: 0.25, generator: new eddy.Generator(5) });
    const x = eddy.tensor(new Float32Array(20000).fill(1), [20000]);
    const y = drop.forward(x).data;
    const zeros = y.filter((v) => v === 0).length;
    assert.ok(Math.abs(zeros / y.length - 0.25) < 0.02, `fraction zeroed ${zeros / y.length}`);
    assert.ok(y.every((v) => v === 0 || Math.abs(v - 1 / 0.75) < 1e-6));
    drop.eval();
    assert.strictEqual(drop.forward(x), x);
  });

  it('back-propagates through the mask', () => {
    const drop = new eddy.Dropout({ p: 0.5 });
    const x = eddy.tensor(new Float32Array(100).fill(1), [100], { requiresGrad: true });
    const y = drop.forward(x);
    y.sum().backward();
    assert.deepStrictEqual(Array.from(x.grad!.data), Array.from(y.data));
  });
});

describe('LayerNorm', () => {
  it('normalizes the last axis with a biased variance', () => {
    const ln = new eddy.LayerNorm({ normalizedShape: 4, eps: 0 });
    const y = ln.forward(eddy.tensor([[1, 2, 3, 4]]));
    const sd = Math.sqrt(1.25);
    assertClose(y.data, [-1.5 / sd, -0.5 / sd, 0.5 / sd, 1.5 / sd], 1e-6);
  });

  it('gradients match finite differences for input, weight and bias', () => {
    const ln = new eddy.LayerNorm({ normalizedShape: [2, 3] });
    ln.weight!.data.data.set([0.5, 1, 1.5, 2, -1, 0.3]);
    ln.bias!.data.data.set([0.1, 0, -0.1, 0.2, 0, 0]);
    const x = randomTensor([4, 2, 3], 3, true);
    const worst = moduleGradcheck(() => ln.forward(x), [x, ln.weight!.data, ln.bias!.data]);
    console.log(`      max scaled difference ${worst.toExponential(1)}`);
  });

  it('rejects inputs whose trailing shape differs', () => {
    const ln = new eddy.LayerNorm({ normalizedShape: [2, 3] });
    assert.throws(() => ln.forward(randomTensor([4, 3, 2], 1)), (e: unknown) => e instanceof ShapeError && e.message === 'Expected input of shape [..., 2, 3] for LayerNorm(normalizedShape=[2, 3]) but received [4, 3, 2]');
  });
});

describe('softmax, logSoftmax, gelu', () => {
  it('softmax rows sum to one and logSoftmax is its log, along any axis', () => {
    const x = randomTensor([3, 4, 5], 4);
    for (const dim of [0, 1, -1]) {
      const s = eddy.softmax(x, dim);
      const l = eddy.logSoftmax(x, dim);
      assertClose(l.data, Array.from(s.data, Math.log), 1e-6);
      const sums = eddy.sum(s, dim).data;
      assertClose(sums, new Array(sums.length).fill(1), 1e-6);
    }
    assertClose(eddy.softmax(eddy.tensor([1000, 1000])).data, [0.5, 0.5], 0, 'stable for large inputs');
  });

  it('gelu matches x·Φ(x)', () => {
    const y = eddy.gelu(eddy.tensor([-3, -1, 0, 0.5, 2]));
    assertClose(y.data, [-0.0040496, -0.1586553, 0, 0.3457312, 1.9544997], 1e-6);
  });

  it('gradients match finite differences', () => {
    for (const [name, fn] of [
      ['softmax dim 1', (t: Tensor) => eddy.softmax(t, 1)],
      ['logSoftmax dim -1', (t: Tensor) => eddy.logSoftmax(t, -1)],
      ['gelu', (t: Tensor) => eddy.gelu(t)],
      ['GELU module', (t: Tensor) => new eddy.GELU().forward(t)],
    ] as const) {
      const [worst] = gradcheck(fn, [randomTensor([3, 4, 2], 8)]);
      console.log(`      ${name}: max scaled difference ${worst.toExponential(1)}`);
    }
  });
});
