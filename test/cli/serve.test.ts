/**
 * `eddy serve` as a child process on a free loopback port: every endpoint,
 * every limit, and a graceful drain on SIGTERM with a request in flight.
 */
import * as assert from 'assert';
import { ChildProcess, spawn } from 'child_process';
import * as fs from 'fs';
import * as http from 'http';
import * as os from 'os';
import * as path from 'path';
import * as eddy from '../../lib';

const MAIN = path.resolve(__dirname, '../../lib/cli/main.js');

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

function request(port: number, method: string, route: string, body?: string | Buffer, headers: Record<string, string> = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path: route, headers: { 'content-type': 'application/json', ...headers }, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.setTimeout(20000, () => req.destroy(new Error('no answer in 20 s')));
    req.end(body);
  });
}

const json = (r: Reply): { error?: { code: string; message: string } } & Record<string, unknown> => JSON.parse(r.body);

/** Starts `eddy serve` and resolves with its port once it listens. */
function serve(file: string, args: string[]): Promise<{ child: ChildProcess; port: number; output: () => string }> {
  const child = spawn(process.execPath, [MAIN, 'serve', file, '--port', '0', ...args], { env: { ...process.env, EDDY_NUM_THREADS: '1' } });
  let out = '';
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`eddy serve did not start: ${out}`)), 30000);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /on http:\/\/127\.0\.0\.1:(\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ child, port: Number(m[1]), output: () => out });
      }
    });
    child.on('exit', (code) => reject(new Error(`eddy serve exited with ${code}: ${out}`)));
  });
}

