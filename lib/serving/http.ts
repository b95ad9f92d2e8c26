/**
 * The HTTP machinery of `eddy serve`, on node:http: JSON bodies read with a
 * size limit, one JSON error shape (`{ "error": { "code", "message" } }`),
 * a deadline per request, Prometheus metrics, and a graceful drain. The
 * routes that know models live with the command (`cli/serve.ts`).
 */
import * as http from 'http';
import { EddyError, OverloadedError } from '../errors';
import { checkInteger, checkOptions, optionKeys } from '../validate';
import type { Abortable } from './coalescer';

/** An error with the HTTP status it answers with. */
export class HttpError extends EddyError {
  /**
   * @param status - The HTTP status of the answer.
   * @param message - What went wrong, for the client.
   * @param code - The stable code in the JSON error body.
   * @param headers - Extra response headers.
   */
  constructor(
    /** The HTTP status of the answer. */
    readonly status: number,
    message: string,
    code = 'ERR_EDDY_HTTP',
    /** Extra response headers (`Retry-After`, say). */
    readonly headers: Record<string, string> = {},
  ) {
    super(message, code);
  }
}

/** What a route's handler gets for one request. */
export interface RouteContext {
  /** The parsed JSON body (POST), or undefined. */
  body: unknown;
  /** Aborted when the request times out or the client goes away (made when first read). */
  readonly signal: AbortSignal;
  /**
   * The same cancellation as `signal` without making an AbortSignal (which
   * costs microseconds per request): give it to `Coalescer.submit` on a hot route.
   */
  readonly cancellation: Abortable;
  /** Starts an NDJSON stream: each call writes one line. */
  stream(): (
    /** One JSON value, written as one line. */
    value: unknown,
  ) => void;
}

/** One endpoint of {@link createHttpService}. */
export interface Route {
  /** The HTTP method. */
  method: 'GET' | 'POST';
  /** The exact path (`/predict`). */
  path: string;
  /**
   * Returns the JSON to send, or undefined after streaming.
   * @param ctx - {@link RouteContext}.
   */
  handle(ctx: RouteContext): Promise<unknown>;
}

/** The options of {@link createHttpService}. */
export interface HttpServiceOptions {
  /** Largest request body in bytes; larger ones get 413. @default 1048576 */
  maxBodyBytes?: number;
  /** Time for a whole request, body included; past it the answer is 504 (408 while the body is still arriving). @default 30000 */
  requestTimeoutMs?: number;
}

const HTTP_SERVICE_OPTION_KEYS = optionKeys<HttpServiceOptions>({ maxBodyBytes: true, requestTimeoutMs: true });

const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const BATCH_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256];

/**
 * A Prometheus histogram. Each observation counts in the first bucket
 * that holds it (one comparison loop, no allocation); the cumulative
 * counts the exposition wants are summed when `/metrics` is read.
 */
class Histogram {
  private readonly counts: number[];
  private sum = 0;
  private count = 0;

  constructor(private readonly bounds: number[]) {
    this.counts = bounds.map(() => 0);
  }

  observe(v: number): void {
    const bounds = this.bounds;
    for (let i = 0; i < bounds.length; i++) {
      if (v <= bounds[i]) {
        this.counts[i]++;
        break;
      }
    }
    this.sum += v;
    this.count++;
  }

  lines(name: string, labels = ''): string[] {
    const sep = labels ? `${labels},` : '';
    let cumulative = 0;
    return [
      ...this.bounds.map((b, i) => `${name}_bucket{${sep}le="${b}"} ${(cumulative += this.counts[i])}`),
      `${name}_bucket{${sep}le="+Inf"} ${this.count}`,
      `${name}_sum${labels ? `{${labels}}` : ''} ${this.sum}`,
      `${name}_count${labels ? `{${labels}}` : ''} ${this.count}`,
    ];
  }
}

/** What `/metrics` reports. */
export class ServiceMetrics {
  /** Answers by path, then by status. */
  private readonly requests = new Map<string, Map<number, number>>();
  private readonly latency = new Histogram(LATENCY_BUCKETS);
  private readonly batches = new Histogram(BATCH_BUCKETS);
  /** Reads the requests waiting for a batch. */
  queueDepth: () => number = () => 0;

  /**
   * Counts one answered request.
   * @param path - The request's path.
   * @param status - The HTTP status answered.
   * @param seconds - The time from request to answer.
   */
  request(path: string, status: number, seconds: number): void {
    let byStatus = this.requests.get(path);
    if (byStatus === undefined) this.requests.set(path, (byStatus = new Map()));
    byStatus.set(status, (byStatus.get(status) ?? 0) + 1);
    this.latency.observe(seconds);
  }

