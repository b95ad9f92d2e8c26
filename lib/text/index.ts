/**
 * `eddy.text`: character and word tokenizers, language-model data,
 * streaming generation with carried recurrent states, sampling, and
 * helpers for sequence classification.
 */
export { Tokenizer } from './tokenizer';
export type { DecodeOptions, EncodedBatch, EncodeOptions } from './tokenizer';
export type { VocabularyOptions } from './vocabulary';
export { CharTokenizer } from './char-tokenizer';
export type { CharTokenizerJSON, CharTokenizerOptions } from './char-tokenizer';
export { WordTokenizer } from './word-tokenizer';
export type { WordTokenizerJSON, WordTokenizerOptions } from './word-tokenizer';
export { nextTokenData, unigramEntropy } from './language-model';
export type { NextTokenOptions } from './language-model';
export { sampleLogits } from './sampling';
export type { SamplingOptions } from './sampling';
export { generate } from './generate';
export type { GenerateOptions } from './generate';
export { LabelMap, classWeights } from './labels';
export type { ClassWeightOptions, LabelMapJSON } from './labels';
export { parseLabeledCsv, parseLabeledJsonl, readLabeledCsv, readLabeledJsonl } from './read-labeled';
export type { CsvLabelOptions, JsonlLabelOptions, LabeledExamples } from './read-labeled';