describe('eddy serve', function () {
  this.timeout(120000);
  let dir: string;
  let file: string;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eddy-serve-'));
    const tokenizer = eddy.text.CharTokenizer.fromTexts('the quick brown fox jumps over the lazy dog');
    eddy.manualSeed(1);
    const model = eddy.sequential([
      new eddy.Embedding({ numEmbeddings: tokenizer.vocabSize, embeddingDim: 8 }),
      new eddy.LSTM({ inputSize: 8, hiddenSize: 16 }),
      new eddy.Linear({ inFeatures: 16, outFeatures: tokenizer.vocabSize }),
    ]);
    file = path.join(dir, 'model.safetensors');
    // Saved from the API: a tokenizer in the metadata makes it a text model.
    await model.save(file, { metadata: { tokenizer: JSON.stringify(tokenizer) } });
  });

  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('answers /healthz, /predict, /generate (NDJSON) and /metrics, with JSON errors for bad requests', async () => {
    const { child, port } = await serve(file, ['--max-body', '2000']);
    try {
      assert.deepStrictEqual(json(await request(port, 'GET', '/healthz')), { status: 'ok' });
      const predicted = await request(port, 'POST', '/predict', JSON.stringify({ input: [1, 2, 3] }));
      assert.strictEqual(predicted.status, 200, predicted.body);
      const output = json(predicted).output as number[][];
      assert.strictEqual(output.length, 3);
      const generated = await request(port, 'POST', '/generate', JSON.stringify({ prompt: 'the ', length: 12, seed: 3 }));
      assert.strictEqual(generated.status, 200, generated.body);
      assert.strictEqual(generated.headers['content-type'], 'application/x-ndjson');
      const lines = generated.body.trim().split('\n').map((l) => JSON.parse(l));
      assert.deepStrictEqual(lines.at(-1), { done: true });
      assert.strictEqual(lines.slice(0, -1).map((l) => l.text).join('').length, 12);

      const badJson = await request(port, 'POST', '/predict', '{"input": [1,');
      assert.strictEqual(badJson.status, 400);
      assert.strictEqual(json(badJson).error!.code, 'ERR_EDDY_BAD_JSON');
      const missing = await request(port, 'POST', '/predict', '{}');
      assert.strictEqual(missing.status, 400);
      assert.match(json(missing).error!.message, /^Expected a non-empty array .* for input but received nothing$/);
      const badId = await request(port, 'POST', '/predict', JSON.stringify({ input: [1, 99] }));
      assert.strictEqual(badId.status, 400, badId.body);
      const tooLarge = await request(port, 'POST', '/predict', JSON.stringify({ input: new Array(1000).fill(1) }));
      assert.strictEqual(tooLarge.status, 413);
      assert.strictEqual(json(tooLarge).error!.code, 'ERR_EDDY_TOO_LARGE');
      const unknown = await request(port, 'GET', '/nope');
      assert.strictEqual(unknown.status, 404);
      const wrongMethod = await request(port, 'GET', '/predict');
      assert.strictEqual(wrongMethod.status, 405);

      const metrics = (await request(port, 'GET', '/metrics')).body;
      assert.match(metrics, /^eddy_requests_total\{path="\/predict",status="200"\} 1$/m);
      assert.match(metrics, /^eddy_requests_total\{path="\/predict",status="400"\} 3$/m);
      assert.match(metrics, /^eddy_request_duration_seconds_count \d+$/m);
      assert.match(metrics, /^eddy_batch_size_bucket\{le="1"\} \d+$/m);
      assert.match(metrics, /^eddy_queue_depth 0$/m);
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('answers 429 with Retry-After when the queue is full and 504 past the deadline', async () => {
    const { child, port } = await serve(file, ['--max-queue', '1', '--max-delay', '1500', '--timeout', '800']);
    try {
      const first = request(port, 'POST', '/predict', JSON.stringify({ input: [1, 2] }));
      await new Promise((r) => setTimeout(r, 200));
      const second = await request(port, 'POST', '/predict', JSON.stringify({ input: [3] }));
      assert.strictEqual(second.status, 429, second.body);
      assert.strictEqual(second.headers['retry-after'], '1');
      assert.strictEqual(json(second).error!.code, 'ERR_EDDY_OVERLOADED');
      const late = await first;
      assert.strictEqual(late.status, 504, late.body);
      assert.strictEqual(json(late).error!.code, 'ERR_EDDY_TIMEOUT');
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('drains on SIGTERM: the request in flight is answered, then the process exits 0', async () => {
    const { child, port } = await serve(file, ['--max-delay', '700']);
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const inFlight = request(port, 'POST', '/predict', JSON.stringify({ input: [1, 2, 3] }));
    await new Promise((r) => setTimeout(r, 150));
    child.kill('SIGTERM');
    const answered = await inFlight;
    assert.strictEqual(answered.status, 200, answered.body);
    assert.strictEqual(await exited, 0);
  });
  it('takes an aborted forecast of a window model out of the batch it waits for; the other request is answered as if alone', async () => {
    eddy.manualSeed(4);
    const model = eddy.sequential([new eddy.GRU({ inputSize: 1, hiddenSize: 8 }), new eddy.Linear({ inFeatures: 8, outFeatures: 1 })]);
    const wf = path.join(dir, 'window.safetensors');
    await model.save(wf, { metadata: { task: 'forecast', inputSteps: '6' } });
    // Requests wait up to 1 s for others: both below sit in the Batcher's queue together.
    const { child, port } = await serve(wf, ['--max-delay', '1000', '--max-batch', '8']);
    const queueDepth = async (): Promise<number> => Number(/^eddy_queue_depth (\d+)$/m.exec((await request(port, 'GET', '/metrics')).body)?.[1]);
    const until = async (depth: number): Promise<void> => {
      for (let i = 0; i < 100 && (await queueDepth()) !== depth; i++) await new Promise((r) => setTimeout(r, 10));
      assert.strictEqual(await queueDepth(), depth);
    };
    try {
      const history = [1, 2, 3, 2, 1, 2, 3, 4];
      const doomed = http.request({ host: '127.0.0.1', port, method: 'POST', path: '/forecast', agent: false });
      doomed.on('error', () => undefined);
      doomed.end(JSON.stringify({ history: history.map((v) => -v) }));
      const kept = request(port, 'POST', '/forecast', JSON.stringify({ history, steps: 2 }));
      await until(2);
      doomed.destroy();
      await until(1);
      const answer = await kept;
      assert.strictEqual(answer.status, 200, answer.body);
      const alone = await request(port, 'POST', '/forecast', JSON.stringify({ history, steps: 2 }));
      assert.deepStrictEqual(json(answer), json(alone));
      assert.strictEqual((json(answer).forecast as number[]).length, 2);
      // The kept request's two steps, then the same alone: the aborted request never ran, and
      // each request goes through one queue (the Batcher's), not a forecast queue in front of it.
      const metrics = (await request(port, 'GET', '/metrics')).body;
      assert.match(metrics, /^eddy_batch_size_count 4$/m, 'two forecast steps per request, one Batcher run each');
      assert.match(metrics, /^eddy_batch_size_sum 4$/m, 'one request in each run');
      assert.match(metrics, /^eddy_requests_total\{path="\/forecast",status="499"\} 1$/m);
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('answers /forecast with prediction intervals for a model of the default forecaster', async () => {
    const y = Array.from({ length: 120 }, (_, t) => 50 + 5 * Math.sin((2 * Math.PI * t) / 12) + 0.1 * t);
    const { forecaster, model } = await eddy.timeseries.fitForecaster(y, { season: 12, horizon: 2, ensemble: 1, epochs: 5 });
    const fc = path.join(dir, 'forecaster.safetensors');
    await eddy.save(model, fc, { metadata: { task: 'forecast', forecaster: JSON.stringify(forecaster) } });
    // Requests wait up to 300 ms for each other, so the concurrent ones below run as one batch.
    const { child, port } = await serve(fc, ['--max-delay', '300']);
    try {
      // The server runs the network row-invariantly: each answer is exactly the forecaster's own
      // forecast on that network, alone or batched; BLAS (model.predict) agrees to float32 rounding.
      const rows = new eddy.serving.RowModel(model);
      const exact = eddy.timeseries.SeriesForecaster.fromJSON((x: eddy.Tensor) => rows.run(x), forecaster.toJSON());
      const expected = async (h: number[], steps: number): Promise<unknown> => JSON.parse(JSON.stringify(await exact.forecast(h, steps).then((f) => ({ forecast: f.mean, intervals: f.intervals }))));
      const r = await request(port, 'POST', '/forecast', JSON.stringify({ history: y, steps: 3 }));
      assert.strictEqual(r.status, 200, r.body);
      const body = json(r) as unknown as { forecast: number[]; intervals: { level: number; lower: number[]; upper: number[] }[] };
      assert.deepStrictEqual(body, await expected(y, 3));
      const blas = await forecaster.forecast(y, 3);
      // |Δz| ≤ a few float32 ulps of the network output, times the typical change (well under 1e-4 of these values).
      body.forecast.forEach((v, k) => assert.ok(Math.abs(v - blas.mean[k]) <= 1e-4 * Math.abs(blas.mean[k]), `step ${k}: ${v} vs ${blas.mean[k]}`));
      // Concurrent requests of different histories and horizons (the recursive steps past the
      // network's horizon of 2 batched too) each get exactly their unbatched answer.
      const asks = Array.from({ length: 6 }, (_, i) => ({ history: y.slice(0, 100 + 3 * i), steps: 1 + i }));
      const answers = await Promise.all(asks.map((a) => request(port, 'POST', '/forecast', JSON.stringify(a))));
      for (const [i, a] of answers.entries()) {
        assert.strictEqual(a.status, 200, a.body);
        assert.deepStrictEqual(json(a), await expected(asks[i].history, asks[i].steps), `request ${i}`);
      }
      const metrics = await request(port, 'GET', '/metrics');
      const sum = Number(/eddy_batch_size_sum (\d+)/.exec(metrics.body)?.[1]);
      const count = Number(/eddy_batch_size_count (\d+)/.exec(metrics.body)?.[1]);
      assert.strictEqual(sum, 7, metrics.body);
      assert.ok(count < sum, `the concurrent requests ran in fewer batches (${count}) than requests (${sum})`);
      const short = await request(port, 'POST', '/forecast', JSON.stringify({ history: y.slice(0, 5) }));
      assert.strictEqual(short.status, 400);
      assert.match(json(short).error!.message, /history/);
    } finally {
      child.kill('SIGTERM');
    }
  });
});