  /**
   * Counts one batch run.
   * @param size - Requests in the batch.
   */
  batch(size: number): void {
    this.batches.observe(size);
  }

  /** The Prometheus text exposition. */
  text(): string {
    const counters: string[] = [];
    for (const [path, byStatus] of this.requests) for (const [status, n] of byStatus) counters.push(`eddy_requests_total{path="${path}",status="${status}"} ${n}`);
    return [
      '# HELP eddy_requests_total Requests answered, by path and status.',
      '# TYPE eddy_requests_total counter',
      ...counters,
      '# HELP eddy_request_duration_seconds Time from request to answer.',
      '# TYPE eddy_request_duration_seconds histogram',
      ...this.latency.lines('eddy_request_duration_seconds'),
      '# HELP eddy_batch_size Requests per batch run.',
      '# TYPE eddy_batch_size histogram',
      ...this.batches.lines('eddy_batch_size'),
      '# HELP eddy_queue_depth Requests waiting for a batch.',
      '# TYPE eddy_queue_depth gauge',
      `eddy_queue_depth ${this.queueDepth()}`,
      '',
    ].join('\n');
  }
}

/** What {@link createHttpService} returns. */
export interface HttpService {
  /** The node:http server (call `listen` on it). */
  readonly server: http.Server;
  /** The counters `/metrics` reports. */
  readonly metrics: ServiceMetrics;
  /** Stops taking requests (503 from now on, `/healthz` included), waits for those in flight, then closes the server. */
  drain(): Promise<void>;
}

/**
 * The deadlines of the requests in flight, on one timer. Every request gets
 * the same time, so deadlines fall in the order requests arrive: a Set (which
 * iterates in insertion order) is a queue whose head expires first, and
 * finishing a request is one delete. The single timer is armed for the head's
 * deadline, rather than one setTimeout and clearTimeout per request.
 */
class Deadlines {
  private readonly waiting = new Set<Exchange>();
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly timeoutMs: number) {}

  add(x: Exchange): void {
    this.waiting.add(x);
    if (this.timer === null) this.arm(this.timeoutMs);
  }

  delete(x: Exchange): void {
    this.waiting.delete(x);
  }

  private arm(ms: number): void {
    this.timer = setTimeout(() => this.expire(), Math.max(1, Math.ceil(ms)));
    this.timer.unref();
  }

  private expire(): void {
    this.timer = null;
    const now = performance.now();
    for (const x of this.waiting) {
      if (x.deadline > now) return this.arm(x.deadline - now);
      this.waiting.delete(x);
      x.abort(
        x.reading
          ? new HttpError(408, `Expected the request body within ${this.timeoutMs} ms but it was still arriving`, 'ERR_EDDY_TIMEOUT', { connection: 'close' })
          : new HttpError(504, `The request took longer than ${this.timeoutMs} ms`, 'ERR_EDDY_TIMEOUT'),
      );
    }
  }
}

/** Writes a whole answer: JSON (or Prometheus text for a string), its length set by `end`. */
function send(res: http.ServerResponse, status: number, body: unknown, headers?: Record<string, string>): void {
  if (res.headersSent) {
    if (!res.writableEnded) res.end();
    return;
  }
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.statusCode = status;
  res.setHeader('content-type', typeof body === 'string' ? 'text/plain; version=0.0.4' : 'application/json');
  if (headers) for (const name in headers) res.setHeader(name, headers[name]);
  // end() with the whole body before any header was sent sets Content-Length itself.
  res.end(text);
}

/** Answers `err` as a JSON error (`{ "error": { "code", "message" } }`) and returns the status. */
function sendError(res: http.ServerResponse, err: unknown): number {
  const status = err instanceof HttpError ? err.status : err instanceof OverloadedError ? 429 : err instanceof EddyError && err.code !== 'ERR_EDDY_RESOURCE' ? 400 : 500;
  const headers = err instanceof HttpError ? err.headers : err instanceof OverloadedError ? { 'retry-after': '1' } : undefined;
  const code = err instanceof EddyError ? err.code : 'ERR_EDDY_INTERNAL';
  const message = status === 500 && !(err instanceof EddyError) ? 'Internal error' : (err as Error).message;
  send(res, status, { error: { code, message } }, headers);
  return status;
}

/**
 * One request to a route, from its first byte to its answer: it reads the
 * body, is the handler's {@link RouteContext}, and answers exactly once —
 * with the handler's result, or with the error that came first (a handler's
 * throw, the deadline, the client leaving). Callbacks rather than a chain of
 * promises, and the AbortController only made when a handler asks for the
 * signal: this runs for every request.
 */
