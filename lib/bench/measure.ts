/** Timing helpers: repeated samples of a fixed duration, reported as the median. */

export interface Timing {
  /** Median milliseconds per call over the samples. */
  msPerIter: number;
  samples: number;
}

/**
 * Calls fn repeatedly: a warm-up, then `samples` runs of at least
 * `sampleMs` each; returns the median time per call.
 */
export function measure(fn: () => void, sampleMs = 250, samples = 5): Timing {
  const start = performance.now();
  fn();
  const once = Math.max(performance.now() - start, 1e-3);
  const perSample = Math.max(1, Math.ceil(sampleMs / once));
  const times: number[] = [];
  for (let s = 0; s < samples; s++) {
    const t0 = performance.now();
    for (let i = 0; i < perSample; i++) fn();
    times.push((performance.now() - t0) / perSample);
  }
  times.sort((a, b) => a - b);
  return { msPerIter: times[Math.floor(times.length / 2)], samples };
}

/** Async variant of `measure` for Promise-returning work. */
export async function measureAsync(fn: () => Promise<void>, sampleMs = 250, samples = 5): Promise<Timing> {
  const start = performance.now();
  await fn();
  const once = Math.max(performance.now() - start, 1e-3);
  const perSample = Math.max(1, Math.ceil(sampleMs / once));
  const times: number[] = [];
  for (let s = 0; s < samples; s++) {
    const t0 = performance.now();
    for (let i = 0; i < perSample; i++) await fn();
    times.push((performance.now() - t0) / perSample);
  }
  times.sort((a, b) => a - b);
  return { msPerIter: times[Math.floor(times.length / 2)], samples };
}
