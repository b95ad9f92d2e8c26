/**
 * copyInto and addInto: contiguous operands of 2048 elements or more in
 * different buffers take one native pass, everything else the strided loop;
 * both must give what element-by-element arithmetic gives, touch nothing
 * outside the views, and refuse detached buffers.
 */
import * as assert from 'assert';
import { Tensor, ValidationError } from '../../lib';
import { addInto, copyInto } from '../../lib/tensor/strided';

/** A buffer of `n` floats holding sin(seed + i), exactly representable. */
function filled(n: number, seed: number): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => Math.fround(Math.sin(seed + i)));
}

describe('strided transfers', () => {
  const rows = 40;
  const cols = 60;  // 2400 elements: the native pass
  const n = rows * cols;

  for (const accumulate of [false, true]) {
    const name = accumulate ? 'addInto' : 'copyInto';
    const apply = accumulate ? addInto : copyInto;
    const expect = (d: number, s: number): number => (accumulate ? Math.fround(d + s) : s);

    it(`${name} writes a contiguous view at an offset exactly and leaves its neighbours alone`, () => {
      const dstBuffer = filled(n + 9, 1);
      const srcBuffer = filled(n + 5, 2);
      const before = dstBuffer.slice();
      apply(new Tensor(dstBuffer, [rows, cols], undefined, 4), new Tensor(srcBuffer, [rows, cols], undefined, 3));
      for (let i = 0; i < dstBuffer.length; i++) {
        const want = i >= 4 && i < 4 + n ? expect(before[i], srcBuffer[i - 4 + 3]) : before[i];
        assert.strictEqual(dstBuffer[i], want, `element ${i}`);
      }
    });

    it(`${name} into a transposed view and within one buffer follows the strides`, () => {
      const dstBuffer = filled(n, 3);
      const before = dstBuffer.slice();
      const src = new Tensor(filled(n, 4), [cols, rows]);
      // dst is the transpose of a [rows, cols] array: element (j, i) lives at i·cols + j.
      apply(new Tensor(dstBuffer, [cols, rows], [1, cols], 0), src);
      for (let j = 0; j < cols; j++) {
        for (let i = 0; i < rows; i++) assert.strictEqual(dstBuffer[i * cols + j], expect(before[i * cols + j], src.data[j * rows + i]));
      }
      // Two halves of one buffer: the strided loop, not the native pass.
      const shared = filled(2 * n, 5);
      const original = shared.slice();
      apply(new Tensor(shared, [n], undefined, 0), new Tensor(shared, [n], undefined, n));
      for (let i = 0; i < n; i++) assert.strictEqual(shared[i], expect(original[i], original[n + i]), `shared element ${i}`);
      for (let i = n; i < 2 * n; i++) assert.strictEqual(shared[i], original[i]);
    });

    it(`${name} refuses a detached buffer at any size`, () => {
      for (const size of [8, n]) {
        const dst = new Tensor(new Float32Array(size), [size]);
        const data = new Float32Array(size);
        const src = new Tensor(data, [size]);
        structuredClone(data.buffer, { transfer: [data.buffer] });
        assert.throws(() => apply(dst, src), (e: unknown) => e instanceof ValidationError && /src to hold its \d+ elements/.test((e as Error).message));
      }
    });
  }
});
