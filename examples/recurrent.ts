/**
 * The recurrent layers in a few lines: a bidirectional 2-layer LSTM over a
 * variable-length batch, backpropagation through time, and async inference.
 * Run with `npm run build:ts && node dist/examples/recurrent.js`.
 */
import * as eddy from '../lib';

async function main(): Promise<void> {
  eddy.manualSeed(0);
  // An LSTM with PyTorch's parameters, gate order and initialization.
  const lstm = new eddy.LSTM({ inputSize: 8, hiddenSize: 32, numLayers: 2, bidirectional: true });

  // Input is [batch, time, features] (batchFirst: false for [time, batch, features]).
  const x = eddy.tensor(new Float32Array(4 * 10 * 8).map(Math.random), [4, 10, 8]);

  // Variable-length batches: steps past a sequence's end output zeros and
  // leave its state alone; the reverse direction starts at each sequence's end.
  const { output, h } = lstm.forward(x, { lengths: Int32Array.of(10, 7, 3, 9) });
  console.log('output', output.shape, 'h', h.shape);

  // Backpropagation through time: any function of tensors trains through the tape.
  const loss = eddy.mean(eddy.square(output));
  loss.backward();
  for (const [name, p] of lstm.namedParameters().slice(0, 4)) console.log(name, p.grad!.shape);
  lstm.zeroGrad();

  // Inference keeps nothing for backward, and can run off the main thread.
  lstm.eval();
  const served = await eddy.noGrad(() => lstm.forwardAsync(x));
  console.log('served', served.output.shape, 'recorded:', served.output.gradFn !== null);

  // Weights load from (and save to) PyTorch state dicts under the same names.
  const gru = new eddy.GRU({ inputSize: 8, hiddenSize: 16, resetAfter: false }); // Keras reset_after=False
  gru.loadStateDict({ ...gru.stateDict() });
  console.log(gru.toString(), Object.keys(gru.stateDict()));
}

void main();
