import * as assert from 'assert';
import { mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';
import * as eddy from '../../lib';

const { LabelMap, classWeights, parseLabeledJsonl, parseLabeledCsv, readLabeledJsonl, readLabeledCsv } = eddy.text;

describe('text classification helpers', () => {
  it('LabelMap: sorted classes, encode/decode, JSON', () => {
    const map = LabelMap.fromLabels(['spam', 'ham', 'spam', 'eggs']);
    assert.deepStrictEqual(map.classes, ['eggs', 'ham', 'spam']);
    assert.deepStrictEqual(Array.from(map.encode(['spam', 'eggs'])), [2, 0]);
    assert.deepStrictEqual(map.decode([1, 2]), ['ham', 'spam']);
    assert.deepStrictEqual(LabelMap.fromJSON(JSON.parse(JSON.stringify(map))).classes, map.classes);
    assert.throws(() => map.encode(['ham', 'bacon']), { name: 'ValidationError', message: 'Expected one of the 3 known labels ("eggs", "ham", "spam") for labels[1] but received "bacon" of type string' });
    assert.throws(() => LabelMap.fromJSON({ type: 'LabelMap', classes: ['a', 'a'] }), { name: 'FormatError', message: 'Expected a non-empty array of distinct strings for json.classes but received an array of length 2' });
  });

  it("classWeights equal sklearn's compute_class_weight('balanced')", () => {
    // sklearn: n_samples / (n_classes * bincount(y)) = 6 / (3 * [3, 2, 1]).
    assert.deepStrictEqual(Array.from(classWeights([0, 0, 0, 1, 1, 2])), [Math.fround(2 / 3), 1, 2]);
    assert.throws(() => classWeights([0, 2]), { name: 'ValidationError', message: 'Expected at least one example of every class for classWeights but received none of class 1 (of 3)' });
    assert.throws(() => classWeights([0, 1], { numClasses: 1 }), { name: 'ValidationError', message: 'Expected integer >= 2 (the largest label + 1) for numClasses but received 1 of type number' });
  });

  it('reads labeled JSON lines and CSV, naming the line of a bad record', async () => {
    const jsonl = '{"text": "good film", "label": "pos"}\n\n{"text": "dull", "label": 0}\n';
    assert.deepStrictEqual(parseLabeledJsonl(jsonl), { texts: ['good film', 'dull'], labels: ['pos', '0'] });
    assert.throws(() => parseLabeledJsonl('{"text": "a", "label": 1}\n{"txt": "b", "label": 1}', { source: 'r.jsonl' }), {
      name: 'FormatError',
      message: 'Expected a string for "text" at line 2 of r.jsonl but received undefined',
    });
    assert.throws(() => parseLabeledJsonl('{"text": "a"', { source: 'r.jsonl' }), (e: Error) => e.name === 'FormatError' && e.message.startsWith('Expected a JSON object at line 1 of r.jsonl but received invalid JSON ('));
    const csv = 'label,text\npos,"good, really ""good"" film"\nneg,"two\nlines"\n';
    assert.deepStrictEqual(parseLabeledCsv(csv), { texts: ['good, really "good" film', 'two\nlines'], labels: ['pos', 'neg'] });
    assert.throws(() => parseLabeledCsv('label,body\n', { source: 'r.csv' }), { name: 'FormatError', message: 'Expected a column named "text" in the header of r.csv but received "label", "body"' });

    const dir = mkdtempSync(path.join(tmpdir(), 'eddy-labels-'));
    try {
      writeFileSync(path.join(dir, 'a.jsonl'), jsonl);
      writeFileSync(path.join(dir, 'a.csv'), csv);
      assert.deepStrictEqual((await readLabeledJsonl(path.join(dir, 'a.jsonl'))).labels, ['pos', '0']);
      assert.deepStrictEqual((await readLabeledCsv(path.join(dir, 'a.csv'))).labels, ['pos', 'neg']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('turns examples into data for fit: padded ids, lengths, class indices', async () => {
    const { texts, labels } = parseLabeledJsonl('{"text": "good", "label": "pos"}\n{"text": "bad!", "label": "neg"}\n{"text": "ok", "label": "pos"}');
    const tok = eddy.text.CharTokenizer.fromTexts(texts);
    const map = LabelMap.fromLabels(labels);
    const y = map.encode(labels);
    const data = { ...tok.encodeBatch(texts), y: eddy.tensor(y) };
    assert.deepStrictEqual(data.x.shape, [3, 4]);
    eddy.manualSeed(2);
    const model = eddy.sequential([
      new eddy.Embedding({ numEmbeddings: tok.vocabSize, embeddingDim: 4 }),
      new eddy.GRU({ inputSize: 4, hiddenSize: 4 }),
      new eddy.SequencePooling({ mode: 'last' }),
      new eddy.Linear({ inFeatures: 4, outFeatures: map.size }),
    ]);
    const weight = classWeights(y);
    const h = await model.fit(data, { epochs: 2, loss: (p, t) => eddy.losses.crossEntropy(p, t, { weight }) });
    assert.strictEqual(h.history.loss.length, 2);
  });
});
