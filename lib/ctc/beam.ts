/**
 * CTC prefix beam search (Graves, 2012; Hannun et al., 2014). Each beam is
 * a label prefix with two log-probabilities: of all alignments so far that
 * produce it and end in a blank (pb), or in its last label (pnb). At each
 * step a prefix is kept by a blank or by repeating its last label, or
 * extended by a label; extending by the same label as the last one is only
 * possible from pb (a blank must separate repeats). The best `beamWidth`
 * prefixes survive each step, ranked by
 *   log(e^pb + e^pnb) + lmWeight · log P_LM(prefix) + lengthBonus · |prefix|.
 * The language model's score is added when a label extends a prefix, so
 * the two alignment paths of a prefix always carry the same LM score; with
 * `endLogProb` it also scores the end of the sequence at the last step.
 */
import { ValidationError } from '../errors';
import { logAdd } from '../losses/ctc-alignment';
import { Tensor } from '../tensor/tensor';
import { checkInteger, checkNumber, checkOptions, fail, optionKeys } from '../validate';
import { EmissionOptions, readEmissions } from './emissions';

/**
 * A language model over label sequences (natural logs). `history` holds
 * every label decoded so far; the model reads as much of it as it uses.
 */
export interface CtcLanguageModel {
  /**
   * log P(next | history).
   * @param history - Every label decoded so far, oldest first.
   * @param next - The label to score.
   */
  logProb(history: readonly number[], next: number): number;
  /**
   * log P(end of sequence | history); when absent, ends are not scored.
   * @param history - Every label decoded so far, oldest first.
   */
  endLogProb?(history: readonly number[]): number;
}

/** Options of `beamDecode` and `beamSearch`. */
export interface BeamDecodeOptions extends EmissionOptions {
  /** Prefixes kept after each step. @default 16 */
  beamWidth?: number;
  /** A language model over labels (such as a `ctc.CharNgram`), applied with `lmWeight`. @default none */
  lm?: CtcLanguageModel;
  /** Weight of the language model's log-probabilities. @default 0.5 when lm is given */
  lmWeight?: number;
  /** Added per label of a prefix, to offset the language model's preference for short outputs. @default 0 */
  lengthBonus?: number;
}

/** The keys of BeamDecodeOptions, for checkOptions. */
export const BEAM_DECODE_OPTION_KEYS = optionKeys<BeamDecodeOptions>({
  batchFirst: true, lengths: true, blank: true, beamWidth: true, lm: true, lmWeight: true, lengthBonus: true,
});

/** One hypothesis of `beamSearch`. */
export interface CtcHypothesis {
  /** The decoded labels (blanks removed, repeats merged). */
  labels: number[];
  /** log P(labels | input) summed over the alignments the search kept. */
  logProb: number;
  /** The ranking score: logProb plus the weighted LM score and length bonus. */
  score: number;
}

interface Beam {
  labels: number[];
  pb: number;
  pnb: number;
  /** lmWeight · log P_LM(labels) + lengthBonus · |labels|. */
  bonus: number;
}

const total = (beam: Beam): number => logAdd(beam.pb, beam.pnb);

/** Descending order of a score that may be -Infinity (a plain difference would be NaN). */
const byScore = <T>(score: (v: T) => number) => (x: T, y: T): number => {
  const [a, b] = [score(x), score(y)];
  return a > b ? -1 : a < b ? 1 : 0;
};

/**
 * All kept hypotheses of each sequence, best first: `beamWidth` at most,
 * fewer when fewer prefixes are possible. `logProbs` must be
 * log-probabilities (a log-softmax over classes).
 * @param logProbs - Log-probabilities [batch, time, classes] ([time, batch, classes] with `batchFirst: false`).
 * @param opts - Layout, lengths, blank class, beam width and language model.
 * @throws ShapeError or ValidationError for emissions or options out of range.
 */
