/**
 * `eddy.ctc`: decoding the output of a model trained with `losses.ctc`
 * (greedy and prefix beam search, with an optional label n-gram language
 * model).
 */
export { greedyDecode } from './greedy';
export type { GreedyDecodeOptions } from './greedy';
export { beamDecode, beamSearch } from './beam';
export type { BeamDecodeOptions, CtcHypothesis, CtcLanguageModel } from './beam';
export { CharNgram } from './char-ngram';
export type { CharNgramOptions } from './char-ngram';
export type { EmissionOptions } from './emissions';
