// ES module consumer of the installed package: named imports resolve through
// the exports map, and an LSTM runs forward and backward.
import assert from 'node:assert';
import { LSTM, tensor, mean, square, runtimeInfo } from 'eddy-rnn';

const lstm = new LSTM({ inputSize: 3, hiddenSize: 4 });
const x = tensor(new Float32Array(2 * 5 * 3).map((_, i) => Math.sin(i)), [2, 5, 3]);
const { output } = lstm.forward(x);
assert.deepStrictEqual(output.shape, [2, 5, 4]);
mean(square(output)).backward();
assert.ok(lstm.parameters().every((p) => p.grad !== null));
const info = runtimeInfo();
console.log(`import from 'eddy-rnn' works: LSTM output ${JSON.stringify(output.shape)}, BLAS ${info.blasCore}`);
