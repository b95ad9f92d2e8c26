import * as assert from 'assert';
import { ShapeError, ValidationError, metrics } from '../../lib';

describe('metrics: editDistance, cer, wer', () => {
  it('counts edits (worked by hand)', () => {
    assert.strictEqual(metrics.editDistance('kitten', 'sitting'), 3); // k→s, e→i, +g
    assert.strictEqual(metrics.editDistance('', 'abc'), 3);
    assert.strictEqual(metrics.editDistance('abc', ''), 3);
    assert.strictEqual(metrics.editDistance('flaw', 'lawn'), 2); // -f, +n
    assert.strictEqual(metrics.editDistance([1, 2, 3], [1, 3]), 1);
    assert.strictEqual(metrics.editDistance('ab', 'ba'), 2); // a swap is two edits in Levenshtein distance
  });

  it('pools character and word errors over a corpus', () => {
    // 3 edits / 7 reference characters, then (3 + 0) / (7 + 2).
    assert.strictEqual(metrics.cer('kitten', 'sitting'), 3 / 7);
    assert.strictEqual(metrics.cer(['kitten', 'ab'], ['sitting', 'ab']), 3 / 9);
    assert.strictEqual(metrics.cer([1, 2], [1, 2, 3]), 1 / 3);
    assert.strictEqual(metrics.cer([[1, 2], []], [[1, 2, 3], [4]]), 2 / 4);
    assert.strictEqual(metrics.cer([], [5, 6]), 1);
    // "the cat sat" vs "the cat sat down": 1 deletion / 4 words; "a b" vs "a c": 1 / 2 → 2 / 6.
    assert.strictEqual(metrics.wer('the cat sat', 'the cat sat down'), 1 / 4);
    assert.strictEqual(metrics.wer(['the cat sat', ' a  b '], ['the cat sat down', 'a c']), 2 / 6);
  });

  it('checks its arguments', () => {
    assert.throws(() => metrics.cer(['a'], ['a', 'b']), (e: Error) => e instanceof ShapeError && /Expected as many hypotheses as references \(2\) but received 1/.test(e.message));
    assert.throws(() => metrics.cer([''], ['']), (e: Error) => e instanceof ValidationError && /only empty references/.test(e.message));
    assert.throws(() => metrics.wer(['a'], [3 as never]), /Expected a string for references\[0\] but received 3 of type number/);
    assert.throws(() => metrics.editDistance(5 as never, 'a'), /Expected a string or an array of labels for a but received 5 of type number/);
  });
});
