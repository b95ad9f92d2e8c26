/**
 * Speech recognition with CTC, end to end: spoken digit strings synthesised
 * with espeak-ng (28 training voices; 8 held-out voices of other accents
 * and variants) with sox noise, log-mel features, a bidirectional GRU
 * trained with CTC, greedy and beam-search decoding, and the digit error
 * rate on the held-out voices. Needs `espeak-ng` and `sox` (Debian:
 * `apt-get install espeak-ng sox`). Run with
 * `npx tsc -p . && node dist/examples/speech-digits.js [--train N] [--test N] [--epochs N] [--keep DIR] [--transcribe FILE.wav]`
 * (`--transcribe` reads your own recording of digits after training).
 */
import { promises as fs } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { parseArgs } from 'util';
import * as eddy from '../lib';
import { evaluate, Example, featuresOf, featuresOfFile, speechModel, train, transcribe } from './speech/recipe';
import { haveSpeechTools, synthesizeDigits, TEST_VOICES, TRAIN_VOICES, Utterance } from './speech/synthesize';

function load(utterances: Utterance[]): Example[] {
  return utterances.map((u) => ({ features: featuresOf(u.samples, u.sampleRate), digits: u.digits }));
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      train: { type: 'string', default: '1500' },
      test: { type: 'string', default: '300' },
      epochs: { type: 'string', default: '10' },
      hidden: { type: 'string', default: '96' },
      keep: { type: 'string' },
      transcribe: { type: 'string' },
    },
  });
  if (!(await haveSpeechTools())) {
    console.error('This example needs espeak-ng and sox on the PATH (Debian: apt-get install espeak-ng sox).');
    process.exitCode = 1;
    return;
  }
  eddy.manualSeed(5);
  const dir = values.keep ?? (await fs.mkdtemp(path.join(os.tmpdir(), 'eddy-speech-')));
  try {
    const t0 = Date.now();
    const g = new eddy.Generator(11);
    const progress = (what: string, total: number) => (n: number) => n % 200 === 0 && console.log(`  ${what}: ${n}/${total}`);
    const nTrain = Number(values.train), nTest = Number(values.test);
    const trainSet = await synthesizeDigits({ dir: path.join(dir, 'train'), count: nTrain, voices: TRAIN_VOICES, minDigits: 1, maxDigits: 5, generator: g, onProgress: progress('train', nTrain) });
    const testSet = await synthesizeDigits({ dir: path.join(dir, 'test'), count: nTest, voices: TEST_VOICES, minDigits: 1, maxDigits: 5, generator: g, onProgress: progress('test', nTest) });
    console.log(`synthesised ${nTrain} training and ${nTest} held-out utterances in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
    const trainExamples = load(trainSet);
    const testExamples = load(testSet);
    const model = speechModel({ hiddenSize: Number(values.hidden), numLayers: 2 });
    const t1 = Date.now();
    train(model, trainExamples, {
      epochs: Number(values.epochs), batchSize: 32, lr: 3e-3, generator: new eddy.Generator(12),
      augment: { freqMasks: 2, maxFreqWidth: 6, timeMasks: 2, maxTimeWidth: 6, maxTimeFraction: 0.1 },
      onEpochEnd: (e, loss) => {
        const held = evaluate(model, testExamples);
        console.log(`epoch ${e + 1}: CTC loss ${loss.toFixed(3)}, held-out CER greedy ${(100 * held.greedyCer).toFixed(1)} %, beam ${(100 * held.beamCer).toFixed(1)} % (${((Date.now() - t1) / 1000).toFixed(0)} s)`);
      },
    });
    const result = evaluate(model, testExamples);
    console.log(`held-out voices: CER ${(100 * result.greedyCer).toFixed(1)} % greedy, ${(100 * result.beamCer).toFixed(1)} % beam search`);
    for (const [ref, greedy, beam] of result.samples) console.log(`  said ${ref.padEnd(6)} greedy ${greedy.padEnd(6)} beam ${beam}`);
    if (values.transcribe) console.log(`${values.transcribe}: ${transcribe(model, await featuresOfFile(values.transcribe))}`);
  } finally {
    if (!values.keep) await fs.rm(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
