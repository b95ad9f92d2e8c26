import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import * as eddy from '../../lib';
import { Tensor } from '../../lib';
import * as os from 'os';

const START = 0;
const END = 1;
const V = 4;

/** A small untrained encoder–decoder: GRU encoder, GRU decoder attending over it, logits over V tokens. */
function build(seed: number): eddy.seq2seq.EncoderDecoder {
  eddy.manualSeed(seed);
  const source = eddy.input({ shape: [null], name: 'source' });
  const memory = new eddy.GRU({ inputSize: 5, hiddenSize: 8 }).apply(new eddy.Embedding({ numEmbeddings: 6, embeddingDim: 5 }).apply(source));
  const encoder = eddy.model({ inputs: source, outputs: memory });
  const tokens = eddy.input({ shape: [null], name: 'tokens' });
  const keys = eddy.input({ shape: [null, 8], name: 'memory' });
  const queries = new eddy.GRU({ inputSize: 5, hiddenSize: 8 }).apply(new eddy.Embedding({ numEmbeddings: V, embeddingDim: 5 }).apply(tokens));
  const context = new eddy.DotAttention().apply([queries, keys]);
  const logits = new eddy.Linear({ inFeatures: 16, outFeatures: V }).apply(new eddy.Concatenate().apply([queries, context]));
  const decoder = eddy.model({ inputs: [tokens, keys], outputs: logits });
  // Larger weights than the initial ones make the token choices clear-cut (no near ties).
  const model = eddy.seq2seq.encoderDecoder({ encoder, decoder });
  for (const p of model.parameters()) p.data.data.forEach((v, i, a) => (a[i] = v * 4));
  return model.eval();
}

/**
 * An encoder–decoder whose decoder starts from the encoder's final state and
 * reads nothing else of it (its memory input is unused): Embedding → cell
 * encoder, Embedding → cell decoder → Linear.
 */
function bridged(seed: number, cell: 'LSTM' | 'GRU'): eddy.seq2seq.EncoderDecoder {
  eddy.manualSeed(seed);
  const Cell = cell === 'LSTM' ? eddy.LSTM : eddy.GRU;
  const src = eddy.input({ shape: [null], name: 'source' });
  const encoder = eddy.model({ inputs: src, outputs: new Cell({ inputSize: 5, hiddenSize: 8 }).apply(new eddy.Embedding({ numEmbeddings: 6, embeddingDim: 5 }).apply(src)) });
  const tokens = eddy.input({ shape: [null], name: 'tokens' });
  const memory = eddy.input({ shape: [null, 8], name: 'memory' });
  const decoded = new Cell({ inputSize: 5, hiddenSize: 8 }).apply(new eddy.Embedding({ numEmbeddings: V, embeddingDim: 5 }).apply(tokens));
  const decoder = eddy.model({ inputs: [tokens, memory], outputs: new eddy.Linear({ inFeatures: 8, outFeatures: V }).apply(decoded) });
  const model = eddy.seq2seq.encoderDecoder({ encoder, decoder, bridge: { '1': '1' } });
  for (const p of model.parameters()) p.data.data.forEach((v, i, a) => (a[i] = v * 4));
  return model;
}

const source = eddy.tensor(Float32Array.from([2, 3, 4, 5, 1, 3, 2, 0, 0, 0, 5, 5, 4, 2, 0]), [3, 5]);
const sourceLengths = Int32Array.from([5, 3, 4]);

/** Summed log-probability of `tokens` for source row `b`, by running the whole prefix through the teacher-forced model. */
function scoreByFullForward(model: eddy.seq2seq.EncoderDecoder, b: number, tokens: number[]): number {
  const src = eddy.slice(source, 0, b, b + 1).contiguous();
  const fed = eddy.tensor(Float32Array.from([START, ...tokens.slice(0, -1)]), [1, tokens.length]);
  const logits = eddy.noGrad(() => model.forward([src, fed], { lengths: [[sourceLengths[b]], null] }));
  const lp = eddy.logSoftmax(logits, -1);
  return tokens.reduce((sum, t, j) => sum + lp.get(0, j, t), 0);
}

