/**
 * Load test of `eddy serve` (`npm run bench -- serve`): a forecaster made by
 * `eddy train --task forecast` (its default architecture; one epoch, since
 * the weights do not change the cost) answers `POST /forecast` on
 * 127.0.0.1 to 1, 16, 64 and 256 concurrent keep-alive connections of
 * autocannon (in this process), three ways: batched (the defaults:
 * `--max-batch 32 --max-delay 0`), one model call per request
 * (`--max-batch 1 --max-delay 0`), and onnxruntime-node running the exported
 * ONNX file one call per request behind the same HTTP service. All servers
 * run at once as child processes and take turns at each concurrency, so
 * they are compared within the same minute. Each point runs for RUN_S
 * (at most MAX_REQUESTS requests) after a short warm-up; prints requests/s,
 * p50 and p99 latency, non-200 answers, and the server's CPU time per
 * request (what a loaded machine distorts least), split into the forecast
 * (timed alone in this process, no HTTP, at the batch size the server ran)
 * and the rest: HTTP, JSON, sockets. `EDDY_SERVE_BASELINE=path/to/main.js`
 * adds the two eddy serve rows of another build (its `dist/lib/cli/main.js`).
 */
import { ChildProcess, spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as http from 'http';
import * as os from 'os';
import * as path from 'path';
import * as eddy from '../index';

const CONCURRENCY = [1, 16, 64, 256];
const RUN_S = 3;
const WARMUP_S = 0.5;
const MAX_REQUESTS = 100000;
const MAIN = path.resolve(__dirname, '../cli/main.js');
/** Batch sizes the forecast alone is timed at. */
const FORECAST_BATCHES = [1, 2, 4, 8, 16, 32, 64];

type Autocannon = typeof import('autocannon');
type Ort = typeof import('onnxruntime-node');

interface Server {
  name: string;
  child: ChildProcess;
  port: number;
  /** Forecast-only CPU µs per request at a batch size (interpolated on the timed ones). */
  forecastUs: (batch: number) => number;
  /** Whether it reports batch sizes in /metrics. */
  batches: boolean;
}

/** Starts a server child and resolves with its port once it prints it. */
function start(args: string[], pattern: RegExp): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the server did not start in 60 s: ${out}`));
    }, 60000);
    const read = (d: Buffer): void => {
      out += d.toString();
      const m = pattern.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ child, port: Number(m[1]) });
      }
    };
    child.stdout!.on('data', read);
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the server exited with ${code}: ${out}`));
    });
  });
}

function stop(server: Server): Promise<void> {
  return new Promise((resolve) => {
    if (server.child.exitCode !== null || server.child.signalCode !== null) return resolve();
    const timer = setTimeout(() => server.child.kill('SIGKILL'), 10000);
    server.child.removeAllListeners('exit');
    server.child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    server.child.kill('SIGTERM');
  });
}

/** CPU seconds (user + system) the process has used, from /proc (0 where there is none). */
function cpuSeconds(pid: number | undefined): number {
  try {
    const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100 on Linux)
  } catch {
    return 0;
  }
}

/** GET a path of a server: the body. */
function get(port: number, route: string): Promise<string> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: route, agent: false }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
      })
      .on('error', reject);
  });
}

/** Batches run and requests in them so far, from an eddy server's /metrics. */
async function batchCounts(port: number): Promise<{ batches: number; requests: number }> {
  const text = await get(port, '/metrics');
  return { batches: Number(/^eddy_batch_size_count (\S+)$/m.exec(text)?.[1] ?? 0), requests: Number(/^eddy_batch_size_sum (\S+)$/m.exec(text)?.[1] ?? 0) };
}

/** autocannon: `connections` keep-alive connections, each sending its next request when the last is answered, for `seconds`. */
async function load(autocannon: Autocannon, port: number, connections: number, seconds: number, body: string): Promise<{ rps: number; p50: number; p99: number; errors: number; requests: number }> {
  const r = await autocannon({
    url: `http://127.0.0.1:${port}/forecast`,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
    connections,
    duration: seconds,
    maxOverallRequests: MAX_REQUESTS,
    timeout: 30,
  });
  const requests = r.requests.total;
  return { rps: Math.round(requests / (r.duration || seconds)), p50: r.latency.p50, p99: r.latency.p99, errors: r.non2xx + r.errors + r.timeouts, requests };
}

/**
 * CPU µs per request of `forecastMany` at each of FORECAST_BATCHES, in
 * this process: what a forecast costs without HTTP.
 */
async function forecastCost(f: eddy.timeseries.SeriesForecaster, history: number[]): Promise<number[]> {
  const time = async (batch: number, requests: number): Promise<number> => {
    const histories = Array.from({ length: batch }, () => history);
    const rounds = Math.ceil(requests / batch);
    const cpu0 = process.cpuUsage();
    for (let i = 0; i < rounds; i++) await f.forecastMany(histories, 1);
    const used = process.cpuUsage(cpu0);
    return (used.user + used.system) / (rounds * batch);
  };
  // Every size first, so the JIT has compiled the code each size takes before any is timed.
  for (const batch of FORECAST_BATCHES) await time(batch, 10000);
  const costs: number[] = [];
  for (const batch of FORECAST_BATCHES) costs.push(await time(batch, 20000));
  return costs;
}

/** The cost at `batch`, interpolated linearly in log(batch) between the sizes timed. */
function costAt(costs: number[], batch: number): number {
  const b = Math.min(Math.max(batch, 1), FORECAST_BATCHES[FORECAST_BATCHES.length - 1]);
  let i = 0;
  while (i < FORECAST_BATCHES.length - 2 && FORECAST_BATCHES[i + 1] < b) i++;
  const [lo, hi] = [FORECAST_BATCHES[i], FORECAST_BATCHES[i + 1]];
  const t = Math.min(1, Math.max(0, Math.log(b / lo) / Math.log(hi / lo)));
  return costs[i] + t * (costs[i + 1] - costs[i]);
}

