/**
 * The char-LSTM of data/char-rnn.ts trained data-parallel over MPI: every
 * rank builds the same model and data, and `fit({ distributed: true })`
 * gives each rank its share of every global batch of 32 sequences. The
 * result matches a single process with the same global batch.
 *
 *   npx tsc -p .
 *   mpirun -np 2 node dist/examples/distributed-char-rnn.js [epochs] [characters]
 *
 * (as root add --allow-run-as-root; on one machine with few cores,
 * --oversubscribe). Rank 0 prints; the others stay quiet.
 */
import { readFileSync } from 'fs';
import * as path from 'path';
import * as eddy from '../lib';

async function main(): Promise<void> {
  const epochs = Number(process.argv[2] ?? 1);
  const chars = Number(process.argv[3] ?? Infinity);
  const { rank, worldSize } = await eddy.distributed.init();
  // One thread per rank: start one rank per core (or per socket with more threads each).
  eddy.setNumThreads(Number(process.env.EDDY_NUM_THREADS ?? 1));
  eddy.manualSeed(0);
  const text = readFileSync(path.join(__dirname, '../../examples/data/austen-northanger-abbey.txt'), 'utf8').slice(0, chars);
  const tokenizer = eddy.text.CharTokenizer.fromTexts(text);
  const ids = tokenizer.encode(text);
  const split = Math.floor(ids.length * 0.9);
  const train = eddy.text.nextTokenData(ids.subarray(0, split), { sequenceLength: 100 });
  const validation = eddy.text.nextTokenData(ids.subarray(split), { sequenceLength: 100 });
  const log = (line: string): void => void (rank === 0 && console.log(line));
  log(`${worldSize} rank(s); ${ids.length} characters, vocabulary ${tokenizer.vocabSize}`);

  const V = tokenizer.vocabSize;
  const model = eddy.sequential([
    new eddy.Embedding({ numEmbeddings: V, embeddingDim: 64 }),
    new eddy.LSTM({ inputSize: 64, hiddenSize: 256 }),
    new eddy.Linear({ inFeatures: 256, outFeatures: V }),
  ]);
  const started = performance.now();
  const history = await model.fit(train, {
    epochs,
    batchSize: 32,
    loss: 'crossEntropy',
    metrics: ['bitsPerCharacter'],
    validationData: validation,
    clipNorm: 5,
    optimizer: new eddy.optim.Adam(model.parameters(), { lr: 0.005 }),
    generator: new eddy.Generator(1),
    distributed: true,
    callbacks: { onEpochEnd: (epoch, logs) => log(`epoch ${epoch}: train ${logs.loss.toFixed(4)}, validation ${logs.valLoss.toFixed(4)} nats/char`) },
  });
  const seconds = (performance.now() - started) / 1000;
  const tokens = epochs * train.x.shape[0] * train.x.shape[1];
  log(`final validation loss ${history.history.valLoss.at(-1)?.toFixed(4)}; ${Math.round(tokens / seconds)} tokens/s over ${worldSize} rank(s)`);
  await eddy.distributed.finalize();
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
