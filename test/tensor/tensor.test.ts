import * as assert from 'assert';
import * as eddy from '../../lib';
import { ShapeError, Tensor, ValidationError } from '../../lib';

describe('tensor', () => {
  it('wraps a Float32Array without copying', () => {
    const data = new Float32Array([1, 2, 3, 4, 5, 6]);
    const t = eddy.tensor(data, [2, 3]);
    assert.strictEqual(t.data, data);
    assert.deepStrictEqual(t.shape, [2, 3]);
    assert.strictEqual(t.size, 6);
    assert.strictEqual(t.rank, 2);
    assert.strictEqual(t.dtype, 'float32');
    data[4] = 50;
    assert.deepStrictEqual(t.toArray(), [[1, 2, 3], [4, 50, 6]]);
  });

  it('copies other typed arrays and nested arrays, inferring the shape', () => {
    const t = eddy.tensor([[[1], [2]], [[3], [4]]]);
    assert.deepStrictEqual(t.shape, [2, 2, 1]);
    assert.deepStrictEqual(Array.from(t.data), [1, 2, 3, 4]);
    const f64 = new Float64Array([0.5, 1.5]);
    const u = eddy.tensor(f64);
    assert.notStrictEqual(u.data.buffer, f64.buffer);
    assert.deepStrictEqual(u.shape, [2]);
    assert.deepStrictEqual(eddy.tensor(7).shape, []);
    assert.strictEqual(eddy.tensor(7).item(), 7);
    assert.deepStrictEqual(eddy.tensor([]).shape, [0]);
    assert.deepStrictEqual(eddy.tensor([1, 2, 3, 4], [2, 2]).toArray(), [[1, 2], [3, 4]]);
  });

  it('gives exact messages for bad data, shapes and options', () => {
    const cases: Array<[() => unknown, typeof ShapeError | typeof ValidationError, string]> = [
      [() => eddy.tensor([1, 2, 3], [2, 2]), ShapeError, 'Expected data of length 4 for shape [2, 2] but received length 3'],
      [() => eddy.tensor(new Float32Array(5), [2, 3]), ShapeError, 'Expected data of length 6 for shape [2, 3] but received length 5'],
      [() => eddy.tensor([[1, 2], [3]]), ShapeError, 'Expected nested arrays of equal length for data but data[1] is of length 1, not 2'],
      [() => eddy.tensor([[1, 2], 3]), ShapeError, 'Expected nested arrays of equal length for data but data[1] is 3 of type number'],
      [() => eddy.tensor([[1, 'a']] as never), ValidationError, 'Expected number for data[0][1] but received "a" of type string'],
      [() => eddy.tensor('abc' as never), ValidationError, 'Expected Float32Array, typed array, number or (nested) array of numbers for data but received "abc" of type string'],
      [() => eddy.tensor(null as never), ValidationError, 'Expected Float32Array, typed array, number or (nested) array of numbers for data but received null'],
      [() => eddy.tensor([1, 2], [2, -1]), ValidationError, 'Expected an array of non-negative integers for shape but received an array of length 2'],
      [() => eddy.tensor([1, 2], 2 as never), ValidationError, 'Expected an array of non-negative integers for shape but received 2 of type number'],
      [() => eddy.tensor([1, 2], [2], { dtype: 'float64' as never }), ValidationError, `Expected one of 'float32' for opts.dtype but received "float64" of type string`],
      [() => eddy.tensor([1, 2], [2], 'x' as never), ValidationError, 'Expected an options object for opts but received "x" of type string'],
      [() => eddy.tensor([1, 2, 3]).item(), ShapeError, 'Expected a tensor with one element for item() but received shape [3]'],
      [() => eddy.tensor([1, 2, 3, 4], [2, 2]).reshape([3, -1]), ShapeError, 'Cannot reshape tensor of shape [2, 2] (4 elements) to [3, -1]'],
      [() => eddy.tensor([1, 2, 3, 4], [2, 2]).reshape([3]), ShapeError, 'Cannot reshape tensor of shape [2, 2] (4 elements) to [3]'],
      [() => eddy.tensor([1, 2, 3, 4], [2, 2]).transpose(0, 2), ValidationError, 'Expected dim1 between -2 and 1 for a tensor of rank 2 but received 2'],
      [() => eddy.tensor([1, 2, 3, 4], [2, 2]).select(0, 2), ValidationError, 'Expected index between -2 and 1 for dimension 0 of size 2 but received 2'],
      [() => eddy.tensor([1, 2, 3]).T, ShapeError, 'Expected a 2-D tensor for .T but received shape [3]'],
      [() => eddy.tensor([1, 2, 3]).get(0, 0), ShapeError, 'Expected 1 indices for get() on shape [3] but received 2'],
    ];
    for (const [fn, type, message] of cases) {
      assert.throws(fn, (err: unknown) => {
        assert.ok(err instanceof type, `${message}: wrong class ${(err as Error).constructor.name}`);
        assert.strictEqual((err as Error).message, message);
        assert.strictEqual((err as ShapeError).code, type === ShapeError ? 'ERR_EDDY_SHAPE' : 'ERR_EDDY_VALIDATION');
        return true;
      });
    }
  });

  describe('views', () => {
    // [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11]]
    const base = (): Tensor => eddy.tensor(Float32Array.from({ length: 12 }, (_, i) => i), [3, 4]);

    it('transposes without copying', () => {
      const t = base().T;
      assert.deepStrictEqual(t.shape, [4, 3]);
      assert.deepStrictEqual(t.strides, [1, 4]);
      assert.strictEqual(t.isContiguous(), false);
      assert.deepStrictEqual(t.toArray(), [[0, 4, 8], [1, 5, 9], [2, 6, 10], [3, 7, 11]]);
      assert.strictEqual(t.get(3, 1), 7);
      assert.strictEqual(t.get(-1, -1), 11);
    });

    it('slices and selects as views sharing storage', () => {
      const b = base();
      const s = b.slice(1, 1, 3);
      assert.strictEqual(s.data, b.data);
      assert.deepStrictEqual(s.toArray(), [[1, 2], [5, 6], [9, 10]]);
      assert.deepStrictEqual(b.slice(0, -2).toArray(), [[4, 5, 6, 7], [8, 9, 10, 11]]);
      assert.deepStrictEqual(b.select(1, 2).toArray(), [2, 6, 10]);
      assert.deepStrictEqual(b.select(0, -1).toArray(), [8, 9, 10, 11]);
      assert.deepStrictEqual(b.slice(1, 3, 1).shape, [3, 0]);
    });

    it('copies a non-contiguous view on contiguous() and reshape()', () => {
      const t = base().T;
      const c = t.contiguous();
      assert.strictEqual(c.isContiguous(), true);
      assert.notStrictEqual(c.data, t.data);
      assert.deepStrictEqual(Array.from(c.data), [0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11]);
      assert.deepStrictEqual(t.reshape([-1]).toArray(), [0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11]);
      const b = base();
      assert.strictEqual(b.reshape([2, 6]).data, b.data);
      assert.deepStrictEqual(b.reshape([2, -1, 2]).shape, [2, 3, 2]);
    });
  });
});