export async function runServeBench(): Promise<void> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const autocannon = require('autocannon') as Autocannon;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const ort = require('onnxruntime-node') as Ort;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eddy-serve-bench-'));
  const servers: Server[] = [];
  try {
    const trained = spawnSync(process.execPath, [MAIN, 'train', '--task', 'forecast', '--epochs', '1', '--out', dir], { encoding: 'utf8', timeout: 300000 });
    if (trained.status !== 0) throw new Error(`eddy train --task forecast failed: ${trained.stderr}`);
    const file = path.join(dir, 'model.safetensors');
    const { model, metadata } = await eddy.loadModelFile(file);
    if (metadata.forecaster === undefined) throw new Error(`${file} has no default forecaster`);
    const json = JSON.parse(String(metadata.forecaster));
    const onnxFile = path.join(dir, 'model.onnx');
    await eddy.onnx.export(model, onnxFile);
    const rows = new eddy.serving.RowModel(model as eddy.GraphModel);
    const eddyForecaster = eddy.timeseries.SeriesForecaster.fromJSON((x: eddy.Tensor) => rows.run(x), json);
    // The comparison server's forecast: the same forecaster on onnxruntime-node, one call per request.
    const session = await ort.InferenceSession.create(onnxFile);
    const ortForecaster = eddy.timeseries.SeriesForecaster.fromJSON(async (x: eddy.Tensor) => {
      const out = (await session.run({ input: new ort.Tensor('float32', x.toFloat32Array(), x.shape.slice()) })).output;
      return eddy.tensor(Float32Array.from(out.data as Float32Array), out.dims.map(Number));
    }, json);
    // A CO2-like weekly series: trend plus a yearly cycle.
    const history = Array.from({ length: eddyForecaster.historyNeeded * 2 }, (_, t) => +(330 + 0.03 * t + 3 * Math.sin((2 * Math.PI * t) / 52)).toFixed(2));
    const body = JSON.stringify({ history, steps: 1 });
    const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
    const eddyCosts = await forecastCost(eddyForecaster, history);
    const ortCosts = await forecastCost(ortForecaster, history);
    const eddyUs = (b: number): number => costAt(eddyCosts, b);
    for (const [name, costs] of [['eddy', eddyCosts], ['onnxruntime-node', ortCosts]] as const) {
      console.log(JSON.stringify({ suite: 'serve', server: `${name} forecast only (no HTTP), in process`, forecast_cpu_us_per_request: Object.fromEntries(FORECAST_BATCHES.map((b, i) => [`batch_${b}`, +costs[i].toFixed(1)])), cpu }));
    }
    const eddyArgs = (main: string, extra: string[]): string[] => [main, 'serve', file, '--port', '0', ...extra];
    const eddyPattern = /on http:\/\/127\.0\.0\.1:(\d+)/;
    const specs: [string, string[], RegExp, (b: number) => number, boolean][] = [
      ['eddy serve, batched', eddyArgs(MAIN, []), eddyPattern, eddyUs, true],
      ['eddy serve, one call per request', eddyArgs(MAIN, ['--max-batch', '1', '--max-delay', '0']), eddyPattern, eddyUs, true],
      ['onnxruntime-node, one call per request', [path.join(__dirname, 'ort-forecast-server.js'), onnxFile, file], /listening on (\d+)/, () => ortCosts[0], false],
    ];
    const baseline = process.env.EDDY_SERVE_BASELINE;
    if (baseline) {
      specs.push(['eddy serve (baseline build), batched', eddyArgs(baseline, []), eddyPattern, eddyUs, true]);
      specs.push(['eddy serve (baseline build), one call per request', eddyArgs(baseline, ['--max-batch', '1', '--max-delay', '0']), eddyPattern, eddyUs, true]);
    }
    for (const [name, args, pattern, forecastUs, batches] of specs) servers.push({ name, ...(await start(args, pattern)), forecastUs, batches });
    for (const clients of CONCURRENCY) {
      for (const server of servers) {
        await load(autocannon, server.port, clients, WARMUP_S, body);
        const before = server.batches ? await batchCounts(server.port) : null;
        const cpu0 = cpuSeconds(server.child.pid);
        const r = await load(autocannon, server.port, clients, RUN_S, body);
        // The server's own CPU time per request: what an idle machine would spend, whatever else runs now.
        const serverUs = ((cpuSeconds(server.child.pid) - cpu0) * 1e6) / Math.max(1, r.requests);
        const after = before ? await batchCounts(server.port) : null;
        const meanBatch = before && after && after.batches > before.batches ? (after.requests - before.requests) / (after.batches - before.batches) : 1;
        const forecast = server.forecastUs(meanBatch);
        console.log(
          JSON.stringify({
            suite: 'serve',
            server: server.name,
            clients,
            requests_per_s: r.rps,
            p50_ms: r.p50,
            p99_ms: r.p99,
            server_cpu_us_per_request: Math.round(serverUs),
            forecast_cpu_us_per_request: +forecast.toFixed(1),
            http_cpu_us_per_request: Math.round(serverUs - forecast),
            mean_batch: +meanBatch.toFixed(1),
            requests: r.requests,
            errors: r.errors,
            cpu,
            cores: os.availableParallelism(),
          }),
        );
      }
    }
  } finally {
    for (const server of servers) await stop(server);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
