/**
 * Load test of `eddy serve` (`npm run bench -- serve`): a forecaster made by
 * `eddy train --task forecast` (its default architecture; one epoch, since
 * the weights do not change the cost) answers `POST /forecast` on
 * 127.0.0.1 to 1, 16, 64 and 256 concurrent keep-alive clients, three ways:
 * batched (the defaults: `--max-batch 32 --max-delay 2`), one model call
 * per request (`--max-batch 1 --max-delay 0`), and onnxruntime-node
 * running the exported ONNX file one call per request behind the same
 * HTTP service. Each point runs for RUN_MS (at most MAX_REQUESTS requests)
 * after a short warm-up; prints requests/s, p50 and p99 latency and the
 * non-200 answers, and the server's CPU time per request (what a loaded
 * machine does not distort), with the CPU. The servers are child processes; the
 * clients run in this one. Before them, the forecast side alone (no HTTP)
 * is timed in this process, so the server's CPU per request splits into
 * forecast and HTTP.
 */
import { ChildProcess, spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as http from 'http';
import * as os from 'os';
import * as path from 'path';
import * as eddy from '../index';

const CONCURRENCY = [1, 16, 64, 256];
const RUN_MS = 3000;
const WARMUP_MS = 300;
const MAX_REQUESTS = 100000;
const MAIN = path.resolve(__dirname, '../cli/main.js');

interface Server {
  child: ChildProcess;
  port: number;
}

/** Starts a server child and resolves with its port once it prints it. */
function start(args: string[], pattern: RegExp): Promise<Server> {
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

function post(agent: http.Agent, port: number, body: string): Promise<number> {
  return new Promise((resolve) => {
    const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: '/forecast', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', () => resolve(0));
    req.setTimeout(30000, () => req.destroy());
    req.end(body);
  });
}

/** `clients` keep-alive clients, each sending its next request when the last is answered, for `ms`. */
async function load(port: number, clients: number, ms: number, body: string): Promise<{ rps: number; p50: number; p99: number; errors: number; requests: number }> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: clients });
  const latencies: number[] = [];
  let errors = 0;
  let sent = 0;
  const t0 = performance.now();
  const deadline = t0 + ms;
  const client = async (): Promise<void> => {
    while (performance.now() < deadline && sent < MAX_REQUESTS) {
      sent++;
      const t = performance.now();
      const status = await post(agent, port, body);
      latencies.push(performance.now() - t);
      if (status !== 200) errors++;
    }
  };
  await Promise.all(Array.from({ length: clients }, client));
  const seconds = (performance.now() - t0) / 1000;
  agent.destroy();
  latencies.sort((a, b) => a - b);
  const at = (q: number): number => +(latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0).toFixed(2);
  return { rps: Math.round(latencies.length / seconds), p50: at(0.5), p99: at(0.99), errors, requests: latencies.length };
}

/**
 * The forecast side alone, as `eddy serve` runs it (the lag network on the
 * row-invariant path), in this process: CPU µs per request at a batch of 1
 * (one call per request) and at the batched server's 32. The server's CPU
 * per request minus this is what HTTP costs (parsing, JSON, sockets, timers).
 */
async function forecastCost(model: eddy.Module, json: string, history: number[], cpu: string): Promise<void> {
  const rows = new eddy.serving.RowModel(model as eddy.GraphModel);
  const f = eddy.timeseries.SeriesForecaster.fromJSON((x: eddy.Tensor) => rows.run(x), JSON.parse(json));
  for (const batch of [1, 32]) {
    const histories = Array.from({ length: batch }, () => history);
    const rounds = Math.ceil(4000 / batch);
    for (let i = 0; i < rounds / 4; i++) await f.forecastMany(histories, 1);
    const cpu0 = process.cpuUsage();
    for (let i = 0; i < rounds; i++) await f.forecastMany(histories, 1);
    const used = process.cpuUsage(cpu0);
    console.log(JSON.stringify({ suite: 'serve', server: 'forecast only (no HTTP), in process', batch, forecast_cpu_us_per_request: +((used.user + used.system) / (rounds * batch)).toFixed(1), cpu }));
  }
}

export async function runServeBench(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eddy-serve-bench-'));
  try {
    const trained = spawnSync(process.execPath, [MAIN, 'train', '--task', 'forecast', '--epochs', '1', '--out', dir], { encoding: 'utf8', timeout: 300000 });
    if (trained.status !== 0) throw new Error(`eddy train --task forecast failed: ${trained.stderr}`);
    const file = path.join(dir, 'model.safetensors');
    const { model, metadata } = await eddy.loadModelFile(file);
    const onnxFile = path.join(dir, 'model.onnx');
    await eddy.onnx.export(model, onnxFile);
    const inputSteps = metadata.forecaster === undefined ? Number(metadata.inputSteps) : eddy.timeseries.SeriesForecaster.fromJSON((x: eddy.Tensor) => x, JSON.parse(String(metadata.forecaster))).historyNeeded;
    // A CO2-like weekly series: trend plus a yearly cycle.
    const history = Array.from({ length: inputSteps * 2 }, (_, t) => +(330 + 0.03 * t + 3 * Math.sin((2 * Math.PI * t) / 52)).toFixed(2));
    const body = JSON.stringify({ history, steps: 1 });
    const servers: [string, string[], RegExp][] = [
      ['eddy serve, batched', [MAIN, 'serve', file, '--port', '0'], /on http:\/\/127\.0\.0\.1:(\d+)/],
      ['eddy serve, one call per request', [MAIN, 'serve', file, '--port', '0', '--max-batch', '1', '--max-delay', '0'], /on http:\/\/127\.0\.0\.1:(\d+)/],
      ['onnxruntime-node, one call per request', [path.join(__dirname, 'ort-forecast-server.js'), onnxFile, file], /listening on (\d+)/],
    ];
    const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
    if (metadata.forecaster !== undefined) await forecastCost(model, String(metadata.forecaster), history, cpu);
    for (const [name, args, pattern] of servers) {
      const server = await start(args, pattern);
      try {
        for (const clients of CONCURRENCY) {
          await load(server.port, clients, WARMUP_MS, body);
          const cpu0 = cpuSeconds(server.child.pid);
          const r = await load(server.port, clients, RUN_MS, body);
          // The server's own CPU time per request: what an idle machine would spend, whatever else runs now.
          const cpuUs = ((cpuSeconds(server.child.pid) - cpu0) * 1e6) / Math.max(1, r.requests);
          console.log(JSON.stringify({ suite: 'serve', server: name, model: model.toString(), clients, requests_per_s: r.rps, p50_ms: r.p50, p99_ms: r.p99, server_cpu_us_per_request: Math.round(cpuUs), requests: r.requests, errors: r.errors, cpu, cores: os.availableParallelism() }));
        }
      } finally {
        await stop(server);
      }
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
