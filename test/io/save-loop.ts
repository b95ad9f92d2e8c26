/**
 * Child process for the crash test: saves a model to argv[2] over and over,
 * each version's weights all equal to its version number (also in the
 * metadata), until killed. Prints "saving" once the loop runs.
 */
import * as eddy from '../../lib';

async function main(): Promise<void> {
  const file = process.argv[2];
  const model = eddy.sequential([new eddy.LSTM({ inputSize: 64, hiddenSize: 128 }), new eddy.Linear({ inFeatures: 128, outFeatures: 8 })]);
  for (let version = 1; ; version++) {
    for (const p of model.parameters()) p.data.data.fill(version);
    const saving = model.save(file, { metadata: { version: String(version) } });
    if (version === 1) process.stdout.write('saving\n');
    await saving;
  }
}

void main();
