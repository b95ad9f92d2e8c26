/**
 * Decoding an encoder–decoder: greedy and beam search. The encoder runs
 * once; the decoder then runs one token per call for all rows at once
 * (source rows × beams in one batch), continuing from the states the last
 * call left (`model.forward(x, { states })`), so the prefix is never run
 * again. After each step the beams' states are reordered to follow the
 * hypotheses that survived.
 */
import { ValidationError } from '../errors';
import { takeRows } from '../model/batches';
import { ModelCaches, ModelStates } from '../model/states';
import { checkLengths, Lengths } from '../ops/lengths';
import { Tensor } from '../tensor/tensor';
import { checkInteger, checkNumber, checkOptions, describe, optionKeys } from '../validate';
import { DecoderCarry, EncoderDecoder, Memory } from './encoder-decoder';

/** Options of `greedyDecode` (and, with the beam options, of `beamSearch`). */
export interface DecodeOptions {
  /** The token fed to the decoder first (what `decoderInput` starts with in training). */
  startToken: number;
  /** The token that ends a sequence: a row (or a beam) stops when it produces it. @default none: every row runs `maxLength` steps */
  endToken?: number;
  /** The most tokens to generate per row, the end token included. */
  maxLength: number;
  /** Valid steps of each source row (what the encoder masks with). @default every row is full */
  sourceLengths?: Lengths;
}

/** The keys of DecodeOptions, for checkOptions. */
export const DECODE_OPTION_KEYS = optionKeys<DecodeOptions>({ startToken: true, endToken: true, maxLength: true, sourceLengths: true });

/** Options of `beamSearch`: those of `greedyDecode` plus the beam width and length penalty. */
export interface BeamSearchOptions extends DecodeOptions {
  /** Hypotheses kept per source row. @default 4 */
  beamWidth?: number;
  /**
   * Exponent α of the length normalization: a finished hypothesis scores
   * (sum of log-probabilities) / lengthᵅ, its length counting the end
   * token. 0 ranks by probability alone (favouring short outputs), 1 by
   * mean log-probability per token. @default 1
   */
  lengthPenalty?: number;
}

/** The keys of BeamSearchOptions, for checkOptions. */
export const BEAM_SEARCH_OPTION_KEYS = optionKeys<BeamSearchOptions>({ startToken: true, endToken: true, maxLength: true, sourceLengths: true, beamWidth: true, lengthPenalty: true });

/** One decoded hypothesis. */
export interface Hypothesis {
  /** The generated tokens, without the start token and without the end token. */
  tokens: number[];
  /** Its sum of log-probabilities divided by lengthᵅ (the length penalty; α = 0 for greedy decoding). */
  score: number;
}

/** What `greedyDecode` and `beamSearch` return. */
export interface DecodeResult {
  /** Per source row, the best hypothesis' tokens (without start and end tokens). */
  sequences: number[][];
  /** Per source row, the best hypothesis' score. */
  scores: number[];
  /** Per source row, every hypothesis kept (at most the beam width), best first. */
  hypotheses: Hypothesis[][];
}

/**
 * Greedy decoding: at every step each row takes its most likely token.
 * `source` is a batch of sources [batch, time] (or [batch, time, features]).
 *
 * ```ts
 * const { sequences } = await eddy.seq2seq.greedyDecode(model, source, { startToken: 1, endToken: 2, maxLength: 12 });
 * ```
 * @param model - The encoder–decoder to decode with.
 * @param source - Source batch [batch, time] of token ids, or [batch, time, features].
 * @param opts - Start and end tokens, the maximum length and the source lengths.
 * @throws ValidationError for a missing or out-of-range option.
 */
export async function greedyDecode(model: EncoderDecoder, source: Tensor, opts: DecodeOptions): Promise<DecodeResult> {
  const o = checkOptions('options', opts, DECODE_OPTION_KEYS) as DecodeOptions;
  // One beam ranked by probability alone is greedy decoding.
  return search(model, source, o, 1, 0);
}

/**
 * Beam search: each source row keeps the `beamWidth` most likely
 * hypotheses, all rows and beams decoded as one batch; finished
 * hypotheses are ranked by their length-normalized score. A row stops once
 * it holds `beamWidth` finished hypotheses that no live one can beat.
 * @param model - The encoder–decoder to decode with.
 * @param source - Source batch [batch, time] of token ids, or [batch, time, features].
 * @param opts - Start and end tokens, the maximum length, the source lengths, the beam width and the length penalty.
 * @throws ValidationError for a missing or out-of-range option.
 */
