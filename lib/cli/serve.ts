/**
 * `eddy serve model.safetensors`: an HTTP server for a model file. Every
 * model answers `POST /predict` (raw arrays); a model made by `eddy train`
 * (or saved from the API with the same metadata) also answers its task's
 * route: text → `POST /generate` (NDJSON chunks), forecast →
 * `POST /forecast`, classify → `POST /classify`. Requests are batched
 * (`eddy.serving.Batcher`); limits answer with JSON errors.
 */
import { existsSync } from 'fs';
import * as eddy from '../index';
import { ValidationError } from '../errors';
import { createHttpService, HttpError, Route, RouteContext } from '../serving/http';
import { CliMetadata, metadataJson, readMetadata, taskOfMetadata, tokenizerOf } from './metadata';

export interface ServeOptions {
  host: string;
  port: number;
  maxBodyBytes: number;
  timeoutMs: number;
  maxBatch: number;
  maxDelayMs: number;
  maxQueue: number;
}

/** A 400 naming the body field. */
function bad(field: string, expected: string, value: unknown): HttpError {
  const got = value === undefined ? 'nothing' : JSON.stringify(value)?.slice(0, 60) ?? String(value);
  return new HttpError(400, `Expected ${expected} for ${field} but received ${got}`, 'ERR_EDDY_BAD_REQUEST');
}

function field(body: unknown, name: string): unknown {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw bad('the body', 'a JSON object', body);
  return (body as Record<string, unknown>)[name];
}

function optionalInteger(body: unknown, name: string, min: number, max: number, fallback: number): number {
  const v = field(body, name);
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw bad(name, `an integer between ${min} and ${max}`, v);
  return v;
}

/** A sequence [steps][features] (or [steps] ids) as a Tensor. */
function sequenceOf(value: unknown, name: string): eddy.Tensor {
  if (!Array.isArray(value) || value.length === 0) throw bad(name, 'a non-empty array (one sequence: [steps] or [steps][features])', value);
  if (Array.isArray(value[0])) {
    const F = (value[0] as unknown[]).length;
    const data = new Float32Array(value.length * F);
    value.forEach((row, t) => {
      if (!Array.isArray(row) || row.length !== F || !row.every((v) => typeof v === 'number' && Number.isFinite(v))) throw bad(`${name}[${t}]`, `${F} finite numbers`, row);
      data.set(row as number[], t * F);
    });
    return eddy.tensor(data, [value.length, F]);
  }
  if (!value.every((v) => typeof v === 'number' && Number.isFinite(v))) throw bad(name, 'finite numbers', value);
  return eddy.tensor(Float32Array.from(value as number[]), [value.length]);
}

/** What the forecast route runs for one request. */
interface ForecastService {
  /** Rows of history a request needs at least. */
  historyNeeded: number;
  /**
   * Answers one request; its cancellation takes it out of whatever batch it waits for.
   * @param history - The series so far (checked to be finite numbers, at least historyNeeded).
   * @param steps - Values to forecast.
   * @param ctx - The request's context (its cancellation).
   */
  forecast(history: number[], steps: number, ctx: RouteContext): Promise<Record<string, unknown>>;
  /** Requests waiting in its own queue (besides the Batcher's). */
  queued(): number;
  /** Refuses new requests; queued ones still run. */
  close(): void;
}

/**
 * The forecasts of a model file. The default forecaster (a lag network, run
 * row-invariantly so a batch of requests gives each exactly what it would
 * get alone) coalesces concurrent requests into one `forecastMany`, each
 * history checked before it joins a batch (`--max-batch 1`: one call per
 * request). A window model forecasts each request on its own, its windows
 * batched with other requests' by the Batcher, which the request's signal
 * reaches.
 */
function forecastServiceOf(model: eddy.Model, metadata: CliMetadata, batcher: eddy.serving.Batcher, o: ServeOptions, metrics: { batch(n: number): void }): ForecastService {
  if (metadata.forecaster !== undefined) {
    let network: eddy.timeseries.ForecastModel = model;
    try {
      const rows = new eddy.serving.RowModel(model as eddy.Sequential | eddy.GraphModel);
      network = (x: eddy.Tensor) => rows.run(x);
    } catch {
      // Not a feed-forward network: it runs through its own predict.
    }
    const f = eddy.timeseries.SeriesForecaster.fromJSON(network, metadataJson(metadata, 'forecaster'));
    const queue = new eddy.serving.Coalescer(
      async (requests: { history: number[]; steps: number }[]) =>
        (await f.forecastMany(requests.map((r) => r.history), requests.map((r) => r.steps))).map(({ mean, intervals }) => ({ forecast: mean, intervals })),
      { maxBatch: o.maxBatch, maxDelayMs: o.maxDelayMs, maxQueue: o.maxQueue, onBatch: (n) => metrics.batch(n) },
    );
    return {
      historyNeeded: f.historyNeeded,
      forecast: (history, steps, ctx) => queue.submit({ history: f.checkHistory(history), steps }, ctx.cancellation),
      queued: () => queue.queued,
      close: () => queue.close(),
    };
  }
  const inputSteps = Number(metadata.inputSteps);
  const scaler = metadata.scaler === undefined ? undefined : eddy.timeseries.scalerFromJSON(metadataJson(metadata, 'scaler') as never);
  /** Each window [1, inputSteps, features] of a request is one Batcher request; its last output row is the forecast. */
  const predictFor =
    (signal: AbortSignal) =>
    async (x: eddy.Tensor): Promise<eddy.Tensor> => {
      const rows = await Promise.all(Array.from({ length: x.shape[0] }, (_, b) => batcher.predict(x.select(0, b).contiguous(), { signal })));
      return eddy.stack(rows.map((r) => (r.rank >= 2 ? r.select(0, r.shape[0] - 1) : r)), 0);
    };
  return {
    historyNeeded: inputSteps,
    forecast: async (history, steps, ctx) => ({ forecast: await new eddy.timeseries.Forecaster(predictFor(ctx.signal), { inputSteps, scaler }).forecast(history, steps) }),
    queued: () => 0,
    close: () => undefined,
  };
}

