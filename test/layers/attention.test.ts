import * as assert from 'assert';
import * as eddy from '../../lib';
import { ShapeError, Tensor, ValidationError } from '../../lib';
import { assertClose } from '../helpers';
import { moduleGradcheck, randomTensor, throwsExactly } from './module-gradcheck';

type Vec = number[];
type Score = (q: Vec, k: Vec) => number;

/** Attention in float64 from the definitions: masked softmax of scores, weighted sum of values. */
function reference(score: Score, query: Tensor, keys: Tensor, values: Tensor, lengths?: number[]): { weights: number[]; context: number[] } {
  const qs = query.rank === 2 ? (query.toArray() as Vec[]).map((row) => [row]) : (query.toArray() as Vec[][]);
  const ks = keys.toArray() as Vec[][];
  const vs = values.toArray() as Vec[][];
  const weights: number[] = [], context: number[] = [];
  qs.forEach((rows, b) => {
    const L = lengths ? lengths[b] : ks[b].length;
    for (const q of rows) {
      const s = ks[b].map((k, t) => (t < L ? score(q, k) : -Infinity));
      const max = Math.max(...s);
      const e = s.map((v) => Math.exp(v - max));
      const z = e.reduce((a, c) => a + c, 0);
      const w = e.map((v) => v / z);
      weights.push(...w);
      for (let d = 0; d < vs[b][0].length; d++) context.push(w.reduce((a, wt, t) => a + wt * vs[b][t][d], 0));
    }
  });
  return { weights, context };
}

const dot = (a: Vec, b: Vec): number => a.reduce((s, v, i) => s + v * b[i], 0);
const matvec = (m: Tensor, x: Vec): Vec => (m.toArray() as Vec[]).map((row) => dot(row, x));

function additiveScore(att: eddy.AdditiveAttention): Score {
  const v = (att.v.weight.data.toArray() as Vec[])[0];
  const b = att.keyProj.bias ? (att.keyProj.bias.data.toArray() as Vec) : v.map(() => 0);
  return (q, k) => {
    const qp = matvec(att.queryProj.weight.data, q), kp = matvec(att.keyProj.weight.data, k);
    return dot(v, qp.map((x, h) => Math.tanh(x + kp[h] + b[h])));
  };
}

