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

  it('reports each leaf once, as soon as its gradient is complete, with that gradient', async () => {
    eddy.manualSeed(3);
    const first = new eddy.Linear({ inFeatures: 4, outFeatures: 5 });
    const second = new eddy.Linear({ inFeatures: 5, outFeatures: 2 });
    const x = eddy.tensor(Float32Array.from({ length: 12 }, (_, i) => Math.cos(i)), [3, 4]);
    // first.weight is used twice, so it completes only after both uses have run.
    const hidden = eddy.tanh(first.forward(x));
    const loss = eddy.add(eddy.sum(eddy.square(second.forward(hidden))), eddy.sum(eddy.mul(first.parameters()[0].data, first.parameters()[0].data)));
    const seen: [eddy.Tensor, Float32Array, boolean][] = [];
    const all = [...first.parameters(), ...second.parameters()].map((p) => p.data);
    await eddy.backwardAsync([loss], undefined, { onGradReady: (t, g) => void seen.push([t, g.toFloat32Array(), all.every((p) => p.grad === null)]) });
    assert.strictEqual(seen.length, all.length);
    assert.strictEqual(new Set(seen.map(([t]) => t)).size, all.length, 'each leaf once');
    for (const [t, g, before] of seen) {
      assert.ok(before, 'reported during the walk, before the grads are assigned');
      assert.deepStrictEqual(Array.from(g), Array.from(t.grad!.data), 'the complete gradient');
    }
    // The head's parameters complete before the first layer's.
    const order = seen.map(([t]) => all.indexOf(t));
    assert.ok(Math.min(order.indexOf(2), order.indexOf(3)) < Math.max(order.indexOf(0), order.indexOf(1)), `order ${order}`);
    assert.throws(() => eddy.backward([loss], undefined, { onGradReady: 3 as never }), /Expected a function for opts.onGradReady but received 3 of type number/);
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
