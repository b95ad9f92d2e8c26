/**
 * `eddy.audio`: WAV files, resampling, speech features (spectrograms,
 * log-mel filterbanks, MFCCs), per-utterance normalisation and SpecAugment.
 */
export { decodeWav, readWav, encodeWav, writeWav, toMono } from './wav';
export type { Audio, DecodedWav, WavFormat, EncodeWavOptions } from './wav';
export { resample } from './resample';
export { spectrogram, melFilterbank, logMel, mfcc, frameCount } from './features';
export type { SpectrogramOptions, MelOptions, MfccOptions } from './features';
export { normalizeUtterance } from './normalize';
export type { NormalizeOptions } from './normalize';
export { specAugment } from './spec-augment';
export type { SpecAugmentOptions } from './spec-augment';
