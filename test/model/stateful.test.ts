import * as assert from 'assert';
import * as eddy from '../../lib';
import { Tensor } from '../../lib';

const stream = (B: number, T: number, seed: number): Tensor => eddy.tensor(new eddy.Generator(seed).uniform(new Float32Array(B * T * 2), -1, 1), [B, T, 2]);

describe('stateful layers and truncated backpropagation through time', () => {
  it('carry final states into the next call: chunks equal one long run', () => {
    eddy.manualSeed(1);
    const lstm = new eddy.LSTM({ inputSize: 2, hiddenSize: 5, numLayers: 2, stateful: true });
    const x = stream(3, 12, 2);
    const whole = eddy.noGrad(() => {
      const plain = new eddy.LSTM({ inputSize: 2, hiddenSize: 5, numLayers: 2 });
      plain.loadStateDict(lstm.stateDict());
      return plain.forward(x).output;
    });
    const parts = [x.slice(1, 0, 5).contiguous(), x.slice(1, 5, 9).contiguous(), x.slice(1, 9).contiguous()].map((chunk) => eddy.noGrad(() => lstm.forward(chunk).output));
    const joined = eddy.concat(parts, 1);
    const worst = Array.from(joined.data).reduce((m, v, i) => Math.max(m, Math.abs(v - whole.data[i])), 0);
    assert.ok(worst < 1e-6, `max difference ${worst}`);
    lstm.resetStates();
    assert.deepStrictEqual(Array.from(eddy.noGrad(() => lstm.forward(x.slice(1, 0, 5).contiguous()).output.data)), Array.from(parts[0].data));
  });

  it('truncates gradients at chunk boundaries', () => {
    const gru = new eddy.GRU({ inputSize: 2, hiddenSize: 3, stateful: true });
    const a = stream(2, 4, 3);
    gru.forward(a);
    const b = stream(2, 4, 4);
    const { output } = gru.forward(b);
    // The second chunk's graph starts from detached states: nothing flows back into the first call.
    assert.ok(output.gradFn);
    output.sum().backward();
    assert.ok(gru.parameters()[0].grad);
  });

  it('insist on one batch size until reset', () => {
    const rnn = new eddy.RNN({ inputSize: 2, hiddenSize: 3, stateful: true });
    rnn.forward(stream(2, 3, 1));
    assert.throws(() => rnn.forward(stream(4, 3, 1)), {
      name: 'ShapeError',
      message: 'Expected a batch of 2 sequences for stateful RNN(inputSize=2, hiddenSize=3, stateful=true) (the size its carried states have) but received 4; call resetStates() to change it',
    });
    rnn.resetStates();
    rnn.forward(stream(4, 3, 1));
  });

  it('train with fit over consecutive chunks, in order', async () => {
    eddy.manualSeed(2);
    const model = eddy.sequential([new eddy.LSTM({ inputSize: 2, hiddenSize: 8, stateful: true }), new eddy.Linear({ inFeatures: 8, outFeatures: 1 })]);
    assert.strictEqual(model.stateful, true);
    // One long stream per batch row, cut into chunks of 5 steps: batch k holds steps 5k..5k+4 of every row.
    const rows = 4, chunk = 5, chunks = 6;
    const x = stream(rows, chunk * chunks, 5);
    const y = new Float32Array(rows * chunk * chunks);
    for (let r = 0; r < rows; r++) {
      let s = 0;
      for (let t = 0; t < chunk * chunks; t++) y[r * chunk * chunks + t] = s = 0.8 * s + 0.3 * x.data[(r * chunk * chunks + t) * 2];
    }
    const target = eddy.tensor(y, [rows, chunk * chunks, 1]);
    const batches = Array.from({ length: chunks }, (_, k) => ({ x: x.slice(1, k * chunk, (k + 1) * chunk).contiguous(), y: target.slice(1, k * chunk, (k + 1) * chunk).contiguous() }));
    const history = await model.fit(batches, { epochs: 40, loss: 'mse', optimizer: new eddy.optim.Adam(model.parameters(), { lr: 0.02 }) });
    const loss = history.history.loss;
    assert.ok(loss[loss.length - 1] < loss[0] / 5, `loss ${loss[0]} → ${loss[loss.length - 1]}`);
    await assert.rejects(model.fit(batches, { loss: 'mse', shuffle: true }), { message: 'Expected shuffle: false for a model with stateful layers: their states carry from each batch to the next in order' });
  });
});
