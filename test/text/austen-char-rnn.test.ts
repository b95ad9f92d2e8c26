/**
 * End to end on real text: a character-level GRU trained briefly on Jane
 * Austen's Northanger Abbey (examples/data) must code held-out text in
 * fewer bits per character than the text's own unigram entropy — the best
 * a model without context can do.
 */
import * as assert from 'assert';
import { readFileSync } from 'fs';
import * as path from 'path';
import * as eddy from '../../lib';

const TEXT = path.join(__dirname, '../../../examples/data/austen-northanger-abbey.txt');

describe('char-level language model on Austen (end to end)', () => {
  it('reaches bits per character below the unigram entropy after one short epoch, then generates', async () => {
    const started = Date.now();
    eddy.manualSeed(0);
    const text = readFileSync(TEXT, 'utf8');
    const tokenizer = eddy.text.CharTokenizer.fromTexts(text);
    const ids = tokenizer.encode(text);
    const unigram = eddy.text.unigramEntropy(ids);
    // 200k characters to train on; the last 20k (never trained on) to score.
    const train = eddy.text.nextTokenData(ids.subarray(0, 200_000), { sequenceLength: 64 });
    const heldOut = eddy.text.nextTokenData(ids.subarray(ids.length - 20_000), { sequenceLength: 64 });
    const V = tokenizer.vocabSize;
    const model = eddy.sequential([
      new eddy.Embedding({ numEmbeddings: V, embeddingDim: 32 }),
      new eddy.GRU({ inputSize: 32, hiddenSize: 128 }),
      new eddy.Linear({ inFeatures: 128, outFeatures: V }),
    ]);
    await model.fit(train, {
      epochs: 1,
      batchSize: 32,
      loss: 'crossEntropy',
      optimizer: new eddy.optim.Adam(model.parameters(), { lr: 0.01 }),
      generator: new eddy.Generator(1),
    });
    const { bitsPerCharacter } = await model.evaluate(heldOut, { loss: 'crossEntropy', metrics: ['bitsPerCharacter'], batchSize: 512 });
    let sample = '';
    for await (const piece of eddy.text.generate(model, { tokenizer, prompt: 'Catherine ', length: 80, temperature: 0.7, seed: 1 })) sample += piece;
    console.log(`      vocabulary ${V}; held-out bits/char ${bitsPerCharacter.toFixed(3)} vs unigram entropy ${unigram.toFixed(3)} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
    console.log(`      sample: ${JSON.stringify('Catherine ' + sample)}`);
    assert.ok(bitsPerCharacter < unigram - 0.5, `bits/char ${bitsPerCharacter} vs unigram entropy ${unigram}`);
    assert.strictEqual(Array.from(sample).length, 80);
  });
});
