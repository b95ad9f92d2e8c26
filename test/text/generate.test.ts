import * as assert from 'assert';
import * as eddy from '../../lib';
import { Tensor } from '../../lib';

const { CharTokenizer, WordTokenizer, generate } = eddy.text;
const tokenizer = CharTokenizer.fromTexts('the quick brown fox jumps over the lazy dog');

function charModel(opts: { stateful?: boolean; embedding?: boolean } = {}) {
  eddy.manualSeed(11);
  const V = tokenizer.vocabSize;
  const first = opts.embedding === false ? [] : [new eddy.Embedding({ numEmbeddings: V, embeddingDim: 6 })];
  const lstm = new eddy.LSTM({ inputSize: opts.embedding === false ? V : 6, hiddenSize: 8, numLayers: 2, stateful: opts.stateful ?? false });
  const model = eddy.sequential([...first, lstm, new eddy.Linear({ inFeatures: 8, outFeatures: V })]);
  // Large weights make the distributions peaked, so the tests see real choices.
  for (const p of model.parameters()) p.data.data.forEach((v, i, a) => (a[i] = v * 3));
  return { model, lstm };
}

async function collect(it: AsyncIterable<string>): Promise<string[]> {
  const out: string[] = [];
  for await (const s of it) out.push(s);
  return out;
}

/** Greedy decoding the slow way: the whole text through the model for every new token. */
function greedyByRerunning(model: eddy.Sequential, prompt: string, length: number): string {
  const ids = Array.from(tokenizer.encode(prompt));
  let out = '';
  for (let k = 0; k < length; k++) {
    const logits = eddy.noGrad(() => model.forward(new Tensor(Float32Array.from(ids), [1, ids.length])));
    const last = logits.select(1, ids.length - 1).toFloat32Array();
    let best = 2; // padding and unknown are not drawn
    for (let i = 3; i < last.length; i++) if (last[i] > last[best]) best = i;
    ids.push(best);
    out += tokenizer.tokenText(best);
  }
  return out;
}

