import * as assert from 'assert';
import * as eddy from '../../lib';

const { CharTokenizer, WordTokenizer } = eddy.text;

describe('text tokenizers', () => {
  it('CharTokenizer: padding 0, unknown 1, then characters by frequency (ties in code point order)', () => {
    const tok = CharTokenizer.fromTexts(['abracadabra']);
    assert.deepStrictEqual(tok.tokens, ['<pad>', '<unk>', 'a', 'b', 'r', 'c', 'd']);
    assert.strictEqual(tok.vocabSize, 7);
    assert.deepStrictEqual(Array.from(tok.encode('bad')), [3, 2, 6]);
    assert.strictEqual(tok.decode(tok.encode('abracadabra')), 'abracadabra');
  });

  it('maps unseen characters to the unknown id and decodes it as unkToken', () => {
    const tok = CharTokenizer.fromTexts('aab', { unkToken: '?' });
    const ids = tok.encode('abz');
    assert.deepStrictEqual(Array.from(ids), [2, 3, 1]);
    assert.strictEqual(tok.decode(ids), 'ab?');
    assert.deepStrictEqual(Array.from(tok.encode(tok.decode(ids))), [2, 3, 1]);
    const angled = CharTokenizer.fromTexts('aab');
    assert.strictEqual(angled.decode(angled.encode('a€b')), 'a<unk>b');
    assert.deepStrictEqual(Array.from(angled.encode('a<unk>b')), [2, 1, 3]);
    assert.deepStrictEqual(Array.from(angled.encode('<pad><unk>ab<unk>')), [0, 1, 2, 3, 1]);
    // Padding is left out unless asked for.
    assert.strictEqual(tok.decode([2, 0, 0]), 'a');
    assert.strictEqual(tok.decode([2, 0], { skipPadding: false }), 'a<pad>');
  });

  it('applies minFrequency and maxSize (which counts the two reserved tokens)', () => {
    const text = 'aaaabbbccd';
    assert.deepStrictEqual(CharTokenizer.fromTexts(text, { minFrequency: 2 }).tokens, ['<pad>', '<unk>', 'a', 'b', 'c']);
    assert.deepStrictEqual(CharTokenizer.fromTexts(text, { maxSize: 4 }).tokens, ['<pad>', '<unk>', 'a', 'b']);
    assert.throws(() => CharTokenizer.fromTexts(text, { maxSize: 2 }), { name: 'ValidationError', message: 'Expected integer >= 3 (room for the padding and unknown tokens and one more) for maxSize but received 2 of type number' });
  });

  it('keeps astral characters whole and can lower-case', () => {
    const tok = CharTokenizer.fromTexts('Hi 🙂', { lowercase: true });
    assert.strictEqual(tok.encode('HI 🙂').length, 4);
    assert.strictEqual(tok.decode(tok.encode('HI 🙂')), 'hi 🙂');
  });

  it('WordTokenizer: words and punctuation, lower-cased, joined by spaces', () => {
    const tok = WordTokenizer.fromTexts(["It's a truth, universally acknowledged.", 'A truth!']);
    assert.deepStrictEqual(tok.split("It's a truth, universally acknowledged."), ["it's", 'a', 'truth', ',', 'universally', 'acknowledged', '.']);
    assert.deepStrictEqual(tok.tokens.slice(0, 4), ['<pad>', '<unk>', 'a', 'truth']);
    const ids = tok.encode('A truth, unknowable!');
    assert.strictEqual(ids[3], tok.unkId);
    assert.strictEqual(tok.decode(ids), 'a truth , <unk> !');
    assert.deepStrictEqual(Array.from(tok.encode(tok.decode(ids))), Array.from(ids));
    const plain = WordTokenizer.fromTexts('Hello, world', { splitPunctuation: false, lowercase: false });
    assert.deepStrictEqual(plain.split('Hello, world'), ['Hello,', 'world']);
  });

  it('encodeBatch pads with id 0 and reports lengths for the recurrent layers', () => {
    const tok = CharTokenizer.fromTexts('abc');
    const { x, lengths } = tok.encodeBatch(['ab', 'abc', ''], { maxLength: 3 });
    assert.deepStrictEqual(x.shape, [3, 3]);
    assert.deepStrictEqual(x.toArray(), [[2, 3, 0], [2, 3, 4], [0, 0, 0]]);
    assert.deepStrictEqual(Array.from(lengths), [2, 3, 1]);
    assert.deepStrictEqual(Array.from(tok.encode('abcabc', { maxLength: 4 })), [2, 3, 4, 2]);
  });

  it('round-trips through JSON and refuses malformed JSON', () => {
    const c = CharTokenizer.fromTexts('hello world', { lowercase: true });
    const c2 = CharTokenizer.fromJSON(JSON.parse(JSON.stringify(c)));
    assert.deepStrictEqual(c2.tokens, c.tokens);
    assert.strictEqual(c2.lowercase, true);
    const w = WordTokenizer.fromTexts('to be or not to be');
    assert.deepStrictEqual(WordTokenizer.fromJSON(w.toJSON()).encode('not to be'), w.encode('not to be'));
    assert.throws(() => CharTokenizer.fromJSON({ ...c.toJSON(), tokens: ['<pad>', '<unk>', 'ab'] }), { name: 'FormatError', message: 'Expected one character for json.tokens[2] but received "ab"' });
    assert.throws(() => CharTokenizer.fromJSON({ ...c.toJSON(), tokens: ['<pad>', '<unk>', 'a', 'a'] }), { name: 'FormatError', message: 'Expected distinct tokens in json.tokens but received "a" again at index 3' });
    assert.throws(() => WordTokenizer.fromJSON(c.toJSON()), { name: 'FormatError', message: 'Expected type "WordTokenizer" for json.type but received "CharTokenizer" of type string' });
    assert.throws(() => WordTokenizer.fromJSON({ ...w.toJSON(), version: 2 }), { name: 'FormatError', message: 'Expected version 1 for json.version but received 2 of type number' });
  });

  it('checks its arguments', () => {
    const tok = CharTokenizer.fromTexts('ab');
    assert.throws(() => tok.encode(3 as never), { name: 'ValidationError', message: 'Expected string for text but received 3 of type number' });
    assert.throws(() => tok.decode([0, 9]), { name: 'ValidationError', message: 'Expected token id between 0 and 3 for ids[1] but received 9 of type number' });
    assert.throws(() => CharTokenizer.fromTexts(['a', 1 as never]), { name: 'ValidationError', message: 'Expected string for texts[1] but received 1 of type number' });
  });
});