export async function beamSearch(model: EncoderDecoder, source: Tensor, opts: BeamSearchOptions): Promise<DecodeResult> {
  const o = checkOptions('options', opts, BEAM_SEARCH_OPTION_KEYS) as BeamSearchOptions;
  const beamWidth = checkInteger('beamWidth', o.beamWidth ?? 4, 1, 1024);
  const lengthPenalty = checkNumber('lengthPenalty', o.lengthPenalty ?? 1);
  return search(model, source, o, beamWidth, lengthPenalty);
}

/** A candidate continuation: the row it extends, the token and the new summed log-probability. */
interface Candidate {
  row: number;
  token: number;
  score: number;
}

async function search(model: EncoderDecoder, source: Tensor, o: DecodeOptions, K: number, alpha: number): Promise<DecodeResult> {
  if (!(model instanceof EncoderDecoder)) throw new ValidationError(`Expected an EncoderDecoder (eddy.seq2seq.encoderDecoder) for model but received ${describe(model)}`);
  if (!(source instanceof Tensor) || source.rank < 2) throw new ValidationError(`Expected a Tensor [batch, time] or [batch, time, features] for source but received ${describe(source)}`);
  const startToken = checkInteger('startToken', o.startToken, 0);
  const endToken = o.endToken === undefined ? undefined : checkInteger('endToken', o.endToken, 0);
  const maxLength = checkInteger('maxLength', o.maxLength, 1);
  const B = source.shape[0];
  const sourceLengths = checkLengths(o.sourceLengths, B, source.shape[1]) ?? undefined;
  const rows = B * K;
  // Beams of a source row sit next to each other; every beam reads its row's memory.
  const memory = repeatMemory(await model.encode(source, sourceLengths), K);
  let carried: DecoderCarry | null = null;
  let tokens = new Float32Array(rows).fill(startToken);
  // Only the first beam of each row is live at the start, so the first step does not pick K copies of one token.
  let scores = Float64Array.from({ length: rows }, (_, r) => (r % K === 0 ? 0 : -Infinity));
  let prefixes: number[][] = Array.from({ length: rows }, () => []);
  const finished: Hypothesis[][] = Array.from({ length: B }, () => []);
  const done = new Array<boolean>(B).fill(false);
  const normalized = (score: number, length: number): number => score / length ** alpha;

  for (let step = 0; step < maxLength && !done.every(Boolean); step++) {
    const out = await model.decodeStep(new Tensor(tokens, [rows, 1]), memory, carried);
    const V = out.logits.shape[1];
    if (endToken !== undefined && endToken >= V) throw new ValidationError(`Expected endToken below the decoder's ${V} classes but received ${endToken}`);
    const logProbs = logSoftmaxRows(out.logits.toFloat32Array(), rows, V);
    const parents = Int32Array.from({ length: rows }, (_, r) => r);
    const nextTokens = new Float32Array(rows).fill(startToken);
    const nextScores = new Float64Array(rows).fill(-Infinity);
    for (let b = 0; b < B; b++) {
      if (done[b]) continue;
      let live = 0;
      // 2K candidates always leave K that do not end, however many of the best do.
      topCandidates(logProbs, scores, b * K, K, V, 2 * K).forEach((c, rank) => {
        if (live === K || c.score === -Infinity) return;
        if (c.token === endToken) {
          // An end token among the K best finishes that hypothesis; below them it would not have been kept.
          if (rank < K) finished[b].push({ tokens: prefixes[c.row].slice(), score: normalized(c.score, step + 1) });
          return;
        }
        const r = b * K + live++;
        parents[r] = c.row;
        nextTokens[r] = c.token;
        nextScores[r] = c.score;
      });
      if (finished[b].length >= K) {
        // Done when the best live hypothesis, normalized at this length, cannot beat the worst kept finished one.
        const worst = finished[b].sort((x, y) => y.score - x.score)[K - 1].score;
        if (live === 0 || worst >= normalized(nextScores[b * K], step + 1)) done[b] = true;
      }
    }
    prefixes = Array.from(parents, (p, r) => (nextScores[r] === -Infinity ? [] : [...prefixes[p], nextTokens[r]]));
    carried = { states: reorderStates(out.states, parents), caches: out.caches && reorderCaches(out.caches, parents) };
    tokens = nextTokens;
    scores = nextScores;
  }
  // Rows that ran out of steps keep their live hypotheses, at the length they reached.
  for (let b = 0; b < B; b++) {
    if (done[b]) continue;
    for (let k = 0; k < K; k++) {
      const r = b * K + k;
      if (scores[r] !== -Infinity) finished[b].push({ tokens: prefixes[r], score: normalized(scores[r], prefixes[r].length) });
    }
  }
  const hypotheses = finished.map((list) => list.sort((x, y) => y.score - x.score).slice(0, K));
  return { sequences: hypotheses.map((h) => h[0]?.tokens ?? []), scores: hypotheses.map((h) => h[0]?.score ?? -Infinity), hypotheses };
}