export function beamSearch(logProbs: Tensor, opts?: BeamDecodeOptions): CtcHypothesis[][] {
  const o = checkOptions('opts', opts, BEAM_DECODE_OPTION_KEYS);
  const e = readEmissions('logProbs', logProbs, o);
  const width = o.beamWidth === undefined ? 16 : checkInteger('opts.beamWidth', o.beamWidth, 1, 100000);
  const lm = o.lm;
  if (lm !== undefined && (lm === null || typeof lm !== 'object' || typeof lm.logProb !== 'function')) fail('an object with a logProb(history, next) method', 'opts.lm', lm);
  if (lm?.endLogProb !== undefined && typeof lm.endLogProb !== 'function') fail('a function', 'opts.lm.endLogProb', lm.endLogProb);
  const lmWeight = o.lmWeight === undefined ? (lm ? 0.5 : 0) : checkNumber('opts.lmWeight', o.lmWeight, { min: 0 });
  if (o.lmWeight !== undefined && lmWeight !== 0 && !lm) throw new ValidationError(`Expected opts.lm with opts.lmWeight but received lmWeight ${lmWeight} and no lm`);
  const lengthBonus = o.lengthBonus === undefined ? 0 : checkNumber('opts.lengthBonus', o.lengthBonus);
  const lmScore = (history: number[], next: number): number => {
    if (!lm || lmWeight === 0) return 0;
    const v = lm.logProb(history, next);
    if (typeof v !== 'number' || Number.isNaN(v) || v > 1e-9) fail('a log-probability (a number ≤ 0) from opts.lm.logProb', `opts.lm.logProb([${history.join(', ')}], ${next})`, v);
    return lmWeight * v;
  };

  const results: CtcHypothesis[][] = [];
  for (let b = 0; b < e.batch; b++) {
    let beams: Beam[] = [{ labels: [], pb: 0, pnb: -Infinity, bonus: 0 }];
    for (let t = 0; t < e.steps[b]; t++) {
      const r = e.row(b, t);
      const next = new Map<string, Beam>();
      const at = (labels: number[], bonus: () => number): Beam => {
        const key = labels.join(',');
        let beam = next.get(key);
        if (!beam) next.set(key, (beam = { labels, pb: -Infinity, pnb: -Infinity, bonus: bonus() }));
        return beam;
      };
      for (const beam of beams) {
        const p = total(beam);
        const last = beam.labels.length > 0 ? beam.labels[beam.labels.length - 1] : -1;
        const same = at(beam.labels, () => beam.bonus);
        same.pb = logAdd(same.pb, p + e.data[r + e.blank]);
        for (let c = 0; c < e.classes; c++) {
          if (c === e.blank) continue;
          const lp = e.data[r + c];
          if (lp === -Infinity) continue;
          const extended = at([...beam.labels, c], () => beam.bonus + lmScore(beam.labels, c) + lengthBonus);
          if (c === last) {
            same.pnb = logAdd(same.pnb, beam.pnb + lp);
            extended.pnb = logAdd(extended.pnb, beam.pb + lp);
          } else {
            extended.pnb = logAdd(extended.pnb, p + lp);
          }
        }
      }
      // Prefixes no alignment can produce (a repeat right after its label, a class of probability 0) are dropped.
      const possible = [...next.values()].filter((v) => total(v) > -Infinity);
      beams = (possible.length > 0 ? possible : [...next.values()]).sort(byScore((v: Beam) => total(v) + v.bonus)).slice(0, width);
    }
    const ended = beams.map((beam) => {
      const end = lm?.endLogProb && lmWeight !== 0 ? lmWeight * lm.endLogProb(beam.labels) : 0;
      return { labels: beam.labels, logProb: total(beam), score: total(beam) + beam.bonus + end };
    });
    results.push(ended.sort(byScore((h: CtcHypothesis) => h.score)));
  }
  return results;
}

/**
 * The best label sequence of each sequence by prefix beam search (see `beamSearch`).
 * @param logProbs - Log-probabilities [batch, time, classes] ([time, batch, classes] with `batchFirst: false`).
 * @param opts - Layout, lengths, blank class, beam width and language model.
 * @throws ShapeError or ValidationError for emissions or options out of range.
 */
export function beamDecode(logProbs: Tensor, opts?: BeamDecodeOptions): number[][] {
  return beamSearch(logProbs, opts).map((hypotheses) => hypotheses[0].labels);
}
