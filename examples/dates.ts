/**
 * Date normalisation, a small translation task: dates written in many
 * formats ("Tuesday, 25 November 2026", "25/11/26", "Nov 25th, 2026") to
 * ISO 8601 ("2026-11-25"), and the encoder–decoder that learns it. Used by
 * `examples/seq2seq-dates.ts` and by the test that checks it learns.
 *
 * Calendar days from 1950 to 2049 are split into training and held-out
 * days, so held-out sources are dates the model never saw in any format.
 */
import * as eddy from '../lib';

const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];
const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

const pad = (n: number, width = 2): string => String(n).padStart(width, '0');
const ordinal = (d: number): string => `${d}${d % 10 === 1 && d !== 11 ? 'st' : d % 10 === 2 && d !== 12 ? 'nd' : d % 10 === 3 && d !== 13 ? 'rd' : 'th'}`;

/** One calendar day. */
export interface Day {
  year: number;
  month: number; // 1–12
  day: number;
  weekday: number; // 0 = Sunday
}

/** The formats a source date is written in (two-digit years stand for 1950–2049). */
export const FORMATS: ((d: Day) => string)[] = [
  (d) => `${DAYS[d.weekday]}, ${d.day} ${MONTHS[d.month - 1]} ${d.year}`,
  (d) => `${pad(d.day)}/${pad(d.month)}/${pad(d.year % 100)}`,
  (d) => `${MONTHS[d.month - 1].slice(0, 3)} ${ordinal(d.day)}, ${d.year}`,
  (d) => `${MONTHS[d.month - 1]} ${d.day}, ${d.year}`,
  (d) => `${d.day} ${MONTHS[d.month - 1].slice(0, 3)} ${d.year}`,
  (d) => `${pad(d.day)}.${pad(d.month)}.${d.year}`,
  (d) => `${d.year}/${pad(d.month)}/${pad(d.day)}`,
  (d) => `${DAYS[d.weekday].slice(0, 3)} ${d.day} ${MONTHS[d.month - 1].slice(0, 3)} ${pad(d.year % 100)}`,
  (d) => `the ${ordinal(d.day)} of ${MONTHS[d.month - 1]}, ${d.year}`,
  (d) => `${MONTHS[d.month - 1].toUpperCase()} ${d.day} ${d.year}`,
  (d) => `${d.day}-${MONTHS[d.month - 1].slice(0, 3).toLowerCase()}-${d.year}`,
  (d) => `${d.month}/${d.day}/${d.year}`,
];

export const iso = (d: Day): string => `${d.year}-${pad(d.month)}-${pad(d.day)}`;

/** Every day from 1950-01-01 to 2049-12-31, split into training and held-out days by `generator`. */
export function splitDays(heldOutFraction: number, generator: eddy.Generator): { train: Day[]; heldOut: Day[] } {
  const days: Day[] = [];
  for (let t = Date.UTC(1950, 0, 1); t <= Date.UTC(2049, 11, 31); t += 86_400_000) {
    const d = new Date(t);
    days.push({ year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate(), weekday: d.getUTCDay() });
  }
  const order = generator.permutation(days.length);
  const cut = Math.round(days.length * heldOutFraction);
  return { heldOut: Array.from(order.subarray(0, cut), (i) => days[i]), train: Array.from(order.subarray(cut), (i) => days[i]) };
}

/** Source characters: everything the formats write. Token 0 pads. */
export const SOURCE_CHARS = [...new Set(FORMATS.flatMap((f) => [...f({ year: 2000, month: 1, day: 1, weekday: 0 })]).concat([...' ,./-0123456789', ...MONTHS.join(''), ...DAYS.join(''), ...MONTHS.join('').toUpperCase(), ...MONTHS.join('').toLowerCase(), ...'stndrhof']))].sort();
/** Target tokens: start, end, then the characters of an ISO date. */
export const START = 0;
export const END = 1;
export const TARGET_CHARS = [...'0123456789-'];
export const TARGET_VOCAB = 2 + TARGET_CHARS.length;
/** ISO dates are 10 characters; the decoder reads the start token and 10 characters and predicts 10 characters and the end token. */
export const TARGET_STEPS = 11;

/** A batch of pairs: sources as padded character ids, decoder inputs, targets and the source lengths. */
export interface DatePairs {
  source: eddy.Tensor;
  sourceLengths: Int32Array;
  decoderInput: eddy.Tensor;
  target: eddy.Tensor;
  /** The expected outputs, as strings. */
  iso: string[];
  /** The sources, as strings. */
  text: string[];
}

/** `count` pairs of random days from `days`, each in a random format. */
export function datePairs(days: readonly Day[], count: number, generator: eddy.Generator): DatePairs {
  const chosen = Array.from({ length: count }, () => days[Math.floor(generator.next() * days.length)]);
  const text = chosen.map((d) => FORMATS[Math.floor(generator.next() * FORMATS.length)](d));
  const T = Math.max(...text.map((t) => t.length));
  const source = new Float32Array(count * T);
  const sourceLengths = Int32Array.from(text, (t) => t.length);
  text.forEach((t, b) => [...t].forEach((ch, i) => (source[b * T + i] = 1 + SOURCE_CHARS.indexOf(ch))));
  const decoderInput = new Float32Array(count * TARGET_STEPS);
  const target = new Float32Array(count * TARGET_STEPS);
  chosen.forEach((d, b) => {
    const ids = [...iso(d)].map((ch) => 2 + TARGET_CHARS.indexOf(ch));
    decoderInput.set([START, ...ids], b * TARGET_STEPS);
    target.set([...ids, END], b * TARGET_STEPS);
  });
  return {
    source: eddy.tensor(source, [count, T]),
    sourceLengths,
    decoderInput: eddy.tensor(decoderInput, [count, TARGET_STEPS]),
    target: eddy.tensor(target, [count, TARGET_STEPS]),
    iso: chosen.map(iso),
    text,
  };
}

