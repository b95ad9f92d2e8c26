/**
 * SpecAugment masking for training (Park et al., 2019): a few bands of
 * consecutive features and a few spans of consecutive frames are set to a
 * constant, so the model learns not to lean on any one band or moment.
 * Time warping, the paper's third and least effective policy, is left out.
 *
 * Each mask's width is drawn uniformly from 0..max, its start uniformly
 * among the positions where it fits (as in the paper and torchaudio).
 */
import { ShapeError } from '../errors';
import { Generator } from '../random';
import { Tensor, checkTensor, denseData } from '../tensor/tensor';
import { checkGenerator, checkInteger, checkNumber, checkOptions, formatShape, optionKeys } from '../validate';

/** Options of `specAugment`. */
export interface SpecAugmentOptions {
  /** Number of frequency masks. @default 2 */
  freqMasks?: number;
  /** Largest width of a frequency mask, in features. @default 8 */
  maxFreqWidth?: number;
  /** Number of time masks. @default 2 */
  timeMasks?: number;
  /** Largest width of a time mask, in frames. @default 20 */
  maxTimeWidth?: number;
  /** A time mask covers at most this fraction of the frames (the paper's p). @default 0.2 */
  maxTimeFraction?: number;
  /** The value masked entries take (0 is the mean of normalised features). @default 0 */
  value?: number;
  /** Random source. @default the global generator */
  generator?: Generator;
}

/** The keys of SpecAugmentOptions, for checkOptions. */
export const SPEC_AUGMENT_OPTION_KEYS = optionKeys<SpecAugmentOptions>({
  freqMasks: true, maxFreqWidth: true, timeMasks: true, maxTimeWidth: true, maxTimeFraction: true, value: true, generator: true,
});

/** A random [start, start + width) with width uniform in 0..maxWidth (capped at size), start uniform where it fits. */
function drawSpan(g: Generator, size: number, maxWidth: number): [number, number] {
  const width = Math.floor(g.next() * (Math.min(maxWidth, size) + 1));
  const start = Math.floor(g.next() * (size - width + 1));
  return [start, start + width];
}

/**
 * Returns a masked copy of features [frames, features].
 * @param features - Feature matrix [frames, features].
 * @param opts - Number and widths of the frequency and time masks, fill value and random generator.
 * @throws ShapeError if `features` is not 2-D; ValidationError for an invalid option.
 */
export function specAugment(features: Tensor, opts?: SpecAugmentOptions): Tensor {
  const x = checkTensor('features', features);
  if (x.rank !== 2) throw new ShapeError(`Expected features of shape [frames, features] for specAugment but received ${formatShape(x.shape)}`);
  const o = checkOptions('opts', opts, SPEC_AUGMENT_OPTION_KEYS);
  const freqMasks = o.freqMasks === undefined ? 2 : checkInteger('opts.freqMasks', o.freqMasks, 0, 1000);
  const maxFreqWidth = o.maxFreqWidth === undefined ? 8 : checkInteger('opts.maxFreqWidth', o.maxFreqWidth, 0);
  const timeMasks = o.timeMasks === undefined ? 2 : checkInteger('opts.timeMasks', o.timeMasks, 0, 1000);
  const maxTimeWidth = o.maxTimeWidth === undefined ? 20 : checkInteger('opts.maxTimeWidth', o.maxTimeWidth, 0);
  const fraction = o.maxTimeFraction === undefined ? 0.2 : checkNumber('opts.maxTimeFraction', o.maxTimeFraction, { min: 0, max: 1 });
  const value = o.value === undefined ? 0 : checkNumber('opts.value', o.value);
  const g = checkGenerator('opts.generator', o.generator);
  const [T, F] = x.shape;
  const out = denseData(x).slice();
  for (let i = 0; i < freqMasks; i++) {
    const [a, b] = drawSpan(g, F, maxFreqWidth);
    for (let t = 0; t < T; t++) out.fill(value, t * F + a, t * F + b);
  }
  const timeWidth = Math.min(maxTimeWidth, Math.floor(fraction * T));
  for (let i = 0; i < timeMasks; i++) {
    const [a, b] = drawSpan(g, T, timeWidth);
    out.fill(value, a * F, b * F);
  }
  return new Tensor(out, [T, F]);
}
