/**
 * `eddy.metrics`: evaluation metrics as plain numbers (no autograd).
 */
export { accuracy } from './accuracy';
export type { AccuracyOptions } from './accuracy';
export { perplexity, bitsPerCharacter } from './language';
export { mae, rmse, mape } from './regression';