/** Log-softmax of each row of [rows, V] logits, in float64. */
function logSoftmaxRows(logits: Float32Array, rows: number, V: number): Float64Array {
  const out = new Float64Array(rows * V);
  for (let r = 0; r < rows; r++) {
    let max = -Infinity;
    for (let v = 0; v < V; v++) max = Math.max(max, logits[r * V + v]);
    let sum = 0;
    for (let v = 0; v < V; v++) sum += Math.exp(logits[r * V + v] - max);
    const logSum = max + Math.log(sum);
    for (let v = 0; v < V; v++) out[r * V + v] = logits[r * V + v] - logSum;
  }
  return out;
}

/** The `count` best continuations of rows first … first + K − 1, best first. */
function topCandidates(logProbs: Float64Array, scores: Float64Array, first: number, K: number, V: number, count: number): Candidate[] {
  const best: Candidate[] = [];
  for (let row = first; row < first + K; row++) {
    if (scores[row] === -Infinity) continue;
    for (let token = 0; token < V; token++) {
      const score = scores[row] + logProbs[row * V + token];
      if (best.length === count && score <= best[count - 1].score) continue;
      // Insertion into a short sorted list: count is 2·beamWidth.
      let at = best.length === count ? count - 1 : best.length;
      if (best.length === count) best.pop();
      while (at > 0 && best[at - 1].score < score) at--;
      best.splice(at, 0, { row, token, score });
    }
  }
  return best;
}

/** The memory (and the bridged layers' initial states) with every row repeated K times (beams of one source row next to each other). */
function repeatMemory(memory: Memory, K: number): Memory {
  if (K === 1) return memory;
  const rows = memory.values[0]?.shape[0] ?? 0;
  const idx = Array.from({ length: rows * K }, (_, r) => Math.floor(r / K));
  const repeated: Memory = {
    values: memory.values.map((t) => takeRows(t, idx)),
    lengths: memory.lengths.map((l) => (l === undefined ? undefined : Int32Array.from(idx, (i) => l[i]))),
  };
  return memory.states === undefined ? repeated : { ...repeated, states: reorderStates(memory.states, Int32Array.from(idx)) };
}

/** Each layer's states with row r taken from row parents[r] (states are [layers · directions, rows, hidden]). */
function reorderStates(states: ModelStates, parents: Int32Array): ModelStates {
  const out: ModelStates = {};
  for (const [path, state] of Object.entries(states)) {
    out[path] = state.c ? { h: gatherAxis1(state.h, parents), c: gatherAxis1(state.c, parents) } : { h: gatherAxis1(state.h, parents) };
  }
  return out;
}

/** Each step-decoding layer's cache with row r taken from row parents[r]. */
function reorderCaches(caches: ModelCaches, parents: Int32Array): ModelCaches {
  const out: ModelCaches = {};
  for (const [path, cache] of Object.entries(caches)) out[path] = cache.select(parents);
  return out;
}

function gatherAxis1(t: Tensor, idx: Int32Array): Tensor {
  const [L, N, H] = t.shape;
  const src = t.toFloat32Array();
  const out = new Float32Array(L * idx.length * H);
  for (let l = 0; l < L; l++) {
    for (let r = 0; r < idx.length; r++) out.set(src.subarray((l * N + idx[r]) * H, (l * N + idx[r] + 1) * H), (l * idx.length + r) * H);
  }
  return new Tensor(out, [L, idx.length, H]);
}
