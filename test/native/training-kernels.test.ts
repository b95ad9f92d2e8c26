/**
 * The native entry points behind cross-entropy, the embedding lookup,
 * gradient clipping and gradient accumulation re-check what TypeScript already checked: a caller that
 * reaches them with wrong sizes or out-of-range indices gets a
 * NativeArgumentError, never a read outside an array.
 */
import * as assert from 'assert';
import { binding } from '../../lib/native';

const rejects = (fn: () => void, message: RegExp): void => {
  assert.throws(fn, (e: unknown) => e instanceof Error && e.name === 'NativeArgumentError' && message.test(e.message));
};

describe('native training kernels: argument checks', () => {
  it('softmaxXentForward and softmaxXentBackward check sizes and targets', () => {
    const z = new Float32Array(6);
    const losses = new Float64Array(2);
    rejects(() => binding.softmaxXentForward(z, Int32Array.of(0, 3), null, 0, 2, 3, losses, null), /targets between -1 and classes - 1/);
    rejects(() => binding.softmaxXentForward(z, Int32Array.of(0, -2), null, 0, 2, 3, losses, null), /targets between -1 and classes - 1/);
    rejects(() => binding.softmaxXentForward(z, Int32Array.of(0), null, 0, 2, 3, losses, null), /2 elements for y/);
    rejects(() => binding.softmaxXentForward(z, Int32Array.of(0, 1), null, 0, 3, 3, new Float64Array(3), null), /9 elements for z/);
    rejects(() => binding.softmaxXentForward(z, Int32Array.of(0, 1), new Float32Array(2), 0, 2, 3, losses, null), /3 elements for weight/);
    rejects(() => binding.softmaxXentBackward(new Float32Array(6), new Float32Array(5), Int32Array.of(0, 1), null, 0, new Float64Array(2), 2, 3), /6 elements for probs/);
    binding.softmaxXentForward(z, Int32Array.of(0, -1), null, 0, 2, 3, losses, null);
    assert.ok(Math.abs(losses[0] - Math.log(3)) < 1e-6 && losses[1] === 0);
  });

  it('embeddingForward and embeddingBackward check ids and sizes', () => {
    const weight = new Float32Array(8);
    rejects(() => binding.embeddingForward(new Float32Array(4), weight, Int32Array.of(0, 4), 4, 2), /ids between 0 and V - 1/);
    rejects(() => binding.embeddingForward(new Float32Array(4), weight, Int32Array.of(0, -1), 4, 2), /ids between 0 and V - 1/);
    rejects(() => binding.embeddingForward(new Float32Array(5), weight, Int32Array.of(0, 1), 4, 2), /out of n·D elements/);
    rejects(() => binding.embeddingForward(new Float32Array(4), weight, Int32Array.of(0, 1), 5, 2), /10 elements for weight/);
    rejects(() => binding.embeddingBackward(weight, new Float32Array(4), Int32Array.of(1, 9), -1, 4, 2), /ids between 0 and V - 1/);
    rejects(() => binding.embeddingBackward(weight, new Float32Array(4), Int32Array.of(1, 2), 4, 4, 2), /range for pad/);
    // V·D that would wrap around 2^64 (2^39 · 2^25) must not let an empty weight through.
    rejects(() => binding.embeddingForward(new Float32Array(2 ** 25), new Float32Array(0), Int32Array.of(1), 2 ** 39, 2 ** 25), /range for V/);
    rejects(() => binding.embeddingBackward(new Float32Array(0), new Float32Array(2 ** 25), Int32Array.of(1), -1, 2 ** 39, 2 ** 25), /range for V/);
  });

  it('totalNorm and scaleArrays take only arrays of Float32Array and a positive order', () => {
    rejects(() => binding.totalNorm([new Float32Array(2), new Float64Array(2) as never], 2), /array of Float32Array/);
    rejects(() => binding.totalNorm([new Float32Array(2)], 0), /positive number for p/);
    rejects(() => binding.scaleArrays('x' as never, 2), /array of Float32Array/);
    assert.strictEqual(binding.totalNorm([Float32Array.of(3), Float32Array.of(0, 4)], 2), 5);
    assert.strictEqual(binding.totalNorm([], Infinity), 0);
  });

  it('addArrays adds pairs of equal lengths in place and refuses mismatched or overlapping ones', () => {
    rejects(() => binding.addArrays([new Float32Array(2)], []), /as many src arrays as dst arrays \(1\) but received 0/);
    rejects(() => binding.addArrays([new Float32Array(2)], [new Float32Array(3)]), /src\[0\] to have dst\[0\]'s length 2 but received 3/);
    rejects(() => binding.addArrays([new Float32Array(2)], [new Float64Array(2) as never]), /array of Float32Array for src/);
    const buffer = new Float32Array(8);
    rejects(() => binding.addArrays([buffer.subarray(0, 4)], [buffer.subarray(2, 6)]), /dst\[0\] and src\[0\] not to overlap/);
    // Across the pool's chunks (2^14 elements) and a partial last chunk.
    const n = 3 * 16384 + 5;
    const a = Float32Array.from({ length: n }, (_, i) => i * 0.5);
    const b = Float32Array.from({ length: n }, (_, i) => 1 - i);
    const c = Float32Array.of(1, 2);
    binding.addArrays([a, c], [b, c]);
    for (let i = 0; i < n; i++) assert.strictEqual(a[i], Math.fround(Math.fround(i * 0.5) + Math.fround(1 - i)), `element ${i}`);
    assert.deepStrictEqual(Array.from(c), [2, 4], 'an array added to itself doubles');
    // A getter among the src arrays that detaches a dst buffer runs before any pointer is kept.
    const dst = new Float32Array(4);
    const tricky = [new Float32Array(4)];
    Object.defineProperty(tricky, 0, { get: () => (structuredClone(dst.buffer, { transfer: [dst.buffer] }), new Float32Array(4)) });
    rejects(() => binding.addArrays([dst], tricky), /src\[0\] to have dst\[0\]'s length 0 but received 4/);
  });
});
