/**
 * Greedy (best path) CTC decoding: the most likely class at each step,
 * repeats merged, blanks removed.
 */
import { Tensor } from '../tensor/tensor';
import { checkOptions, optionKeys } from '../validate';
import { EmissionOptions, readEmissions } from './emissions';

/** Options of `greedyDecode`: the layout of the emissions. */
export type GreedyDecodeOptions = EmissionOptions;

/** The keys of GreedyDecodeOptions, for checkOptions. */
export const GREEDY_DECODE_OPTION_KEYS = optionKeys<GreedyDecodeOptions>({ batchFirst: true, lengths: true, blank: true });

/**
 * Decodes each sequence of `logProbs` (scores per class: log-probabilities,
 * probabilities or logits alike, since only the argmax counts) to its label
 * sequence. Ties go to the lower class.
 * @param logProbs - Scores [batch, time, classes] ([time, batch, classes] with `batchFirst: false`).
 * @param opts - Layout, lengths and blank class.
 * @throws ShapeError or ValidationError for emissions or options out of range.
 */
export function greedyDecode(logProbs: Tensor, opts?: GreedyDecodeOptions): number[][] {
  const e = readEmissions('logProbs', logProbs, checkOptions('opts', opts, GREEDY_DECODE_OPTION_KEYS));
  const out: number[][] = [];
  for (let b = 0; b < e.batch; b++) {
    const labels: number[] = [];
    let previous = -1;
    for (let t = 0; t < e.steps[b]; t++) {
      const r = e.row(b, t);
      let best = 0;
      for (let c = 1; c < e.classes; c++) if (e.data[r + c] > e.data[r + best]) best = c;
      if (best !== previous && best !== e.blank) labels.push(best);
      previous = best;
    }
    out.push(labels);
  }
  return out;
}
