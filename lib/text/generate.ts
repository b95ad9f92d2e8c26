/**
 * Text generation as an async iterator: the prompt runs through the model
 * once, then one token at a time with the recurrent states carried over,
 * each token handed out as soon as it is drawn (stream it into a response).
 */
import { noGrad } from '../autograd/grad-mode';
import { ValidationError } from '../errors';
import { Generator } from '../random';
import { checkInteger, checkOptions, fail, optionKeys, quote } from '../validate';
import { RecurrentStepper } from '../serving/recurrent-stepper';
import { CheckedSampling, checkSampling, drawFrom } from './sampling';
import { Tokenizer } from './tokenizer';

/** The options of {@link generate}. */
export interface GenerateOptions {
  /** Turns the prompt into ids and ids into text. */
  tokenizer: Tokenizer;
  /** Text the generation continues (at least one token). */
  prompt: string;
  /** Tokens to generate. */
  length: number;
  /** Divides the logits; 0 takes the most likely token every time. @default 1 */
  temperature?: number;
  /** Draw only from the k most likely tokens. @default all */
  topK?: number;
  /** Draw only from the smallest set of most likely tokens with probability ≥ p. @default 1 */
  topP?: number;
  /** Seed for the draws: the same seed, model and options give the same text. @default the global generator */
  seed?: number;
  /** Draw the padding and unknown tokens too. @default false */
  allowSpecialTokens?: boolean;
  /**
   * Stops the iteration between tokens.
   * @default none
   */
  signal?: AbortSignal;
}

/** The keys of GenerateOptions, for checkOptions. */
export const GENERATE_OPTION_KEYS = optionKeys<GenerateOptions>({ tokenizer: true, prompt: true, length: true, temperature: true, topK: true, topP: true, seed: true, allowSpecialTokens: true, signal: true });

const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * Generates `length` tokens after `prompt`, yielding each token's text
 * (with the tokenizer's separator in front for word tokenizers, so the
 * pieces concatenate to the continuation).
 *
 * The model is a Sequential language model: an optional Embedding, then
 * unidirectional RNN/LSTM/GRU layers and per-step layers (Linear, Dropout,
 * LayerNorm, activations), giving logits [batch, time, vocabSize]. It runs
 * in eval mode without recording; its recurrent layers get their states
 * passed explicitly, so a stateful layer's carried states are replaced by
 * the generation's (call `model.resetStates()` before training on).
 *
 * ```ts
 * for await (const piece of eddy.text.generate(model, { tokenizer, prompt: 'It is a truth', length: 200, temperature: 0.8, seed: 1 })) {
 *   res.write(piece);
 * }
 * ```
 * @param model - A Sequential language model (see above).
 * @param opts - {@link GenerateOptions}.
 * @throws {@link ValidationError} when the model or an option is malformed (at the call, not at the
 *   first token).
 */
export function generate(model: unknown, opts: GenerateOptions): AsyncGenerator<string, void, undefined> {
  // Checked here, not on the first next(): bad options fail at the call.
  const o = checkOptions('options', opts, GENERATE_OPTION_KEYS);
  if (!(o.tokenizer instanceof Tokenizer)) fail('a CharTokenizer or WordTokenizer', 'tokenizer', o.tokenizer);
  const tokenizer = o.tokenizer;
  if (typeof o.prompt !== 'string') fail('string', 'prompt', o.prompt);
  const length = checkInteger('length', o.length, 0);
  const allowSpecial = o.allowSpecialTokens ?? false;
  if (typeof allowSpecial !== 'boolean') fail('boolean', 'allowSpecialTokens', allowSpecial);
  const sampling = checkSampling({
    temperature: o.temperature,
    topK: o.topK,
    topP: o.topP,
    generator: o.seed === undefined ? undefined : new Generator(checkInteger('seed', o.seed, 0, Number.MAX_SAFE_INTEGER)),
    suppress: allowSpecial ? [] : [tokenizer.padId, tokenizer.unkId],
  });
  const promptIds = tokenizer.encode(o.prompt);
  if (promptIds.length === 0) throw new ValidationError(`Expected a prompt with at least one token for generate but received ${quote(o.prompt)}`);
  const stepper = new RecurrentStepper(model, tokenizer.vocabSize);
  // A space the prompt already ends with stands in for the first separator.
  const firstSeparator = tokenizer.separator !== '' && /\s$/.test(o.prompt) ? '' : tokenizer.separator;
  return run(stepper, tokenizer, promptIds, length, sampling, firstSeparator, o.signal);
}

async function* run(
  stepper: RecurrentStepper,
  tokenizer: Tokenizer,
  promptIds: Int32Array,
  length: number,
  sampling: CheckedSampling,
  firstSeparator: string,
  signal: AbortSignal | undefined,
): AsyncGenerator<string, void, undefined> {
  if (length === 0) return;
  // The stepper runs every layer in eval mode per call: generating while the same model trains changes neither.
  let logits = await noGrad(() => stepper.feed(promptIds, true));
  for (let k = 0; k < length; k++) {
    if (signal?.aborted) return;
    const id = drawFrom(logits, sampling);
    yield (k === 0 ? firstSeparator : tokenizer.separator) + tokenizer.tokenText(id);
    if (k + 1 < length) {
      await yieldToEventLoop();
      logits = await noGrad(() => stepper.feed(Int32Array.of(id), false));
    }
  }
}
