/**
 * The date-normalisation encoder–decoder (examples/dates.ts) learns: a GRU
 * encoder–decoder with attention, trained on a few thousand generated
 * pairs, writes held-out dates (days never seen in training) exactly, as
 * decoded by beam search. A CI-sized configuration of
 * `examples/seq2seq-dates.ts`.
 */
import * as assert from 'assert';
import * as eddy from '../../lib';
import { datePairs, exactMatch, gruAttentionModel, splitDays } from '../../examples/dates';

describe('seq2seq learns date normalisation', function () {
  this.timeout(600_000);

  it('a GRU encoder–decoder with attention reaches ≥ 95 % exact match on held-out dates with beam search', async () => {
    eddy.manualSeed(31);
    const days = splitDays(0.1, new eddy.Generator(32));
    const train = datePairs(days.train, 4000, new eddy.Generator(33));
    const heldOut = datePairs(days.heldOut, 400, new eddy.Generator(34));
    const model = gruAttentionModel({ embedding: 32, hidden: 64 });
    await model.fit(
      { x: [train.source, train.decoderInput], y: train.target, lengths: [train.sourceLengths, null] },
      { epochs: 4, batchSize: 64, loss: 'crossEntropy', clipNorm: 1, optimizer: new eddy.optim.Adam(model.parameters(), { lr: 0.003 }) },
    );
    const { rate, misses } = await exactMatch(model.eval(), heldOut, 4);
    assert.ok(rate >= 0.95, `held-out exact match ${(100 * rate).toFixed(1)} % (< 95 %); misses: ${misses.slice(0, 5).join('; ')}`);
  });
});
