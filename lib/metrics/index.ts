/**
 * `eddy.metrics`: evaluation metrics as plain numbers (no autograd).
 */
export { accuracy } from './accuracy';
export type { AccuracyOptions } from './accuracy';
export { perplexity, bitsPerCharacter } from './language';
export { mae, rmse, mape } from './regression';
export { editDistance, cer, wer } from './error-rate';
export type { Sequence } from './error-rate';
