import * as assert from 'assert';
import * as eddy from '../../lib';
import { ShapeError, ValidationError } from '../../lib';
import { throwsExactly } from '../losses/fixtures';

const { accuracy, perplexity, bitsPerCharacter, mae, rmse, mape } = eddy.metrics;

describe('metrics', () => {
  describe('accuracy', () => {
    it('takes the argmax of logits (the first maximum on ties)', () => {
      const logits = eddy.tensor([[0.1, 0.9, 0], [2, 1, 2], [0, 0, 1], [5, 4, 3]]);
      // argmax: 1, 0 (tie with 2), 2, 0
      assert.strictEqual(accuracy(logits, [1, 0, 2, 1]), 0.75);
      assert.strictEqual(accuracy(logits, [1, 2, 2, 0]), 0.75);
      assert.strictEqual(accuracy(logits, Int32Array.of(1, 0, -100, 1)), 2 / 3);
      assert.strictEqual(accuracy(logits, eddy.tensor([1, 0, 2, 0])), 1);
      assert.strictEqual(accuracy(eddy.tensor([[0, NaN, 1]]), [1]), 1);
    });

    it('compares predicted classes given as arrays or tensors', () => {
      assert.strictEqual(accuracy([1, 2, 3, 4], [1, 2, 0, 0]), 0.5);
      assert.strictEqual(accuracy(Int32Array.of(1, 2, 3), [1, 5, 3], { ignoreIndex: 5 }), 1);
      assert.strictEqual(accuracy(eddy.tensor([[1, 2], [3, 4]]), [[1, 0], [3, 4]]), 0.75);
      assert.strictEqual(accuracy(eddy.tensor([[1, 2], [3, 4]]), [1, 0, 3, 4]), 0.75);
      assert.ok(Number.isNaN(accuracy([1, 2], [-100, -100])));
    });

    it('counts only the steps within each sequence\'s length', () => {
      const logits = eddy.zeros([2, 3, 4]); // argmax 0 everywhere
      const targets = [[0, 0, 1], [0, 7, 7]];
      assert.strictEqual(accuracy(logits, targets, { lengths: Int32Array.of(2, 1) }), 1);
      assert.strictEqual(accuracy(logits, targets, { lengths: [3, 1] }), 0.75);
      assert.strictEqual(accuracy([[0, 0, 1], [0, 1, 1]], targets, { lengths: [3, 1] }), 1);
    });

    it('rejects bad arguments with exact messages', () => {
      const logits = eddy.zeros([2, 3]);
      throwsExactly(() => accuracy(logits, [0, 3]), ValidationError, 'Expected class indices (integers between 0 and 2, or ignoreIndex -100) for targets but received targets[1] = 3');
      throwsExactly(() => accuracy(logits, [0, 1, 2]), ShapeError, 'Expected targets of shape [2] for accuracy with predictions [2, 3] but received an array of length 3');
      throwsExactly(() => accuracy([0, 1], [0, -1]), ValidationError, 'Expected class indices (non-negative integers, or ignoreIndex -100) for targets but received targets[1] = -1');
      throwsExactly(() => accuracy(logits, [0, 1], { lengths: [1, 1] }), ValidationError, 'Expected predictions with a time axis ([batch, time] classes or [batch, time, classes] logits) with opts.lengths for accuracy but received [2, 3]');
      throwsExactly(() => accuracy(eddy.zeros([2, 3, 4]), [[0, 0, 1], [0, 7, 7]], { lengths: [1, 4] }), ValidationError, 'Expected opts.lengths between 1 and 3 (the number of time steps) but received opts.lengths[1] = 4');
      throwsExactly(() => accuracy(eddy.zeros([2, 3, 4, 5]), [0, 1]), ShapeError, 'Expected predictions shaped like targets [2] (classes) or [..., classes] (logits) for accuracy but received [2, 3, 4, 5]');
      throwsExactly(() => accuracy(logits, 7 as never), ValidationError, 'Expected Tensor, Int32Array or array of class indices for targets but received 7 of type number');
    });
  });

  it('perplexity and bits per character convert a mean cross-entropy in nats', () => {
    assert.ok(Math.abs(perplexity(Math.log(10)) - 10) < 1e-12);
    assert.strictEqual(perplexity(0), 1);
    assert.strictEqual(bitsPerCharacter(Math.LN2), 1);
    assert.ok(Math.abs(bitsPerCharacter(eddy.tensor([Math.log(4)])) - 2) < 1e-6);
    // A uniform model over 4 classes: crossEntropy log 4, perplexity 4.
    assert.ok(Math.abs(perplexity(eddy.losses.crossEntropy(eddy.zeros([3, 4]), [0, 1, 2])) - 4) < 1e-5);
    throwsExactly(() => perplexity(-1), ValidationError, 'Expected non-negative number or one-element Tensor for meanCrossEntropyNats but received -1 of type number');
    throwsExactly(() => bitsPerCharacter(NaN), ValidationError, 'Expected non-negative number or one-element Tensor for meanCrossEntropyNats but received NaN of type number');
  });

  it('mae, rmse and mape (skipping zero targets) agree with hand-computed values', () => {
    const p = [1, 2, 4, 10];
    const t = [2, 2, 2, 0];
    assert.strictEqual(mae(p, t), (1 + 0 + 2 + 10) / 4);
    assert.strictEqual(rmse(p, t), Math.sqrt((1 + 0 + 4 + 100) / 4));
    // |1-2|/2, 0, |4-2|/2; the zero target is skipped
    assert.strictEqual(mape(p, t), (100 * (0.5 + 0 + 1)) / 3);
    assert.strictEqual(mae(eddy.tensor([[1, 2], [3, 4]]), eddy.tensor([[1, 2], [3, 6]])), 0.5);
    assert.strictEqual(rmse(Float32Array.of(3), [0]), 3);
    assert.ok(Number.isNaN(mape([1], [0])));
    assert.ok(Number.isNaN(mae([], [])));
    throwsExactly(() => mae(eddy.zeros([2, 2]), eddy.zeros([4])), ShapeError, 'Expected targets of shape [2, 2] (the shape of predictions) for mae but received [4]');
    throwsExactly(() => rmse([1, 2], [1]), ShapeError, 'Expected targets with 2 values (one per prediction) for rmse but received an array of length 1');
    throwsExactly(() => mape('12' as never, [1]), ValidationError, 'Expected Tensor or array of numbers for predictions but received "12" of type string');
  });
});