describe('attention', () => {
  it('dot: a hand-computed case, with the padded key weighted exactly 0', () => {
    const att = new eddy.DotAttention();
    const { context, weights } = att.forward(eddy.tensor([[1, 0]]), eddy.tensor([[[1, 0], [0, 1], [5, 5]]]), { lengths: [2] });
    const e = Math.E;
    assertClose(weights.data, [e / (1 + e), 1 / (1 + e), 0], 1e-7);
    assert.strictEqual(weights.data[2], 0);
    assertClose(context.data, [e / (1 + e), 1 / (1 + e)], 1e-7);
    assert.deepStrictEqual([weights.shape, context.shape], [[1, 3], [1, 2]]);
  });

  it('additive: a hand-computed case', () => {
    const att = new eddy.AdditiveAttention({ querySize: 1, keySize: 1, hiddenSize: 1 });
    att.loadStateDict({ 'query_proj.weight': [[1]], 'key_proj.weight': [[1]], 'key_proj.bias': [0], 'v.weight': [[2]] });
    const { context, weights } = att.forward(eddy.tensor([[0.5]]), eddy.tensor([[[0], [1]]]), eddy.tensor([[[10], [20]]]));
    const s0 = 2 * Math.tanh(0.5), s1 = 2 * Math.tanh(1.5);
    const w0 = 1 / (1 + Math.exp(s1 - s0));
    assertClose(weights.data, [w0, 1 - w0], 1e-6);
    assertClose(context.data, [10 * w0 + 20 * (1 - w0)], 1e-6);
  });

  it('all three match a float64 reference on random inputs, 3-D and 2-D queries, with lengths', () => {
    const lengths = [5, 2, 3];
    const keys = randomTensor([3, 5, 4], 2);
    const values = randomTensor([3, 5, 6], 3);
    const generator = new eddy.Generator(3);
    const additive = new eddy.AdditiveAttention({ querySize: 3, keySize: 4, hiddenSize: 7, generator });
    const general = new eddy.GeneralAttention({ querySize: 3, keySize: 4, generator });
    const cases: [string, { forward: eddy.DotAttention['forward'] }, number, Score][] = [
      ['additive', additive, 3, additiveScore(additive)],
      ['general', general, 3, (q, k) => dot(matvec(general.queryProj.weight.data, q), k)],
      ['dot', new eddy.DotAttention(), 4, dot],
      ['scaled dot', new eddy.DotAttention({ scale: true }), 4, (q, k) => dot(q, k) / 2],
    ];
    let worst = 0;
    for (const [name, att, qSize, score] of cases) {
      for (const query of [randomTensor([3, 2, qSize], 4), randomTensor([3, qSize], 5)]) {
        const { context, weights } = att.forward(query, keys, values, { lengths });
        const ref = reference(score, query, keys, values, lengths);
        const Tq = query.rank === 3 ? [2] : [];
        assert.deepStrictEqual(weights.shape, [3, ...Tq, 5], name);
        assert.deepStrictEqual(context.shape, [3, ...Tq, 6], name);
        worst = Math.max(worst, assertClose(weights.data, ref.weights, 1e-6, `${name} weights`), assertClose(context.data, ref.context, 1e-6, `${name} context`));
        // Padded keys get exactly zero weight; every row sums to one.
        const w = weights.data;
        for (let r = 0; r < w.length / 5; r++) {
          const L = lengths[Math.floor(r / (query.rank === 3 ? 2 : 1))];
          for (let t = L; t < 5; t++) assert.strictEqual(w[r * 5 + t], 0, `${name} row ${r} key ${t}`);
          assert.ok(Math.abs(w.subarray(r * 5, r * 5 + 5).reduce((a, c) => a + c, 0) - 1) < 1e-6);
        }
      }
    }
    console.log(`      max scaled difference ${worst.toExponential(2)} (tolerance 1e-6)`);
  });

  it('values default to the keys, and options may come third', () => {
    const att = new eddy.GeneralAttention({ querySize: 2, keySize: 3 });
    const q = randomTensor([2, 4, 2], 6), k = randomTensor([2, 5, 3], 7);
    const a = att.forward(q, k, { lengths: [3, 5] });
    const b = att.forward(q, k, k, { lengths: [3, 5] });
    assert.deepStrictEqual(a.context.toArray(), b.context.toArray());
    assert.deepStrictEqual(a.weights.toArray(), b.weights.toArray());
  });

  it('names parameters like PyTorch modules', () => {
    const names = (m: eddy.Module): string[] => m.namedParameters().map(([n, p]) => `${n} ${p.shape.join('x')}`);
    assert.deepStrictEqual(names(new eddy.AdditiveAttention({ querySize: 3, keySize: 4, hiddenSize: 5 })), ['query_proj.weight 5x3', 'key_proj.weight 5x4', 'key_proj.bias 5', 'v.weight 1x5']);
    assert.deepStrictEqual(names(new eddy.AdditiveAttention({ querySize: 3, keySize: 4, hiddenSize: 5, bias: false })), ['query_proj.weight 5x3', 'key_proj.weight 5x4', 'v.weight 1x5']);
    assert.deepStrictEqual(names(new eddy.GeneralAttention({ querySize: 3, keySize: 4 })), ['query_proj.weight 4x3']);
    assert.deepStrictEqual(names(new eddy.DotAttention()), []);
    const att = new eddy.AdditiveAttention({ querySize: 3, keySize: 4, hiddenSize: 5 });
    assert.deepStrictEqual([att.querySize, att.keySize, att.hiddenSize, new eddy.DotAttention().keySize], [3, 4, 5, null]);
  });

  it('gradients match finite differences for query, keys, values and every weight', () => {
    const generator = new eddy.Generator(4);
    const additive = new eddy.AdditiveAttention({ querySize: 3, keySize: 4, hiddenSize: 5, generator });
    const general = new eddy.GeneralAttention({ querySize: 3, keySize: 4, generator });
    const cases: [string, eddy.AdditiveAttention | eddy.GeneralAttention | eddy.DotAttention, number][] = [
      ['additive', additive, 3],
      ['general', general, 3],
      ['scaled dot', new eddy.DotAttention({ scale: true }), 4],
    ];
    for (const [name, att, qSize] of cases) {
      for (const qShape of [[2, 3, qSize], [2, qSize]]) {
        const q = randomTensor(qShape, 8, true), k = randomTensor([2, 4, 4], 9, true), v = randomTensor([2, 4, 2], 10, true);
        const params = att.parameters().map((p) => p.data);
        // Weights and context both, so both outputs' gradients are checked.
        const run = (): Tensor => {
          const { context, weights } = att.forward(q, k, v, { lengths: [4, 2] });
          return eddy.concat([context.reshape([-1]), weights.reshape([-1])]);
        };
        const worst = moduleGradcheck(run, [q, k, v, ...params]);
        console.log(`      ${name}, query ${JSON.stringify(qShape)}: max scaled difference ${worst.toExponential(1)}`);
        // Masked keys and values get no gradient at all.
        for (const t of [k, v]) {
          const g = t.grad!.toArray() as number[][][];
          assert.ok(g[1].slice(2).every((row) => row.every((x) => x === 0)), `${name}: padded steps have zero gradient`);
        }
      }
    }
  });

  it('rejects mismatched shapes, bad lengths and options with exact messages', () => {
    const att = new eddy.AdditiveAttention({ querySize: 3, keySize: 4, hiddenSize: 5 });
    const name = 'AdditiveAttention(querySize=3, keySize=4, hiddenSize=5)';
    const k = eddy.zeros([2, 6, 4]);
    throwsExactly(() => att.forward(eddy.zeros([2, 2]), k), ShapeError, `Expected query of shape [batch, 3] or [batch, time, 3] for ${name} but received [2, 2]`);
    throwsExactly(() => att.forward(eddy.zeros([2, 1, 1, 3]), k), ShapeError, `Expected query of shape [batch, 3] or [batch, time, 3] for ${name} but received [2, 1, 1, 3]`);
    throwsExactly(() => att.forward(eddy.zeros([2, 3]), eddy.zeros([3, 6, 4])), ShapeError, `Expected keys of shape [2, time, 4] for ${name} but received [3, 6, 4]`);
    throwsExactly(() => att.forward(eddy.zeros([2, 3]), eddy.zeros([2, 6, 3])), ShapeError, `Expected keys of shape [2, time, 4] for ${name} but received [2, 6, 3]`);
    throwsExactly(() => att.forward(eddy.zeros([2, 3]), k, eddy.zeros([2, 5, 7])), ShapeError, `Expected values of shape [2, 6, features] for ${name} but received [2, 5, 7]`);
    throwsExactly(() => att.forward(eddy.zeros([2, 3]), k, { lengths: [6, 7] }), ValidationError, 'Expected lengths between 1 and 6 (the number of time steps) but received lengths[1] = 7');
    throwsExactly(() => att.forward(eddy.zeros([2, 3]), k, { lengths: [1, 2] } as never, {}), ValidationError, 'Expected Tensor for values but received an object');
    throwsExactly(() => att.forward([1] as never, k), ValidationError, 'Expected Tensor for query but received an array of length 1');
    throwsExactly(() => new eddy.DotAttention().forward(eddy.zeros([2, 3]), k), ShapeError, 'Expected keys of shape [2, time, 3] for DotAttention() but received [2, 6, 4]');
    throwsExactly(() => new eddy.DotAttention().forward(eddy.zeros([2]), k), ShapeError, 'Expected query of shape [batch, features] or [batch, time, features] for DotAttention() but received [2]');
    throwsExactly(() => new eddy.AdditiveAttention({ querySize: 3, keySize: 0, hiddenSize: 5 }), ValidationError, 'Expected positive integer for keySize but received 0 of type number');
    throwsExactly(() => new eddy.DotAttention({ scale: 1 as never }), ValidationError, 'Expected boolean for scale but received 1 of type number');
    throwsExactly(() => new eddy.GeneralAttention({ querySize: 3, keySize: 4, generator: {} as never }), ValidationError, 'Expected an eddy Generator for generator but received an object');
    assert.strictEqual(new eddy.DotAttention({ scale: true }).toString(), 'DotAttention(scale=true)');
    assert.strictEqual(new eddy.GeneralAttention({ querySize: 3, keySize: 4 }).toString(), 'GeneralAttention(querySize=3, keySize=4)');
  });
});
