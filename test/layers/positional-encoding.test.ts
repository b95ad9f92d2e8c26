import * as assert from 'assert';
import * as eddy from '../../lib';
import { PositionalEncoding } from '../../lib';

describe('PositionalEncoding', () => {
  it('adds sin/cos of position · 10000^(−2i/d) (PyTorch tutorial layout)', () => {
    const pe = new PositionalEncoding({ dModel: 6, maxLen: 50, dropout: 0 });
    const x = eddy.zeros([1, 4, 6]);
    const y = pe.forward(x, { offset: 3 });
    for (let t = 0; t < 4; t++) {
      for (let i = 0; i < 6; i += 2) {
        const angle = (t + 3) / Math.pow(10000, i / 6);
        // float32 storage of values in [−1, 1]: 6e-8 rounding.
        assert.ok(Math.abs(y.get(0, t, i) - Math.sin(angle)) < 1e-6);
        assert.ok(Math.abs(y.get(0, t, i + 1) - Math.cos(angle)) < 1e-6);
      }
    }
  });

  it('time-major input gets the same encodings per position', () => {
    const a = new PositionalEncoding({ dModel: 4, maxLen: 8, dropout: 0 });
    const b = new PositionalEncoding({ dModel: 4, maxLen: 8, dropout: 0, batchFirst: false });
    const x = eddy.tensor(new eddy.Generator(2).uniform(new Float32Array(2 * 5 * 4), -1, 1), [2, 5, 4]);
    assert.deepStrictEqual(Array.from(b.forward(x.transpose(0, 1)).transpose(0, 1).toFloat32Array()), Array.from(a.forward(x).toFloat32Array()));
  });

  it('learned tables are a `weight` parameter that gets gradients only for the positions used', () => {
    const pe = new PositionalEncoding({ dModel: 2, maxLen: 6, kind: 'learned', dropout: 0 });
    assert.deepStrictEqual(Object.keys(pe.stateDict()), ['weight']);
    eddy.sum(pe.forward(eddy.zeros([3, 2, 2]), { offset: 1 })).backward();
    assert.deepStrictEqual(Array.from(pe.weight!.grad!.toFloat32Array()), [0, 0, 3, 3, 3, 3, 0, 0, 0, 0, 0, 0]);
  });

  it('refuses inputs longer than maxLen and unknown kinds', () => {
    const pe = new PositionalEncoding({ dModel: 2, maxLen: 4 });
    assert.throws(() => pe.forward(eddy.zeros([1, 3, 2]), { offset: 2 }), /Expected at most 4 positions \(maxLen\) from offset 2 for input/);
    assert.throws(() => new PositionalEncoding({ dModel: 2, kind: 'rotary' as never }), /kind/);
  });
});
