import * as assert from 'assert';
import * as eddy from '../../lib';

const { sampleLogits } = eddy.text;
const logits = [0, 1, 2, 3, 4];
const softmax = (z: number[]): number[] => {
  const e = z.map(Math.exp);
  const s = e.reduce((a, b) => a + b);
  return e.map((v) => v / s);
};

function histogram(n: number, opts: eddy.text.SamplingOptions): number[] {
  const counts = new Array<number>(logits.length).fill(0);
  for (let i = 0; i < n; i++) counts[sampleLogits(logits, opts)]++;
  return counts.map((c) => c / n);
}

describe('text sampling', () => {
  it('draws from the softmax of the logits', () => {
    const freq = histogram(20000, { generator: new eddy.Generator(1) });
    const p = softmax(logits);
    freq.forEach((f, i) => assert.ok(Math.abs(f - p[i]) < 0.015, `token ${i}: ${f} vs ${p[i]}`));
  });

  it('topK keeps only the k most likely tokens, renormalized', () => {
    const freq = histogram(5000, { topK: 2, generator: new eddy.Generator(2) });
    assert.deepStrictEqual(freq.slice(0, 3), [0, 0, 0]);
    const p4 = Math.exp(4) / (Math.exp(3) + Math.exp(4));
    assert.ok(Math.abs(freq[4] - p4) < 0.02, `${freq[4]} vs ${p4}`);
  });

  it('topP keeps the smallest most likely set with probability ≥ p', () => {
    // Probabilities ≈ .012 .032 .086 .234 .636: 0.8 needs {4, 3}; 0.5 needs {4} alone.
    const freq = histogram(3000, { topP: 0.8, generator: new eddy.Generator(3) });
    assert.deepStrictEqual(freq.slice(0, 3), [0, 0, 0]);
    assert.ok(freq[3] > 0.2 && freq[4] > 0.6);
    assert.deepStrictEqual(histogram(200, { topP: 0.5, generator: new eddy.Generator(3) }), [0, 0, 0, 0, 1]);
  });

  it('temperature 0 is greedy; suppressed ids are never drawn; a seed reproduces draws', () => {
    assert.deepStrictEqual(histogram(50, { temperature: 0 }), [0, 0, 0, 0, 1]);
    assert.strictEqual(histogram(500, { suppress: [4], temperature: 0.5, generator: new eddy.Generator(4) })[4], 0);
    const a = histogram(100, { temperature: 2, generator: new eddy.Generator(9) });
    const b = histogram(100, { temperature: 2, generator: new eddy.Generator(9) });
    assert.deepStrictEqual(a, b);
  });

  it('checks its options', () => {
    assert.throws(() => sampleLogits(logits, { topP: 0 }), { name: 'ValidationError', message: 'Expected number in (0, 1] for topP but received 0 of type number' });
    assert.throws(() => sampleLogits(logits, { topK: 0 }), { name: 'ValidationError', message: 'Expected positive integer for topK but received 0 of type number' });
    assert.throws(() => sampleLogits(logits, { temperature: -1 }), { name: 'ValidationError', message: 'Expected number >= 0 for temperature but received -1 of type number' });
  });
});
