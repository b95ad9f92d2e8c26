import * as assert from 'assert';
import * as eddy from '../../lib';
import { Tensor } from '../../lib';

function graph(seed: number): { lstm: eddy.LSTM; x: Tensor; loss: () => Tensor } {
  eddy.manualSeed(seed);
  const lstm = new eddy.LSTM({ inputSize: 4, hiddenSize: 6, numLayers: 2, bidirectional: true });
  const head = new eddy.Linear({ inFeatures: 12, outFeatures: 3 });
  const x = eddy.tensor(Float32Array.from({ length: 5 * 7 * 4 }, (_, i) => Math.sin(i)), [5, 7, 4], { requiresGrad: true });
  const loss = (): Tensor => {
    const { output, h } = lstm.forward(x, { lengths: [7, 3, 5, 1, 6] });
    return eddy.add(eddy.mean(eddy.square(head.forward(output))), eddy.sum(h));
  };
  return { lstm, x, loss };
}

describe('backwardAsync', () => {
  it('gives exactly the gradients backward gives', async () => {
    const a = graph(1);
    a.loss().backward();
    const b = graph(1);
    await eddy.backwardAsync([b.loss()]);
    assert.deepStrictEqual(Array.from(b.x.grad!.data), Array.from(a.x.grad!.data));
    a.lstm.parameters().forEach((p, i) => assert.deepStrictEqual(Array.from(b.lstm.parameters()[i].grad!.data), Array.from(p.grad!.data)));
  });

  it('frees the graph unless retained, like backward', async () => {
    const { loss } = graph(2);
    const l = loss();
    await eddy.backwardAsync([l], undefined, { retainGraph: true });
    await eddy.backwardAsync([l]);
    await assert.rejects(eddy.backwardAsync([l]), { code: 'ERR_EDDY_GRAPH_FREED' });
  });

  it('runs a long recurrent backward off the main thread: timers fire meanwhile', async () => {
    const lstm = new eddy.LSTM({ inputSize: 64, hiddenSize: 256 });
    const x = eddy.tensor(new Float32Array(32 * 200 * 64).fill(0.1), [32, 200, 64]);
    const { output } = lstm.forward(x);
    let ticks = 0;
    let done = false;
    const tick = (): void => {
      if (done) return;
      ticks++;
      setTimeout(tick, 0);
    };
    setTimeout(tick, 0);
    await eddy.backwardAsync([output], [eddy.tensor(new Float32Array(output.size).fill(1e-3), output.shape)]);
    done = true;
    assert.ok(ticks > 0, 'no timer fired during backwardAsync');
    assert.ok(lstm.parameters()[0].grad, 'gradients were filled in');
  });
});