/** `POST /forecast`: `{ "history": [...], "steps": n }`. */
function forecastRoute(f: ForecastService): Route {
  const need = f.historyNeeded;
  return {
    method: 'POST',
    path: '/forecast',
    handle: async (ctx) => {
      const body = ctx.body;
      const history = field(body, 'history');
      if (!Array.isArray(history) || history.length < need || history.length > 1e6 || !history.every((v) => typeof v === 'number' && Number.isFinite(v))) {
        throw bad('history', `an array of at least ${need} finite numbers`, history);
      }
      const steps = optionalInteger(body, 'steps', 1, 1000, 1);
      return f.forecast(history as number[], steps, ctx);
    },
  };
}

export async function serveCommand(file: string, o: ServeOptions): Promise<void> {
  if (!existsSync(file)) throw new ValidationError(`Cannot find the model file ${JSON.stringify(file)}`);
  const { model, metadata: raw } = await eddy.loadModelFile(file);
  if (!(model instanceof eddy.Model)) throw new ValidationError(`Expected a Sequential or functional model in ${JSON.stringify(file)} but received ${model.toString()}`);
  model.eval();
  const metadata = readMetadata(raw);
  const task = taskOfMetadata(metadata);
  const routes: Route[] = [];
  const service = createHttpService(routes, { maxBodyBytes: o.maxBodyBytes, requestTimeoutMs: o.timeoutMs });
  const batcher = new eddy.serving.Batcher(model, { maxBatch: o.maxBatch, maxDelayMs: o.maxDelayMs, maxQueue: o.maxQueue, onBatch: (n) => service.metrics.batch(n) });
  service.metrics.queueDepth = () => batcher.queued;
  /** Every request queue, closed when the server drains. */
  const queues: { close(): void }[] = [batcher];

  routes.push({
    method: 'POST',
    path: '/predict',
    handle: async ({ body, signal }) => ({ output: (await batcher.predict(sequenceOf(field(body, 'input'), 'input'), { signal })).toArray() }),
  });

  if (task === 'text' && metadata.tokenizer !== undefined && model instanceof eddy.Sequential) {
    const tokenizer = tokenizerOf(metadata);
    routes.push({
      method: 'POST',
      path: '/generate',
      handle: async ({ body, signal, stream }) => {
        const prompt = field(body, 'prompt') ?? '';
        if (typeof prompt !== 'string' || prompt.length > 10000) throw bad('prompt', 'a string of at most 10000 characters', prompt);
        const length = optionalInteger(body, 'length', 1, 10000, 200);
        const seed = optionalInteger(body, 'seed', 0, 2 ** 31 - 1, Math.floor(Math.random() * 2 ** 31));
        const temperature = field(body, 'temperature') ?? 1;
        if (typeof temperature !== 'number' || !(temperature > 0) || temperature > 100) throw bad('temperature', 'a number in (0, 100]', temperature);
        const it = eddy.text.generate(model, { tokenizer, prompt, length, temperature, seed, signal })[Symbol.asyncIterator]();
        let step = await it.next(); // options are checked before the stream starts
        const write = stream();
        for (; !step.done; step = await it.next()) write({ text: step.value });
        write({ done: true });
        return undefined;
      },
    });
  }

  if (task === 'forecast' && (metadata.forecaster !== undefined || metadata.inputSteps !== undefined)) {
    const forecasts = forecastServiceOf(model, metadata, batcher, o, service.metrics);
    routes.push(forecastRoute(forecasts));
    service.metrics.queueDepth = () => batcher.queued + forecasts.queued();
    queues.push(forecasts);
  }

  if (task === 'classify' && metadata.tokenizer !== undefined && metadata.labels !== undefined) {
    const tokenizer = tokenizerOf(metadata);
    const labels = eddy.text.LabelMap.fromJSON(metadataJson(metadata, 'labels') as never);
    const maxLength = Number(metadata.maxLength ?? 200);
    routes.push({
      method: 'POST',
      path: '/classify',
      handle: async ({ body, signal }) => {
        const text = field(body, 'text');
        if (typeof text !== 'string' || text.length === 0 || text.length > 100000) throw bad('text', 'a non-empty string of at most 100000 characters', text);
        const ids = tokenizer.encode(text).subarray(0, maxLength);
        const logits = await batcher.predict(eddy.tensor(Float32Array.from(ids), [ids.length]), { signal });
        const p = eddy.softmax(logits.rank > 1 ? logits.select(0, logits.shape[0] - 1) : logits, -1).toFloat32Array();
        const best = p.indexOf(Math.max(...p));
        return { label: labels.classes[best], probabilities: Object.fromEntries(labels.classes.map((c, i) => [String(c), p[i]])) };
      },
    });
  }

  await new Promise<void>((resolve, reject) => {
    service.server.once('error', reject);
    service.server.listen(o.port, o.host, () => resolve());
  });
  const address = service.server.address();
  const port = typeof address === 'object' && address ? address.port : o.port;
  console.log(`eddy serve: ${model.toString()}${task ? ` (${task})` : ''} on http://${o.host}:${port} — ${routes.map((r) => `${r.method} ${r.path}`).join(', ')}, GET /healthz, GET /metrics`);
  const stop = (): void => {
    console.log('eddy serve: draining');
    for (const q of queues) q.close();
    void service.drain().then(() => {
      console.log('eddy serve: stopped');
      process.exit(0);
    });
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}