/** Target tokens back to a string (the end token is never in a decoded sequence). */
export const decodeTokens = (tokens: readonly number[]): string => tokens.map((t) => (t >= 2 ? TARGET_CHARS[t - 2] : '?')).join('');

export interface DateModelOptions {
  /** Width of the character embeddings. */
  embedding: number;
  /** Hidden units of the encoder (per direction) and the decoder. */
  hidden: number;
}

/**
 * (a) A GRU encoder–decoder with attention: a bidirectional GRU reads the
 * source characters; a GRU decoder reads the ISO characters so far and
 * attends over the encoder's outputs (scaled dot products; padded source
 * steps masked by the lengths the graph carries).
 */
export function gruAttentionModel(o: DateModelOptions): eddy.seq2seq.EncoderDecoder {
  const source = eddy.input({ shape: [null], name: 'source' });
  const chars = new eddy.Embedding({ numEmbeddings: SOURCE_CHARS.length + 1, embeddingDim: o.embedding }).apply(source);
  const memory = new eddy.GRU({ inputSize: o.embedding, hiddenSize: o.hidden, bidirectional: true }).apply(chars);
  const encoder = eddy.model({ inputs: source, outputs: memory });

  const tokens = eddy.input({ shape: [null], name: 'tokens' });
  const keys = eddy.input({ shape: [null, 2 * o.hidden], name: 'memory' });
  const embedded = new eddy.Embedding({ numEmbeddings: TARGET_VOCAB, embeddingDim: o.embedding }).apply(tokens);
  const queries = new eddy.GRU({ inputSize: o.embedding, hiddenSize: 2 * o.hidden }).apply(embedded);
  const context = new eddy.DotAttention({ scale: true }).apply([queries, keys]);
  const logits = new eddy.Linear({ inFeatures: 4 * o.hidden, outFeatures: TARGET_VOCAB }).apply(new eddy.Concatenate().apply([queries, context]));
  const decoder = eddy.model({ inputs: [tokens, keys], outputs: logits });
  return eddy.seq2seq.encoderDecoder({ encoder, decoder });
}

/** Exact-match rate of beam search on `pairs` (decoded in batches of `batchSize` sources). */
export async function exactMatch(model: eddy.seq2seq.EncoderDecoder, pairs: DatePairs, beamWidth: number, batchSize = 256): Promise<{ rate: number; misses: string[] }> {
  const n = pairs.iso.length;
  let right = 0;
  const misses: string[] = [];
  for (let start = 0; start < n; start += batchSize) {
    const end = Math.min(n, start + batchSize);
    const rows = Array.from({ length: end - start }, (_, i) => start + i);
    const T = Math.max(...rows.map((r) => pairs.sourceLengths[r]));
    const source = eddy.slice(eddy.slice(pairs.source, 0, start, end), 1, 0, T).contiguous();
    const { sequences } = await eddy.seq2seq.beamSearch(model, source, { startToken: START, endToken: END, maxLength: TARGET_STEPS + 1, beamWidth, sourceLengths: pairs.sourceLengths.subarray(start, end) });
    sequences.forEach((s, i) => {
      const got = decodeTokens(s);
      if (got === pairs.iso[start + i]) right++;
      else misses.push(`${pairs.text[start + i]} → ${got} (expected ${pairs.iso[start + i]})`);
    });
  }
  return { rate: right / n, misses };
}

/**
 * (b) An LSTM encoder under a transformer decoder: the LSTM reads the
 * source characters; the decoder embeds the ISO characters so far, adds
 * sinusoidal positions and runs a TransformerDecoder (causal
 * self-attention, attention over the LSTM's outputs masked by the source
 * lengths). Decoding feeds it one token per call from its cached keys and
 * values.
 */
export function lstmTransformerModel(o: DateModelOptions & { heads: number; layers: number }): eddy.seq2seq.EncoderDecoder {
  const d = o.hidden;
  const source = eddy.input({ shape: [null], name: 'source' });
  const chars = new eddy.Embedding({ numEmbeddings: SOURCE_CHARS.length + 1, embeddingDim: o.embedding }).apply(source);
  const encoder = eddy.model({ inputs: source, outputs: new eddy.LSTM({ inputSize: o.embedding, hiddenSize: d }).apply(chars) });

  const tokens = eddy.input({ shape: [null], name: 'tokens' });
  const memory = eddy.input({ shape: [null, d], name: 'memory' });
  const embedded = new eddy.PositionalEncoding({ dModel: d, dropout: 0 }).apply(new eddy.Embedding({ numEmbeddings: TARGET_VOCAB, embeddingDim: d }).apply(tokens));
  const decoded = new eddy.TransformerDecoder({ dModel: d, nhead: o.heads, dimFeedforward: 2 * d, dropout: 0 }, { numLayers: o.layers }).apply([embedded, memory]);
  const logits = new eddy.Linear({ inFeatures: d, outFeatures: TARGET_VOCAB }).apply(decoded);
  return eddy.seq2seq.encoderDecoder({ encoder, decoder: eddy.model({ inputs: [tokens, memory], outputs: logits }) });
}
