/**
 * The speech recipe the digits example and its test share: WAV → 16 kHz →
 * 40 log-mel bands (25 ms windows every 10 ms) → per-utterance
 * normalisation → (SpecAugment while training) → three frames stacked
 * into one step (30 ms per step, a third of the recurrent work) →
 * BiGRU → Linear → log-softmax, trained with CTC and decoded greedily or
 * by prefix beam search. Class 0 is the CTC blank, digit d is class d + 1.
 */
import * as eddy from '../../lib';

export const SAMPLE_RATE = 16000;
export const MEL_BANDS = 40;
export const STACK = 3;
export const CLASSES = 11;

/** An utterance ready for training: normalised log-mel features [frames, 40] and its digits. */
export interface Example {
  features: eddy.Tensor;
  digits: number[];
}

/** Normalised log-mel features of mono samples at any rate (resampled to 16 kHz first). */
export function featuresOf(samples: Float32Array, sampleRate: number): eddy.Tensor {
  const x = eddy.audio.resample(samples, sampleRate, SAMPLE_RATE);
  return eddy.audio.normalizeUtterance(eddy.audio.logMel(x, { sampleRate: SAMPLE_RATE, melBands: MEL_BANDS }));
}

/** The features of a WAV file (any format readWav takes; stereo is averaged). */
export async function featuresOfFile(file: string): Promise<eddy.Tensor> {
  const wav = await eddy.audio.readWav(file);
  return featuresOf(eddy.audio.toMono(wav), wav.sampleRate);
}

export interface ModelOptions {
  hiddenSize: number;
  numLayers: number;
}

/** A bidirectional GRU over stacked frames, and a linear layer to the 11 classes (scores; log-softmax follows). */
export function speechModel(o: ModelOptions): eddy.Sequential {
  return eddy.sequential([
    new eddy.GRU({ inputSize: STACK * MEL_BANDS, hiddenSize: o.hiddenSize, numLayers: o.numLayers, bidirectional: true }),
    new eddy.Linear({ inFeatures: 2 * o.hiddenSize, outFeatures: CLASSES }),
  ]);
}

/** Frames of features [T, F] stacked STACK at a time into a batch slot [steps, STACK·F] (the tail zero-padded); returns the steps. */
function stackInto(out: Float32Array, offset: number, features: Float32Array, frames: number): number {
  const width = STACK * MEL_BANDS;
  const steps = Math.ceil(frames / STACK);
  for (let s = 0; s < steps; s++) {
    for (let k = 0; k < STACK && s * STACK + k < frames; k++) {
      out.set(features.subarray((s * STACK + k) * MEL_BANDS, (s * STACK + k + 1) * MEL_BANDS), offset + s * width + k * MEL_BANDS);
    }
  }
  return steps;
}

interface Batch {
  x: eddy.Tensor;
  lengths: Int32Array;
  targets: Int32Array;
  targetLengths: Int32Array;
}

function makeBatch(examples: Example[], augment?: eddy.audio.SpecAugmentOptions): Batch {
  const feats = examples.map((e) => (augment ? eddy.audio.specAugment(e.features, augment) : e.features));
  const maxSteps = Math.max(...feats.map((f) => Math.ceil(f.shape[0] / STACK)));
  const width = STACK * MEL_BANDS;
  const data = new Float32Array(examples.length * maxSteps * width);
  const lengths = Int32Array.from(feats, (f, b) => stackInto(data, b * maxSteps * width, f.toFloat32Array(), f.shape[0]));
  return {
    x: eddy.tensor(data, [examples.length, maxSteps, width]),
    lengths,
    targets: Int32Array.from(examples.flatMap((e) => e.digits.map((d) => d + 1))),
    targetLengths: Int32Array.from(examples, (e) => e.digits.length),
  };
}

export interface TrainOptions {
  epochs: number;
  batchSize: number;
  lr: number;
  /** SpecAugment while training (none when absent). */
  augment?: eddy.audio.SpecAugmentOptions;
  generator: eddy.Generator;
  onEpochEnd?: (epoch: number, meanLoss: number) => void;
}

/** Trains with CTC (Adam, gradient norm clipped at 5, learning rate halved for the last quarter of the epochs). */
export function train(model: eddy.Sequential, examples: Example[], o: TrainOptions): void {
  const optimizer = new eddy.optim.Adam(model.parameters(), { lr: o.lr });
  for (let epoch = 0; epoch < o.epochs; epoch++) {
    if (epoch === Math.floor(o.epochs * 0.75)) optimizer.paramGroups.forEach((g) => (g.lr = o.lr / 2));
    const order = o.generator.permutation(examples.length);
    let sum = 0;
    let batches = 0;
    for (let i = 0; i < order.length; i += o.batchSize) {
      const batch = makeBatch(Array.from(order.subarray(i, i + o.batchSize), (k) => examples[k]), o.augment && { ...o.augment, generator: o.generator });
      const scores = model.forward(batch.x, { lengths: batch.lengths, training: true });
      const logProbs = eddy.logSoftmax(scores, -1).transpose(0, 1);
      const loss = eddy.losses.ctc(logProbs, batch.targets, batch.lengths, batch.targetLengths, { zeroInfinity: true });
      optimizer.zeroGrad();
      loss.backward();
      eddy.clipGradNorm(model.parameters(), 5);
      optimizer.step();
      sum += loss.item();
      batches++;
    }
    o.onEpochEnd?.(epoch, sum / batches);
  }
}

export interface Evaluation {
  /** Character (digit) error rate of greedy decoding. */
  greedyCer: number;
  /** Character error rate of prefix beam search (width 8). */
  beamCer: number;
  /** The first few transcripts: reference, greedy, beam. */
  samples: [string, string, string][];
}

/** Decodes every example and scores the digit strings. */
export function evaluate(model: eddy.Sequential, examples: Example[], batchSize = 64): Evaluation {
  const refs: number[][] = [];
  const greedy: number[][] = [];
  const beam: number[][] = [];
  eddy.noGrad(() => {
    for (let i = 0; i < examples.length; i += batchSize) {
      const part = examples.slice(i, i + batchSize);
      const batch = makeBatch(part);
      const logProbs = eddy.logSoftmax(model.forward(batch.x, { lengths: batch.lengths, training: false }), -1);
      greedy.push(...eddy.ctc.greedyDecode(logProbs, { lengths: batch.lengths }));
      beam.push(...eddy.ctc.beamDecode(logProbs, { lengths: batch.lengths, beamWidth: 8 }));
      refs.push(...part.map((e) => e.digits.map((d) => d + 1)));
    }
  });
  const text = (labels: number[]): string => labels.map((c) => String(c - 1)).join('');
  return {
    greedyCer: eddy.metrics.cer(greedy, refs),
    beamCer: eddy.metrics.cer(beam, refs),
    samples: refs.slice(0, 5).map((r, i) => [text(r), text(greedy[i]), text(beam[i])]),
  };
}

/** The digits heard in one utterance's features (beam search, width 8). */
export function transcribe(model: eddy.Sequential, features: eddy.Tensor): string {
  const [labels] = eddy.noGrad(() => {
    const batch = makeBatch([{ features, digits: [] }]);
    const logProbs = eddy.logSoftmax(model.forward(batch.x, { lengths: batch.lengths, training: false }), -1);
    return eddy.ctc.beamDecode(logProbs, { lengths: batch.lengths, beamWidth: 8 });
  });
  return labels.map((c) => String(c - 1)).join('');
}
