/**
 * The HTTP machinery of `eddy serve`, on node:http: JSON bodies read with a
 * size limit, one JSON error shape (`{ "error": { "code", "message" } }`),
 * a deadline per request, Prometheus metrics, and a graceful drain. The
 * routes that know models live with the command (`cli/serve.ts`).
 */
import * as http from 'http';
import { EddyError, OverloadedError } from '../errors';
import { checkInteger, checkOptions, optionKeys } from '../validate';

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
  /** Aborted when the request times out or the client goes away. */
  signal: AbortSignal;
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

/** A Prometheus histogram: cumulative bucket counts, sum and count. */
class Histogram {
  private readonly counts: number[];
  private sum = 0;
  private count = 0;

  constructor(private readonly bounds: number[]) {
    this.counts = bounds.map(() => 0);
  }

  observe(v: number): void {
    this.bounds.forEach((b, i) => {
      if (v <= b) this.counts[i]++;
    });
    this.sum += v;
    this.count++;
  }

  lines(name: string, labels = ''): string[] {
    const sep = labels ? `${labels},` : '';
    return [
      ...this.bounds.map((b, i) => `${name}_bucket{${sep}le="${b}"} ${this.counts[i]}`),
      `${name}_bucket{${sep}le="+Inf"} ${this.count}`,
      `${name}_sum${labels ? `{${labels}}` : ''} ${this.sum}`,
      `${name}_count${labels ? `{${labels}}` : ''} ${this.count}`,
    ];
  }
}

/** What `/metrics` reports. */
export class ServiceMetrics {
  private readonly requests = new Map<string, number>();
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
    const key = `path="${path}",status="${status}"`;
    this.requests.set(key, (this.requests.get(key) ?? 0) + 1);
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
    return [
      '# HELP eddy_requests_total Requests answered, by path and status.',
      '# TYPE eddy_requests_total counter',
      ...[...this.requests].map(([labels, n]) => `eddy_requests_total{${labels}} ${n}`),
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
  let draining = false;
  let inFlight = 0;
  let idle: (() => void) | null = null;

  const send = (res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void => {
    if (res.headersSent) {
      if (!res.writableEnded) res.end();
      return;
    }
    const text = typeof body === 'string' ? body : JSON.stringify(body);
    res.writeHead(status, { 'content-type': typeof body === 'string' ? 'text/plain; version=0.0.4' : 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
    res.end(text);
  };
  const sendError = (res: http.ServerResponse, err: unknown): number => {
    const status = err instanceof HttpError ? err.status : err instanceof OverloadedError ? 429 : err instanceof EddyError && err.code !== 'ERR_EDDY_RESOURCE' ? 400 : 500;
    const headers = err instanceof HttpError ? err.headers : err instanceof OverloadedError ? { 'retry-after': '1' } : {};
    const code = err instanceof EddyError ? err.code : 'ERR_EDDY_INTERNAL';
    const message = status === 500 && !(err instanceof EddyError) ? 'Internal error' : (err as Error).message;
    send(res, status, { error: { code, message } }, headers);
    return status;
  };

  const server = http.createServer((req, res) => {
    const started = process.hrtime.bigint();
    const path = (req.url ?? '/').split('?')[0];
    const done = (status: number): void => {
      metrics.request(routes.some((r) => r.path === path) || path === '/healthz' || path === '/metrics' ? path : 'other', status, Number(process.hrtime.bigint() - started) / 1e9);
    };
    if (path === '/healthz' && req.method === 'GET') {
      send(res, draining ? 503 : 200, { status: draining ? 'draining' : 'ok' });
      return done(draining ? 503 : 200);
    }
    if (path === '/metrics' && req.method === 'GET') {
      send(res, 200, metrics.text());
      return done(200);
    }
    if (draining) {
      req.resume();
      return done(sendError(res, new HttpError(503, 'The server is shutting down', 'ERR_EDDY_SHUTTING_DOWN', { connection: 'close' })));
    }
    const route = routes.find((r) => r.path === path);
    if (!route) {
      req.resume();
      return done(sendError(res, new HttpError(404, `No route ${req.method} ${path}; routes: ${routes.map((r) => `${r.method} ${r.path}`).join(', ')}, GET /healthz, GET /metrics`, 'ERR_EDDY_NOT_FOUND')));
    }
    if (req.method !== route.method) {
      req.resume();
      return done(sendError(res, new HttpError(405, `Expected ${route.method} for ${path} but received ${req.method}`, 'ERR_EDDY_METHOD', { allow: route.method })));
    }
    inFlight++;
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(new HttpError(504, `The request took longer than ${timeoutMs} ms`, 'ERR_EDDY_TIMEOUT')), timeoutMs);
    res.on('close', () => {
      if (!res.writableFinished) controller.abort(new HttpError(499, 'The client went away', 'ERR_EDDY_CLIENT_GONE'));
    });
    const finish = (status: number): void => {
      clearTimeout(timer);
      done(status);
      if (--inFlight === 0 && idle) idle();
    };
    readBody(req, route.method === 'POST', maxBody, controller.signal)
      .then(async (body) => {
        let streaming = false;
        const ctx: RouteContext = {
          body,
          signal: controller.signal,
          stream: () => {
            streaming = true;
            res.writeHead(200, { 'content-type': 'application/x-ndjson' });
            return (value) => void res.write(JSON.stringify(value) + '\n');
          },
        };
        const result = await Promise.race([route.handle(ctx), aborted(controller.signal)]);
        if (streaming) res.end();
        else send(res, 200, result);
        finish(200);
      })
      .catch((err: unknown) => {
        if (res.headersSent) {
          // Mid-stream: the last line says what went wrong.
          if (!res.writableEnded) res.end(JSON.stringify({ error: { code: err instanceof EddyError ? err.code : 'ERR_EDDY_INTERNAL', message: (err as Error).message } }) + '\n');
          finish(200);
        } else {
          finish(sendError(res, err));
        }
      });
  });
  // A body that trickles in slower than the deadline gets 408 from Node itself.
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

function aborted(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    if (signal.aborted) reject(signal.reason);
    signal.addEventListener('abort', () => reject(signal.reason), { once: true });
  });
}

/** Reads and parses a JSON body of at most `max` bytes. */
function readBody(req: http.IncomingMessage, json: boolean, max: number, signal: AbortSignal): Promise<unknown> {
  return new Promise((resolve, reject) => {
    if (!json) {
      req.resume();
      return resolve(undefined);
    }
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > max) {
      req.resume();
      return reject(new HttpError(413, `Expected a body of at most ${max} bytes but the request declares ${declared}`, 'ERR_EDDY_TOO_LARGE', { connection: 'close' }));
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > max) {
        req.removeAllListeners('data');
        req.resume();
        reject(new HttpError(413, `Expected a body of at most ${max} bytes but received more`, 'ERR_EDDY_TOO_LARGE', { connection: 'close' }));
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (size > max) return;
      const text = Buffer.concat(chunks).toString('utf8');
      try {
        resolve(JSON.parse(text));
      } catch (e) {
        reject(new HttpError(400, `Expected a JSON body but it does not parse: ${(e as Error).message}`, 'ERR_EDDY_BAD_JSON'));
      }
    });
    req.on('error', reject);
    signal.addEventListener('abort', () => reject(signal.reason), { once: true });
  });
}
