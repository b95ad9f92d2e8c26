/** `eddy.seq2seq`: encoder–decoder models and their decoding (greedy and beam search). */
export { EncoderDecoder, encoderDecoder } from './encoder-decoder';
export type { EncoderDecoderOptions, Memory, DecoderStep, DecoderCarry } from './encoder-decoder';
export { greedyDecode, beamSearch } from './decode';
export type { DecodeOptions, BeamSearchOptions, DecodeResult, Hypothesis } from './decode';