/** What greedy decoding of source row `b` picks when every step re-runs the whole prefix through the teacher-forced model. */
function greedyByFullForward(model: eddy.seq2seq.EncoderDecoder, b: number, maxLength: number): number[] {
  const picked: number[] = [];
  const src = eddy.slice(source, 0, b, b + 1).contiguous();
  for (let j = 0; j < maxLength; j++) {
    const fed = eddy.tensor(Float32Array.from([START, ...picked]), [1, j + 1]);
    const logits = eddy.noGrad(() => model.forward([src, fed], { lengths: [[sourceLengths[b]], null] }));
    let best = 0;
    for (let t = 1; t < V; t++) if (logits.get(0, j, t) > logits.get(0, j, best)) best = t;
    picked.push(best);
  }
  return picked;
}

/** Every token sequence of at most maxLength tokens that ends with END or runs maxLength steps. */
function allSequences(maxLength: number): number[][] {
  const out: number[][] = [];
  const grow = (prefix: number[]): void => {
    for (let t = 0; t < V; t++) {
      const next = [...prefix, t];
      if (t === END || next.length === maxLength) out.push(next);
      else grow(next);
    }
  };
  grow([]);
  return out;
}

/** Beam search wide enough to keep every hypothesis (length penalty 1) finds what scoring every sequence by whole-prefix runs finds. */
async function assertWideBeamFindsBest(model: eddy.seq2seq.EncoderDecoder, maxLength: number): Promise<void> {
  const wide = await eddy.seq2seq.beamSearch(model, source, { startToken: START, endToken: END, maxLength, sourceLengths, beamWidth: 64 });
  for (let b = 0; b < 3; b++) {
    let best = { tokens: [] as number[], score: -Infinity };
    for (const seq of allSequences(maxLength)) {
      const score = scoreByFullForward(model, b, seq) / seq.length;
      if (score > best.score) best = { tokens: seq[seq.length - 1] === END ? seq.slice(0, -1) : seq, score };
    }
    assert.deepStrictEqual(wide.sequences[b], best.tokens, `beam row ${b}`);
    // float32 logits of a step differ between the one-token and the whole-prefix runs by GEMM rounding only (≤ 1e-6 each); ≤ maxLength steps.
    assert.ok(Math.abs(wide.scores[b] - best.score) <= 1e-5, `row ${b}: score ${wide.scores[b]} vs ${best.score}`);
  }
}

