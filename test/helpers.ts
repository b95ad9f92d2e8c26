/** Shared test fixtures: a seeded generator and float comparisons that report the largest difference. */
import * as assert from 'assert';
import { spawn } from 'child_process';
import { getNumThreads, setNumThreads } from '../lib/runtime/threads';

/**
 * `EDDY_HEAVY_TESTS=1` runs the robustness tests at full size (more fuzz
 * mutations, kills, steps); CI runs them at the size that fits its budget.
 */
export function heavyOr<T>(light: T, heavy: T): T {
  return process.env.EDDY_HEAVY_TESTS === '1' ? heavy : light;
}

/** Mulberry32: small, fast, seeded; good enough for test data. */
export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function randomArray(n: number, random: () => number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = random() * 2 - 1;
  return a;
}

/**
 * Asserts |actual - expected| <= tol * max(1, |expected|) elementwise and
 * returns the largest scaled difference, so tests can print it.
 */
export function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number, what = 'values'): number {
  assert.strictEqual(actual.length, expected.length, `${what}: length ${actual.length} vs ${expected.length}`);
  let worst = 0;
  let at = -1;
  for (let i = 0; i < actual.length; i++) {
    const d = Math.abs(actual[i] - expected[i]) / Math.max(1, Math.abs(expected[i]));
    if (!(d <= worst)) {
      worst = d;
      at = i;
    }
  }
  assert.ok(worst <= tol, `${what}: max scaled difference ${worst.toExponential(3)} at ${at} exceeds ${tol} (got ${actual[at]}, expected ${expected[at]})`);
  return worst;
}

/** Runs fn with `threads` threads in Eddy's pool, restoring the previous count afterwards. */
export function withThreads<T>(threads: number, fn: () => T): T {
  const before = getNumThreads();
  setNumThreads(threads);
  try {
    return fn();
  } finally {
    setNumThreads(before);
  }
}

/** Runs Node with `args` and `env` added to this process's environment (an undefined value leaves the variable out); resolves with the exit code and stdout + stderr. */
export function runNode(args: string[], env: Record<string, string | undefined>): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
  });
}
