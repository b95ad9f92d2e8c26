/** Loading the PyTorch results in test/fixtures/losses (schema in its README) and comparing against them. */
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { ShapeError, Tensor, ValidationError, tensor } from '../../lib';

export const LOSS_FIXTURE_DIR = path.resolve(__dirname, '..', '..', '..', 'test', 'fixtures', 'losses');

export interface RefTensor {
  shape: number[];
  data: number[];
}

/**
 * The cases of one fixture file. When the file is missing (it is made with
 * Python, which tests never run) the test is skipped, saying why.
 */
export function loadCases<T>(test: Mocha.Context, file: string): T[] {
  const where = path.join(LOSS_FIXTURE_DIR, file);
  if (!fs.existsSync(where)) {
    console.log(`      SKIPPED: ${path.relative(process.cwd(), where)} is missing; regenerate it with PyTorch: python3 scripts/make-loss-fixtures.py`);
    test.skip();
  }
  return (JSON.parse(fs.readFileSync(where, 'utf8')) as { cases: T[] }).cases;
}

export function toTensor(t: RefTensor, requiresGrad = false): Tensor {
  return tensor(Float32Array.from(t.data), t.shape, { requiresGrad });
}

/**
 * max |actual - expected| / max |expected| over the array (relative to the
 * array's scale, so entries that are 0 in the reference do not demand an
 * exact 0); asserts it is within tol and returns it.
 */
export function assertRelative(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number, what: string): number {
  assert.strictEqual(actual.length, expected.length, `${what}: length ${actual.length} vs ${expected.length}`);
  let scale = 0;
  for (let i = 0; i < expected.length; i++) scale = Math.max(scale, Math.abs(expected[i]));
  let worst = 0;
  let at = -1;
  for (let i = 0; i < actual.length; i++) {
    const d = Math.abs(actual[i] - expected[i]) / (scale || 1);
    if (!(d <= worst)) {
      worst = d;
      at = i;
    }
  }
  assert.ok(worst <= tol, `${what}: relative difference ${worst.toExponential(3)} at ${at} exceeds ${tol} (got ${actual[at]}, expected ${expected[at]})`);
  return worst;
}

/** Asserts that fn throws exactly this error type and message. */
export function throwsExactly(fn: () => unknown, type: typeof ShapeError | typeof ValidationError, message: string): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof type, `expected ${type.name}, got ${(err as Error).constructor.name}: ${(err as Error).message}`);
    assert.strictEqual((err as Error).message, message);
    return true;
  });
}