class Exchange implements RouteContext, Abortable {
  body: unknown = undefined;
  readonly deadline: number;
  /** Whether the body is still arriving. */
  reading = false;
  private controller: AbortController | null = null;
  private listeners: (() => void)[] | null = null;
  private reason: unknown = undefined;
  private settled = false;
  private streaming = false;
  private chunks: Buffer[] | null = null;
  private size = 0;

  constructor(
    private readonly service: ServiceState,
    private readonly req: http.IncomingMessage,
    private readonly res: http.ServerResponse,
    private readonly route: Route,
    private readonly path: string,
    private readonly started: number,
  ) {
    this.deadline = started + service.timeoutMs;
  }

  get signal(): AbortSignal {
    if (this.controller === null) {
      this.controller = new AbortController();
      if (this.reason !== undefined) this.controller.abort(this.reason);
    }
    return this.controller.signal;
  }

  get cancellation(): Abortable {
    return this;
  }

  get aborted(): boolean {
    return this.reason !== undefined;
  }

  addEventListener(type: 'abort', listener: () => void): void {
    if (type === 'abort') (this.listeners ??= []).push(listener);
  }

  removeEventListener(type: 'abort', listener: () => void): void {
    const i = type === 'abort' && this.listeners ? this.listeners.indexOf(listener) : -1;
    if (i >= 0) this.listeners!.splice(i, 1);
  }

  /** A property rather than a method: handlers destructure the context. */
  readonly stream = (): ((value: unknown) => void) => {
    this.streaming = true;
    this.res.writeHead(200, { 'content-type': 'application/x-ndjson' });
    return (value) => void this.res.write(JSON.stringify(value) + '\n');
  };

  /** Reads the body (for POST), then runs the handler. */
  start(): void {
    this.res.once('close', () => {
      if (!this.res.writableFinished) this.abort(new HttpError(499, 'The client went away', 'ERR_EDDY_CLIENT_GONE'));
    });
    const req = this.req;
    if (this.route.method !== 'POST') {
      req.resume();
      return this.run();
    }
    const max = this.service.maxBody;
    const declared = Number(req.headers['content-length']);
    if (declared > max) {
      req.resume();
      return this.fail(new HttpError(413, `Expected a body of at most ${max} bytes but the request declares ${declared}`, 'ERR_EDDY_TOO_LARGE', { connection: 'close' }));
    }
    this.reading = true;
    req.on('data', (chunk: Buffer) => this.onData(chunk));
    req.on('end', () => this.onEnd());
    req.on('error', (err) => this.fail(err));
  }

  private onData(chunk: Buffer): void {
    if (this.settled) return;
    this.size += chunk.length;
    if (this.size > this.service.maxBody) {
      this.chunks = null;
      return this.fail(new HttpError(413, `Expected a body of at most ${this.service.maxBody} bytes but received more`, 'ERR_EDDY_TOO_LARGE', { connection: 'close' }));
    }
    (this.chunks ??= []).push(chunk);
  }

  private onEnd(): void {
    this.reading = false;
    if (this.settled) return;
    const chunks = this.chunks;
    const text = chunks === null ? '' : (chunks.length === 1 ? chunks[0] : Buffer.concat(chunks)).toString('utf8');
    try {
      this.body = JSON.parse(text);
    } catch (e) {
      return this.fail(new HttpError(400, `Expected a JSON body but it does not parse: ${(e as Error).message}`, 'ERR_EDDY_BAD_JSON'));
    }
    this.run();
  }

  private run(): void {
    let result: unknown;
    try {
      result = this.route.handle(this);
    } catch (err) {
      return this.fail(err);
    }
    // A handler written in plain JavaScript may answer without a promise.
    if (result === null || typeof (result as PromiseLike<unknown> | undefined)?.then !== 'function') return this.succeed(result);
    (result as PromiseLike<unknown>).then(
      (value) => this.succeed(value),
      (err: unknown) => this.fail(err),
    );
  }

  /** Aborts the handler's signal and answers with `reason` (unless answered already). */
  abort(reason: unknown): void {
    if (this.reason !== undefined) return;
    this.reason = reason;
    // Answered first, so a listener that throws cannot leave the request unanswered.
    this.fail(reason);
    const listeners = this.listeners;
    this.listeners = null;
    try {
      this.controller?.abort(reason);
    } catch {
      // An 'abort' listener's error is the handler's; the request is answered already.
    }
    if (listeners) {
      for (const listener of listeners) {
        try {
          listener();
        } catch {
          // As above.
        }
      }
    }
  }

