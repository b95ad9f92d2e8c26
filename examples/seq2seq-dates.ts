/**
 * Date normalisation with an encoder–decoder: "Tuesday, 25 November 2026",
 * "25/11/26" or "Nov 25th, 2026" in, "2026-11-25" out, in twelve formats.
 * Two models: (a) a bidirectional GRU encoder and a GRU decoder with
 * attention, (b) an LSTM encoder under a transformer decoder (decoded from
 * cached keys and values); each writes the ISO date, and beam search
 * decodes held-out dates (days never seen in training, in any format). Run
 * with `npx tsc -p . && node dist/examples/seq2seq-dates.js` (minutes on
 * two idle cores); `EDDY_DATES_PAIRS`, `EDDY_DATES_EPOCHS` scale it and
 * `EDDY_DATES_MODEL=gru|transformer` runs one of the two.
 */
import * as eddy from '../lib';
import { datePairs, exactMatch, gruAttentionModel, lstmTransformerModel, splitDays } from './dates';

async function main(): Promise<void> {
  eddy.manualSeed(11);
  const pairs = Number(process.env.EDDY_DATES_PAIRS ?? 15000);
  const epochs = Number(process.env.EDDY_DATES_EPOCHS ?? 6);
  const days = splitDays(0.1, new eddy.Generator(12));
  const train = datePairs(days.train, pairs, new eddy.Generator(13));
  const heldOut = datePairs(days.heldOut, 2000, new eddy.Generator(14));
  console.log(`${pairs} training pairs over ${days.train.length} days; ${heldOut.iso.length} held-out pairs over ${days.heldOut.length} other days`);
  for (let i = 0; i < 4; i++) console.log(`  ${train.text[i]} → ${train.iso[i]}`);

  const which = process.env.EDDY_DATES_MODEL ?? 'both';
  const models: [string, () => eddy.seq2seq.EncoderDecoder][] = [
    ['(a) GRU encoder–decoder with attention', () => gruAttentionModel({ embedding: 32, hidden: 64 })],
    ['(b) LSTM encoder + transformer decoder', () => lstmTransformerModel({ embedding: 32, hidden: 64, heads: 4, layers: 2 })],
  ];
  for (const [name, build] of models.filter((_, i) => which === 'both' || which === ['gru', 'transformer'][i])) {
    console.log(`\n${name}`);
    await trainAndDecode(build(), train, heldOut, epochs);
  }
}

async function trainAndDecode(model: eddy.seq2seq.EncoderDecoder, train: ReturnType<typeof datePairs>, heldOut: ReturnType<typeof datePairs>, epochs: number): Promise<void> {
  console.log(model.summary([[train.source.shape[1]], [11]]));
  const started = Date.now();
  await model.fit(
    { x: [train.source, train.decoderInput], y: train.target, lengths: [train.sourceLengths, null] },
    {
      epochs, batchSize: 64, loss: 'crossEntropy', metrics: ['accuracy'], clipNorm: 1,
      optimizer: new eddy.optim.Adam(model.parameters(), { lr: 0.003 }),
      callbacks: { onEpochEnd: (e, logs) => console.log(`epoch ${e + 1}: loss ${logs.loss.toFixed(4)}, token accuracy ${logs.accuracy.toFixed(4)} (${((Date.now() - started) / 1000).toFixed(0)} s)`) },
    },
  );
  for (const beamWidth of [1, 4]) {
    const { rate, misses } = await exactMatch(model.eval(), heldOut, beamWidth);
    console.log(`held-out exact match, ${beamWidth === 1 ? 'greedy' : `beam search (width ${beamWidth})`}: ${(100 * rate).toFixed(2)} %`);
    for (const m of misses.slice(0, 5)) console.log(`  ${m}`);
  }
}

void main();