describe('text.generate', () => {
  it('streams tokens that equal re-running the whole text, with the prompt run once', async () => {
    const { model, lstm } = charModel();
    const calls: number[] = [];
    const forward = lstm.forward.bind(lstm);
    const forwardAsync = lstm.forwardAsync.bind(lstm);
    lstm.forward = (x, s) => (calls.push(x.shape[1]), forward(x, s));
    lstm.forwardAsync = (x, s) => (calls.push(x.shape[1]), forwardAsync(x, s));
    const pieces = await collect(generate(model, { tokenizer, prompt: 'the quick', length: 12, temperature: 0 }));
    assert.strictEqual(pieces.length, 12);
    assert.ok(pieces.every((p) => p.length === 1));
    // One call over the 9 prompt characters, then one single-step call per further token.
    assert.deepStrictEqual(calls, [9, ...new Array<number>(11).fill(1)]);
    lstm.forward = forward;
    lstm.forwardAsync = forwardAsync;
    assert.strictEqual(pieces.join(''), greedyByRerunning(model, 'the quick', 12));
  });

  it('is reproducible with a seed, and the seed matters', async () => {
    const { model } = charModel();
    const run = (seed: number) => collect(generate(model, { tokenizer, prompt: 'fox', length: 40, temperature: 1.5, seed }));
    const a = (await run(1)).join('');
    assert.strictEqual((await run(1)).join(''), a);
    assert.notStrictEqual((await run(2)).join(''), a);
  });

  it('restricts tokens to the topK most likely; topK 1 is greedy', async () => {
    const { model } = charModel();
    const greedy = (await collect(generate(model, { tokenizer, prompt: 'lazy', length: 15, temperature: 0 }))).join('');
    const top1 = (await collect(generate(model, { tokenizer, prompt: 'lazy', length: 15, topK: 1, temperature: 3, seed: 5 }))).join('');
    assert.strictEqual(top1, greedy);
    const nucleus = (await collect(generate(model, { tokenizer, prompt: 'lazy', length: 15, topP: 1e-6, temperature: 3, seed: 5 }))).join('');
    assert.strictEqual(nucleus, greedy);
  });

  it('ignores and replaces the carried states of stateful layers, and feeds one-hot ids without an Embedding', async () => {
    const { model: plain } = charModel();
    const { model: stateful } = charModel({ stateful: true });
    stateful.forward(new Tensor(Float32Array.of(3, 4, 5), [1, 3])); // leaves carried states behind
    const a = (await collect(generate(plain, { tokenizer, prompt: 'over', length: 10, temperature: 0 }))).join('');
    const b = (await collect(generate(stateful, { tokenizer, prompt: 'over', length: 10, temperature: 0 }))).join('');
    assert.strictEqual(b, a);
    const { model: onehot } = charModel({ embedding: false });
    assert.strictEqual((await collect(generate(onehot, { tokenizer, prompt: 'over', length: 5 }))).length, 5);
  });

  it('puts the separator before word tokens and restores training mode', async () => {
    const words = WordTokenizer.fromTexts('one two three four');
    eddy.manualSeed(3);
    const model = eddy.sequential([new eddy.Embedding({ numEmbeddings: words.vocabSize, embeddingDim: 4 }), new eddy.GRU({ inputSize: 4, hiddenSize: 4 }), new eddy.Linear({ inFeatures: 4, outFeatures: words.vocabSize })]);
    assert.strictEqual(model.training, true);
    const pieces = await collect(generate(model, { tokenizer: words, prompt: 'one two', length: 3, seed: 1 }));
    assert.ok(pieces.every((p) => /^ (one|two|three|four)$/.test(p)), JSON.stringify(pieces));
    assert.strictEqual(model.training, true);
  });

  it('checks the model and options when called', () => {
    const { model } = charModel();
    assert.throws(() => generate(model, { tokenizer, prompt: '', length: 3 }), { name: 'ValidationError', message: 'Expected a prompt with at least one token for generate but received ""' });
    const bi = eddy.sequential([new eddy.Embedding({ numEmbeddings: tokenizer.vocabSize, embeddingDim: 4 }), new eddy.GRU({ inputSize: 4, hiddenSize: 4, bidirectional: true })]);
    assert.throws(() => generate(bi, { tokenizer, prompt: 'a', length: 3 }), {
      name: 'ValidationError',
      message: 'Expected unidirectional recurrent layers for generation (a bidirectional layer reads the future) but received layers[1] GRU(inputSize=4, hiddenSize=4, bidirectional=true)',
    });
    const pooled = eddy.sequential([new eddy.Embedding({ numEmbeddings: tokenizer.vocabSize, embeddingDim: 4 }), new eddy.SequencePooling({ mode: 'last' })]);
    assert.throws(() => generate(pooled, { tokenizer, prompt: 'a', length: 3 }), {
      name: 'ValidationError',
      message: "Expected a recurrent layer or a per-step layer (Linear, Dropout, LayerNorm, an activation) for layers[1] of the model but received SequencePooling(mode='last')",
    });
    assert.throws(() => generate(model, { tokenizer: {} as never, prompt: 'a', length: 3 }), { name: 'ValidationError', message: 'Expected a CharTokenizer or WordTokenizer for tokenizer but received an object' });
  });

  it('reports a model whose outputs do not match the vocabulary', async () => {
    eddy.manualSeed(1);
    const wrong = eddy.sequential([new eddy.Embedding({ numEmbeddings: tokenizer.vocabSize, embeddingDim: 4 }), new eddy.GRU({ inputSize: 4, hiddenSize: 4 }), new eddy.Linear({ inFeatures: 4, outFeatures: 5 })]);
    await assert.rejects(collect(generate(wrong, { tokenizer, prompt: 'ab', length: 2 })), {
      name: 'ShapeError',
      message: `Expected model outputs of shape [1, 2, ${tokenizer.vocabSize}] (logits over the tokenizer's vocabulary) but received [1, 2, 5]`,
    });
  });
});
