import * as assert from 'assert';
import { setImmediate as tick } from 'timers/promises';
import * as eddy from '../../lib';
import { Tensor } from '../../lib';

const leaf = (): Tensor => eddy.tensor([1, 2], undefined, { requiresGrad: true });

describe('grad mode', () => {
  it('noGrad turns recording off for a synchronous function and returns its result', () => {
    const x = leaf();
    assert.strictEqual(eddy.isGradEnabled(), true);
    const y = eddy.noGrad(() => {
      assert.strictEqual(eddy.isGradEnabled(), false);
      // Nested noGrad keeps it off, and leaving the inner one does not turn it on.
      eddy.noGrad(() => assert.strictEqual(eddy.isGradEnabled(), false));
      assert.strictEqual(eddy.isGradEnabled(), false);
      return eddy.mul(x, 2).sum();
    });
    assert.strictEqual(y.requiresGrad, false);
    assert.strictEqual(y.gradFn, null);
    assert.strictEqual(y.item(), 6);
    assert.strictEqual(eddy.isGradEnabled(), true);
  });

  it('restores recording when the function throws', () => {
    assert.throws(() => eddy.noGrad(() => { throw new Error('boom'); }), /boom/);
    assert.strictEqual(eddy.isGradEnabled(), true);
    assert.strictEqual(eddy.mul(leaf(), 2).requiresGrad, true);
  });

  it('keeps recording off across the awaits of an async function, while concurrent code still records', async () => {
    const x = leaf();
    const log: string[] = [];
    const inference = eddy.noGrad(async () => {
      const outputs: Tensor[] = [];
      for (let i = 0; i < 3; i++) {
        await tick();
        log.push('inference');
        outputs.push(eddy.mul(x, i));
        assert.strictEqual(eddy.isGradEnabled(), false);
      }
      return outputs;
    });
    // Started after noGrad returned its Promise, interleaved with it on the event loop.
    const training = (async () => {
      const outputs: Tensor[] = [];
      for (let i = 0; i < 3; i++) {
        await tick();
        log.push('training');
        outputs.push(eddy.mul(x, i));
        assert.strictEqual(eddy.isGradEnabled(), true);
      }
      return outputs;
    })();
    assert.strictEqual(eddy.isGradEnabled(), true, 'the caller of noGrad(async) keeps recording');
    const [off, on] = await Promise.all([inference, training]);
    assert.deepStrictEqual(log, ['inference', 'training', 'inference', 'training', 'inference', 'training']);
    assert.ok(off.every((t) => !t.requiresGrad && t.gradFn === null));
    assert.ok(on.every((t) => t.requiresGrad && t.gradFn !== null));
    assert.strictEqual(eddy.isGradEnabled(), true);
  });

  it('rejects from noGrad(async) with the function\'s error, and recording stays on outside', async () => {
    await assert.rejects(eddy.noGrad(async () => {
      await tick();
      throw new Error('late');
    }), /late/);
    assert.strictEqual(eddy.isGradEnabled(), true);
  });

  it('is off while backward runs, so backward functions record nothing', () => {
    const x = leaf();
    const y = eddy.tensor([0, 0]);
    let inside: boolean | undefined;
    let recorded: Tensor | undefined;
    eddy.record('probe', [x], [y], ([g]) => {
      inside = eddy.isGradEnabled();
      recorded = eddy.mul(x, g as Tensor);
      return [g];
    });
    y.backward(eddy.tensor([1, 1]));
    assert.strictEqual(inside, false);
    assert.strictEqual(recorded?.requiresGrad, false);
    assert.strictEqual(eddy.isGradEnabled(), true);
  });

  it('rejects a non-function with an exact message', () => {
    assert.throws(() => eddy.noGrad(5 as never), { name: 'ValidationError', message: 'Expected a function for fn but received 5 of type number' });
  });
});