  private succeed(result: unknown): void {
    if (this.settled) return;
    if (this.streaming) this.res.end();
    else send(this.res, 200, result);
    this.finish(200);
  }

  private fail(err: unknown): void {
    if (this.settled) return;
    if (this.res.headersSent) {
      // Mid-stream: the last line says what went wrong.
      if (!this.res.writableEnded) this.res.end(JSON.stringify({ error: { code: err instanceof EddyError ? err.code : 'ERR_EDDY_INTERNAL', message: (err as Error).message } }) + '\n');
      return this.finish(200);
    }
    this.finish(sendError(this.res, err));
  }

  private finish(status: number): void {
    this.settled = true;
    // A body still arriving (past the limit, say) is read and dropped.
    if (!this.req.complete) this.req.removeAllListeners('data');
    this.service.finished(this, this.path, status, this.started);
  }
}

/** What every Exchange of one service shares. */
interface ServiceState {
  readonly maxBody: number;
  readonly timeoutMs: number;
  finished(x: Exchange, path: string, status: number, started: number): void;
}

/**
 * An HTTP server answering `routes`, plus `GET /healthz` and `GET /metrics`.
 * @param routes - The endpoints besides `/healthz` and `/metrics`.
 * @param opts - {@link HttpServiceOptions}.
 * @throws {@link ValidationError} when an option is malformed.
 */
export function createHttpService(routes: Route[], opts: HttpServiceOptions = {}): HttpService {
  const o = checkOptions('opts', opts, HTTP_SERVICE_OPTION_KEYS);
  const maxBody = checkInteger('opts.maxBodyBytes', o.maxBodyBytes ?? 1 << 20, 1);
  const timeoutMs = checkInteger('opts.requestTimeoutMs', o.requestTimeoutMs ?? 30000, 1);
  const metrics = new ServiceMetrics();
  const deadlines = new Deadlines(timeoutMs);
  let draining = false;
  let inFlight = 0;
  let idle: (() => void) | null = null;

  const count = (path: string, status: number, started: number): void => metrics.request(path, status, (performance.now() - started) / 1000);
  const state: ServiceState = {
    maxBody,
    timeoutMs,
    finished(x, path, status, started) {
      deadlines.delete(x);
      count(path, status, started);
      if (--inFlight === 0 && idle) idle();
    },
  };

  const server = http.createServer((req, res) => {
    const started = performance.now();
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    let route: Route | undefined;
    for (const r of routes) {
      if (r.path === path) {
        route = r;
        break;
      }
    }
    if (route === undefined) {
      if (path === '/healthz' && req.method === 'GET') {
        send(res, draining ? 503 : 200, { status: draining ? 'draining' : 'ok' });
        return count(path, draining ? 503 : 200, started);
      }
      if (path === '/metrics' && req.method === 'GET') {
        send(res, 200, metrics.text());
        return count(path, 200, started);
      }
    }
    if (draining) {
      req.resume();
      return count(route ? path : 'other', sendError(res, new HttpError(503, 'The server is shutting down', 'ERR_EDDY_SHUTTING_DOWN', { connection: 'close' })), started);
    }
    if (route === undefined) {
      req.resume();
      const known = path === '/healthz' || path === '/metrics';
      const status = known
        ? sendError(res, new HttpError(405, `Expected GET for ${path} but received ${req.method}`, 'ERR_EDDY_METHOD', { allow: 'GET' }))
        : sendError(res, new HttpError(404, `No route ${req.method} ${path}; routes: ${routes.map((r) => `${r.method} ${r.path}`).join(', ')}, GET /healthz, GET /metrics`, 'ERR_EDDY_NOT_FOUND'));
      return count(known ? path : 'other', status, started);
    }
    if (req.method !== route.method) {
      req.resume();
      return count(path, sendError(res, new HttpError(405, `Expected ${route.method} for ${path} but received ${req.method}`, 'ERR_EDDY_METHOD', { allow: route.method })), started);
    }
    inFlight++;
    const exchange = new Exchange(state, req, res, route, path, started);
    deadlines.add(exchange);
    exchange.start();
  });
  // Node's own limits, past ours: a request whose headers or body never end is dropped.
  server.requestTimeout = timeoutMs;
  server.headersTimeout = Math.min(timeoutMs, 60000);

  const drain = (): Promise<void> => {
    draining = true;
    return new Promise<void>((resolve) => {
      const close = (): void => {
        server.close(() => resolve());
        server.closeIdleConnections();
      };
      if (inFlight === 0) close();
      else idle = close;
    });
  };
  return { server, metrics, drain };
}