describe('seq2seq decoding', () => {
  it('greedy decoding with carried states picks what re-running the whole prefix picks', async () => {
    const model = build(1);
    const maxLength = 6;
    const { sequences } = await eddy.seq2seq.greedyDecode(model, source, { startToken: START, maxLength, sourceLengths });
    for (let b = 0; b < 3; b++) assert.deepStrictEqual(sequences[b], greedyByFullForward(model, b, maxLength), `row ${b}`);
  });

  it('beam search wide enough to keep everything finds the exact best of all sequences', async () => {
    const model = build(2);
    const maxLength = 4;
    for (const lengthPenalty of [0, 1]) {
      const result = await eddy.seq2seq.beamSearch(model, source, { startToken: START, endToken: END, maxLength, sourceLengths, beamWidth: 64, lengthPenalty });
      for (let b = 0; b < 3; b++) {
        let best = { tokens: [] as number[], score: -Infinity };
        for (const seq of allSequences(maxLength)) {
          const score = scoreByFullForward(model, b, seq) / seq.length ** lengthPenalty;
          if (score > best.score) best = { tokens: seq[seq.length - 1] === END ? seq.slice(0, -1) : seq, score };
        }
        assert.deepStrictEqual(result.sequences[b], best.tokens, `row ${b}, lengthPenalty ${lengthPenalty}`);
        // float32 logits of a step differ between the one-token and the whole-prefix runs by GEMM rounding only (≤ 1e-6 each); ≤ 4 steps.
        assert.ok(Math.abs(result.scores[b] - best.score) <= 1e-5, `row ${b}: score ${result.scores[b]} vs ${best.score}`);
      }
    }
  });

  it('a beam of one is greedy decoding, and hypotheses come best first', async () => {
    const model = build(3);
    const opts = { startToken: START, endToken: END, maxLength: 7, sourceLengths };
    const greedy = await eddy.seq2seq.greedyDecode(model, source, opts);
    const one = await eddy.seq2seq.beamSearch(model, source, { ...opts, beamWidth: 1, lengthPenalty: 0 });
    assert.deepStrictEqual(one.sequences, greedy.sequences);
    const four = await eddy.seq2seq.beamSearch(model, source, { ...opts, beamWidth: 4 });
    for (const list of four.hypotheses) {
      assert.ok(list.length >= 1 && list.length <= 4);
      for (let i = 1; i < list.length; i++) assert.ok(list[i - 1].score >= list[i].score);
      for (const h of list) assert.ok(!h.tokens.includes(END) && h.tokens.length <= 7);
    }
  });

  it('trains with lengths per input, saves, loads and summarizes as one model', async () => {
    const model = build(4);
    const y = eddy.tensor(Float32Array.from([2, 3, 1, 0, 3, 1, 0, 0, 2, 2, 2, 1]), [3, 4]);
    const fed = eddy.tensor(Float32Array.from([START, 2, 3, 1, START, 3, 1, 0, START, 2, 2, 2]), [3, 4]);
    const targetLengths = [3, 2, 4];
    const before = await model.evaluate({ x: [source, fed], y, lengths: [sourceLengths, targetLengths] }, { loss: 'crossEntropy' });
    await model.fit({ x: [source, fed], y, lengths: [sourceLengths, targetLengths] }, { loss: 'crossEntropy', epochs: 30, batchSize: 3, optimizer: new eddy.optim.Adam(model.parameters(), { lr: 0.05 }) });
    const after = await model.evaluate({ x: [source, fed], y, lengths: [sourceLengths, targetLengths] }, { loss: 'crossEntropy' });
    assert.ok(after.loss < before.loss / 2, `loss ${before.loss} → ${after.loss}`);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eddy-seq2seq-'));
    const file = path.join(dir, 'model.safetensors');
    await model.save(file);
    const loaded = (await eddy.load(file)) as eddy.seq2seq.EncoderDecoder;
    fs.rmSync(dir, { recursive: true });
    assert.ok(loaded instanceof eddy.seq2seq.EncoderDecoder);
    const opts = { startToken: START, endToken: END, maxLength: 5, sourceLengths };
    assert.deepStrictEqual((await eddy.seq2seq.beamSearch(loaded.eval(), source, opts)).sequences, (await eddy.seq2seq.beamSearch(model, source, opts)).sequences);
    const summary = model.summary([[5], [4]]);
    assert.match(summary, /Parameters: 838 /);
    assert.match(summary, /^EncoderDecoder\(Model\(1 input, 1 output\), Model\(2 inputs, 1 output\)\)/);
    assert.match(summary, /encoder\.1 +GRU\(inputSize=5, hiddenSize=8\) +\[batch, 5, 8\] +360\n/);
    assert.match(summary, /decoder\.4 +Linear\(inFeatures=16, outFeatures=4\) +\[batch, 4, 4\] +68\n/);
  });

  it('decodes a transformer decoder step by step from its cached keys and values, as the whole prefix would', async () => {
    eddy.manualSeed(6);
    const src = eddy.input({ shape: [null] });
    const encoder = eddy.model({ inputs: src, outputs: new eddy.LSTM({ inputSize: 5, hiddenSize: 8 }).apply(new eddy.Embedding({ numEmbeddings: 6, embeddingDim: 5 }).apply(src)) });
    const tokens = eddy.input({ shape: [null] });
    const memory = eddy.input({ shape: [null, 8] });
    const embedded = new eddy.PositionalEncoding({ dModel: 8, dropout: 0 }).apply(new eddy.Embedding({ numEmbeddings: V, embeddingDim: 8 }).apply(tokens));
    const decoded = new eddy.TransformerDecoder({ dModel: 8, nhead: 2, dimFeedforward: 16, dropout: 0 }, { numLayers: 2 }).apply([embedded, memory]);
    const decoder = eddy.model({ inputs: [tokens, memory], outputs: new eddy.Linear({ inFeatures: 8, outFeatures: V }).apply(decoded) });
    const model = eddy.seq2seq.encoderDecoder({ encoder, decoder }).eval();
    for (const p of model.parameters()) p.data.data.forEach((v, i, a) => (a[i] = v * 3));
    const maxLength = 5;
    const { sequences } = await eddy.seq2seq.greedyDecode(model, source, { startToken: START, maxLength, sourceLengths });
    for (let b = 0; b < 3; b++) assert.deepStrictEqual(sequences[b], greedyByFullForward(model, b, maxLength), `row ${b}`);
    // Beam search over every hypothesis agrees with whole-prefix scoring too.
    await assertWideBeamFindsBest(model, 3);
  });

  it('a bridged decoder starts from the encoder\'s final state: forward, gradients and decoding', async () => {
    const model = bridged(7, 'LSTM');
    const fed = eddy.tensor(Float32Array.from([START, 2, 3, 1, START, 3, 1, 0, START, 2, 2, 2]), [3, 4]);
    const weights = eddy.tensor(Float32Array.from({ length: 3 * 4 * V }, (_, i) => Math.sin(i)), [3, 4, V]);
    // The same computation spelled out: the encoder's final states handed to the decoder by hand.
    const byHand = (): Tensor => {
      const { output: memory, states } = model.encoder.forward(source, { lengths: sourceLengths, states: null }) as eddy.OutputWithStates;
      return (model.decoder.forward([fed, memory], { lengths: [null, sourceLengths], states: { '1': states['1'] } }) as eddy.OutputWithStates).output;
    };
    const gradsOf = (run: () => Tensor): { logits: Float32Array; grads: Float32Array[] } => {
      model.zeroGrad();
      const logits = run();
      eddy.sum(eddy.mul(logits, weights)).backward();
      return { logits: logits.toFloat32Array(), grads: model.encoder.parameters().map((p) => Float32Array.from(p.grad!.toFloat32Array())) };
    };
    const bridgedRun = gradsOf(() => model.forward([source, fed], { lengths: [sourceLengths, null] }));
    const handRun = gradsOf(byHand);
    // The same operations in the same order: equal bits.
    assert.deepStrictEqual(bridgedRun.logits, handRun.logits);
    assert.deepStrictEqual(bridgedRun.grads, handRun.grads);
    // The decoder ignores the memory tensor, so the encoder learns only through the bridge.
    assert.ok(bridgedRun.grads.every((g) => g.some((v) => v !== 0)));
    // Each row's state is the one at its last valid step: the row alone, cut to its length, ends in the same state.
    const { states } = eddy.noGrad(() => model.encoder.forward(source, { lengths: sourceLengths, states: null })) as eddy.OutputWithStates;
    for (let b = 0; b < 3; b++) {
      const alone = eddy.slice(eddy.slice(source, 0, b, b + 1), 1, 0, sourceLengths[b]).contiguous();
      const { states: own } = eddy.noGrad(() => model.encoder.forward(alone, { states: null })) as eddy.OutputWithStates;
      for (const key of ['h', 'c'] as const) {
        const batch = eddy.slice(states['1'][key]!, 1, b, b + 1).toFloat32Array();
        // One row against three in a batch: float32 GEMM rounding of a 5-step chain, ≤ 1e-6 per element.
        own['1'][key]!.toFloat32Array().forEach((v, i) => assert.ok(Math.abs(v - batch[i]) <= 1e-6, `row ${b} ${key}[${i}]: ${v} vs ${batch[i]}`));
      }
    }
    model.eval();
    const { sequences } = await eddy.seq2seq.greedyDecode(model, source, { startToken: START, maxLength: 6, sourceLengths });
    for (let b = 0; b < 3; b++) assert.deepStrictEqual(sequences[b], greedyByFullForward(model, b, 6), `row ${b}`);
    // Every beam of a row starts from that row's state.
    await assertWideBeamFindsBest(model, 3);
  });

  it('saves and loads a bridge with the model', async () => {
    const model = bridged(8, 'GRU').eval();
    assert.deepStrictEqual(model.toConfig().bridge, { '1': '1' });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eddy-seq2seq-'));
    const file = path.join(dir, 'model.safetensors');
    await model.save(file);
    const loaded = (await eddy.load(file)) as eddy.seq2seq.EncoderDecoder;
    fs.rmSync(dir, { recursive: true });
    assert.deepStrictEqual(loaded.bridge, { '1': '1' });
    const fed = eddy.tensor(Float32Array.from([START, 2, 3, START, 1, 1, START, 3, 2]), [3, 3]);
    const run = (m: eddy.seq2seq.EncoderDecoder): Float32Array => eddy.noGrad(() => m.forward([source, fed], { lengths: [sourceLengths, null] })).toFloat32Array();
    assert.deepStrictEqual(run(loaded.eval()), run(model));
    // Without the bridge the decoder starts from zeros and answers otherwise.
    const plain = eddy.seq2seq.encoderDecoder({ encoder: model.encoder, decoder: model.decoder }).eval();
    assert.notDeepStrictEqual(run(plain), run(model));
  });

  it('a bridge under a transformer decoder trains the whole decoder and decodes from its caches', async () => {
    eddy.manualSeed(10);
    const src = eddy.input({ shape: [null] });
    const encoder = eddy.model({ inputs: src, outputs: new eddy.LSTM({ inputSize: 5, hiddenSize: 8 }).apply(new eddy.Embedding({ numEmbeddings: 6, embeddingDim: 5 }).apply(src)) });
    const tokens = eddy.input({ shape: [null] });
    const memory = eddy.input({ shape: [null, 8] });
    const recurrent = new eddy.LSTM({ inputSize: 5, hiddenSize: 8 }).apply(new eddy.Embedding({ numEmbeddings: V, embeddingDim: 5 }).apply(tokens));
    const decoded = new eddy.TransformerDecoder({ dModel: 8, nhead: 2, dimFeedforward: 16, dropout: 0 }, { numLayers: 1 }).apply([recurrent, memory]);
    const decoder = eddy.model({ inputs: [tokens, memory], outputs: new eddy.Linear({ inFeatures: 8, outFeatures: V }).apply(decoded) });
    const model = eddy.seq2seq.encoderDecoder({ encoder, decoder, bridge: { '1': '1' } });
    for (const p of model.parameters()) p.data.data.forEach((v, i, a) => (a[i] = v * 3));
    const fed = eddy.tensor(Float32Array.from([START, 2, 3, START, 3, 1, START, 2, 2]), [3, 3]);
    model.zeroGrad();
    const logits = model.forward([source, fed], { lengths: [sourceLengths, null], training: true });
    eddy.sum(eddy.mul(logits, eddy.tensor(Float32Array.from({ length: 3 * 3 * V }, (_, i) => Math.cos(i)), [3, 3, V]))).backward();
    // A teacher-forced call runs the transformer as a whole (with gradients), not step by step from caches.
    for (const [name, p] of model.namedParameters()) assert.ok(p.grad && p.grad.toFloat32Array().some((v) => v !== 0), `no gradient for ${name}`);
    model.eval();
    const { sequences } = await eddy.seq2seq.greedyDecode(model, source, { startToken: START, maxLength: 4, sourceLengths });
    for (let b = 0; b < 3; b++) assert.deepStrictEqual(sequences[b], greedyByFullForward(model, b, 4), `row ${b}`);
  });

  it('rejects a bridge that does not fit', () => {
    const model = bridged(9, 'LSTM');
    const gru = bridged(9, 'GRU');
    const join = (bridge: unknown, decoder = model.decoder): eddy.seq2seq.EncoderDecoder => eddy.seq2seq.encoderDecoder({ encoder: model.encoder, decoder, bridge: bridge as Record<string, string> });
    assert.throws(() => join({ '3': '1' }), { name: 'ValidationError', message: "Expected bridge keyed by the decoder's recurrent layers ('1') but received '3'" });
    assert.throws(() => join({ '1': '0' }), { name: 'ValidationError', message: `Expected bridge['1'] to name one of the encoder's recurrent layers ('1') but received "0" of type string` });
    assert.throws(() => join(new Map([['1', '1']])), { name: 'ValidationError', message: /^Expected object of decoder layer path → encoder layer path for bridge but received/ });
    // One LSTM instance in both parts (tied weights) cannot start from its own state.
    const tied = new eddy.LSTM({ inputSize: 5, hiddenSize: 8 });
    const src = eddy.input({ shape: [null] });
    const encoder = eddy.model({ inputs: src, outputs: tied.apply(new eddy.Embedding({ numEmbeddings: 6, embeddingDim: 5 }).apply(src)) });
    const tokens = eddy.input({ shape: [null] });
    const memory = eddy.input({ shape: [null, 8] });
    const decoder = eddy.model({ inputs: [tokens, memory], outputs: new eddy.Linear({ inFeatures: 8, outFeatures: V }).apply(tied.apply(new eddy.Embedding({ numEmbeddings: V, embeddingDim: 5 }).apply(tokens))) });
    assert.throws(() => eddy.seq2seq.encoderDecoder({ encoder, decoder, bridge: { '1': '1' } }), {
      name: 'ValidationError',
      message: "Expected bridge['1'] to join two different layers but received the same LSTM(inputSize=5, hiddenSize=8) in the encoder ('1') and the decoder",
    });
    assert.throws(() => join([]), { name: 'ValidationError', message: /^Expected object of decoder layer path → encoder layer path for bridge but received/ });
    assert.throws(() => join({ '1': '1' }, gru.decoder), {
      name: 'ValidationError',
      message: "Expected bridge['1'] to join layers carrying the same state but received the encoder's LSTM(inputSize=5, hiddenSize=8) (LSTM state [1, batch, 8]) for the decoder's GRU(inputSize=5, hiddenSize=8) (GRU state [1, batch, 8])",
    });
    const fed = eddy.tensor(Float32Array.from([START, 2, START, 1, START, 3]), [3, 2]);
    const h = eddy.zeros([1, 3, 8]);
    assert.throws(() => model.forward([source, fed], { lengths: [sourceLengths, null], states: { 'decoder.1': { h, c: h } } }), {
      name: 'ValidationError',
      message: /^Expected no state for states\['decoder\.1'\] of EncoderDecoder\(.*\), whose bridge starts that layer from the encoder's '1', but received/,
    });
  });

  it('rejects what it cannot decode', async () => {
    const model = build(5);
    await assert.rejects(() => eddy.seq2seq.beamSearch(model, source, { startToken: START, maxLength: 0 }), { name: 'ValidationError', message: 'Expected positive integer for maxLength but received 0 of type number' });
    await assert.rejects(() => eddy.seq2seq.greedyDecode(model, source, { startToken: START, maxLength: 3, beamWidth: 2 } as never), { name: 'UnknownOptionError' });
    await assert.rejects(() => eddy.seq2seq.greedyDecode(model, source, { startToken: START, endToken: 9, maxLength: 3 }), {
      name: 'ValidationError',
      message: "Expected endToken below the decoder's 4 classes but received 9",
    });
    assert.throws(() => eddy.seq2seq.encoderDecoder({ encoder: model.encoder, decoder: model.encoder as eddy.GraphModel }), {
      name: 'ValidationError',
      message: "Expected a decoder with 2 inputs (the target tokens, then the encoder's 1 output) and one output but received Model(1 input, 1 output)",
    });
    assert.ok(source instanceof Tensor);
  });
});
