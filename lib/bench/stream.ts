/**
 * Many streams through one StreamBatcher (`npm run bench -- stream`): 256
 * concurrent streams of the C4 shape (LSTM 32 → 64, alone and with a Linear
 * 64 → 32 head), one step each per round, for a fixed time. Two ways in:
 * `step` — every stream awaits its own step (a promise per step, batched by
 * the queue) — and `stepMany` — one call steps all streams, into an output
 * array reused from round to round. Prints total
 * steps per second, the step latency (p50, p99: from the call to the
 * result), the process's CPU time per step (all threads; what a loaded
 * machine does not distort), with the CPU, the kernels and the machine's
 * load average over the last minute against its core count (a load above
 * the cores means the figures are a busy machine's, not an idle one's).
 */
import * as os from 'os';
import * as eddy from '../index';
import { BENCH_CONFIGS, forwardFlopsPerToken } from './configs';

const STREAMS = 256;
/** Wall time of each measurement (after a warm-up of a tenth of it). */
const RUN_MS = 1500;

function percentile(sorted: Float64Array, q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

function modelOf(head: boolean): eddy.Sequential {
  const c = BENCH_CONFIGS.find((cfg) => cfg.id === 'C4')!;
  eddy.manualSeed(1);
  const layers: eddy.Module[] = [new eddy.LSTM({ inputSize: c.input, hiddenSize: c.hidden })];
  if (head) layers.push(new eddy.Linear({ inFeatures: c.hidden, outFeatures: c.input }));
  return eddy.sequential(layers as never).eval();
}

/** Rounds of one step per stream until `ms` have passed; returns steps, seconds and each step's latency in ms. */
async function rounds(run: () => Promise<Float64Array>, ms: number): Promise<{ steps: number; seconds: number; latencies: Float64Array }> {
  const parts: Float64Array[] = [];
  const t0 = performance.now();
  while (performance.now() - t0 < ms) parts.push(await run());
  const seconds = (performance.now() - t0) / 1000;
  const latencies = new Float64Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    latencies.set(p, at);
    at += p.length;
  }
  return { steps: latencies.length, seconds, latencies: latencies.sort() };
}

export async function runStreamBench(threadCounts: number[]): Promise<void> {
  const c = BENCH_CONFIGS.find((cfg) => cfg.id === 'C4')!;
  const previous = eddy.getNumThreads();
  const info = eddy.runtimeInfo();
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  const xs = Array.from({ length: 16 }, (_, i) => new eddy.Generator(i + 1).uniform(new Float32Array(STREAMS * c.input), -1, 1));
  try {
    for (const threads of threadCounts) {
      eddy.setNumThreads(threads);
      for (const head of [false, true]) {
        const model = modelOf(head);
        for (const api of ['step', 'stepMany'] as const) {
          const batcher = new eddy.serving.StreamBatcher(model, { maxBatch: STREAMS, maxDelayMs: 0 });
          const streams = Array.from({ length: STREAMS }, () => batcher.open());
          const out = new Float32Array(STREAMS * (head ? c.input : c.hidden));
          let round = 0;
          const one = async (): Promise<Float64Array> => {
            const x = xs[round++ & 15];
            const lat = new Float64Array(STREAMS);
            if (api === 'stepMany') {
              const t = performance.now();
              batcher.stepMany(streams, x, { out });
              lat.fill(performance.now() - t);
              // Let the event loop turn, as a server's would between rounds.
              await new Promise<void>((resolve) => setImmediate(resolve));
              return lat;
            }
            await Promise.all(
              streams.map(async (s, i) => {
                const t = performance.now();
                await s.step(x.subarray(i * c.input, (i + 1) * c.input));
                lat[i] = performance.now() - t;
              }),
            );
            return lat;
          };
          await rounds(one, RUN_MS / 10);
          const cpu0 = process.cpuUsage();
          const r = await rounds(one, RUN_MS);
          const used = process.cpuUsage(cpu0);
          const stepsPerS = r.steps / r.seconds;
          console.log(JSON.stringify({
            suite: 'stream', config: c.id, model: head ? 'lstm-32-64+linear' : 'lstm-32-64', api, streams: STREAMS, threads,
            steps_per_s: Math.round(stepsPerS),
            p50_ms: +percentile(r.latencies, 0.5).toFixed(3),
            p99_ms: +percentile(r.latencies, 0.99).toFixed(3),
            // CPU time of the process (all its threads) per step: on a shared machine it shows what idle cores would do.
            cpu_us_per_step: +((used.user + used.system) / r.steps).toFixed(3),
            gflops: +((forwardFlopsPerToken(c) * stepsPerS) / 1e9).toFixed(1),
            cpu, isa: info.isa, kernel: info.kernels.recurrentGemm,
            load_1min: +os.loadavg()[0].toFixed(2), cores: os.availableParallelism(),
          }));
        }
      }
    }
  } finally {
    eddy.setNumThreads(previous);
  }
}
