/**
 * createHttpService in this process on a free loopback port: deadlines,
 * cancellation reaching the handler, and the metrics exposition.
 */
import * as assert from 'assert';
import * as http from 'http';
import { AddressInfo } from 'net';
import * as eddy from '../../lib';

interface Reply {
  status: number;
  body: string;
  ms: number;
}

function post(port: number, path: string, body: string): Promise<Reply> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method: 'POST', path, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, body: Buffer.concat(chunks).toString('utf8'), ms: performance.now() - t0 }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function listen(service: eddy.serving.HttpService): Promise<number> {
  await new Promise<void>((resolve) => service.server.listen(0, '127.0.0.1', resolve));
  return (service.server.address() as AddressInfo).port;
}

describe('createHttpService', () => {
  it('answers 504 at each request’s own deadline, telling its handler through signal and cancellation', async () => {
    const seen: string[] = [];
    const service = eddy.serving.createHttpService(
      [
        {
          method: 'POST',
          path: '/wait',
          handle: (ctx) =>
            new Promise((resolve) => {
              const { name, ms } = ctx.body as { name: string; ms: number };
              ctx.cancellation.addEventListener('abort', () => seen.push(`${name} cancelled`));
              ctx.signal.addEventListener('abort', () => seen.push(`${name} ${(ctx.signal.reason as eddy.EddyError).code}`));
              setTimeout(() => resolve({ name }), ms);
            }),
        },
      ],
      { requestTimeoutMs: 300 },
    );
    const port = await listen(service);
    try {
      const slow = post(port, '/wait', JSON.stringify({ name: 'a', ms: 5000 }));
      await new Promise((r) => setTimeout(r, 100));
      const [later, fast] = await Promise.all([post(port, '/wait', JSON.stringify({ name: 'b', ms: 5000 })), post(port, '/wait', JSON.stringify({ name: 'c', ms: 1 }))]);
      const first = await slow;
      for (const [r, name] of [[first, 'a'], [later, 'b']] as const) {
        assert.strictEqual(r.status, 504, r.body);
        assert.deepStrictEqual(JSON.parse(r.body), { error: { code: 'ERR_EDDY_TIMEOUT', message: 'The request took longer than 300 ms' } });
        // A deadline never fires early (the client's clock starts before the server's).
        assert.ok(r.ms >= 300, `${name} answered after ${r.ms} ms`);
      }
      assert.deepStrictEqual(JSON.parse(fast.body), { name: 'c' });
      assert.deepStrictEqual(seen.sort(), ['a ERR_EDDY_TIMEOUT', 'a cancelled', 'b ERR_EDDY_TIMEOUT', 'b cancelled']);
      const metrics = service.metrics.text();
      assert.match(metrics, /^eddy_requests_total\{path="\/wait",status="504"\} 2$/m);
      assert.match(metrics, /^eddy_requests_total\{path="\/wait",status="200"\} 1$/m);
    } finally {
      await service.drain();
    }
  });

  it('answers 408 when the body is still arriving at the deadline, without running the handler', async () => {
    let ran = false;
    const service = eddy.serving.createHttpService([{ method: 'POST', path: '/slow', handle: async () => (ran = true) }], { requestTimeoutMs: 200 });
    const port = await listen(service);
    try {
      const reply = await new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: '/slow', agent: false, headers: { 'content-length': '100' } }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode!, body: Buffer.concat(chunks).toString('utf8') }));
        });
        req.on('error', reject);
        req.write('{"history": [1, 2');
      });
      assert.strictEqual(reply.status, 408, reply.body);
      assert.deepStrictEqual(JSON.parse(reply.body), { error: { code: 'ERR_EDDY_TIMEOUT', message: 'Expected the request body within 200 ms but it was still arriving' } });
      assert.strictEqual(ran, false);
    } finally {
      await service.drain();
    }
  });

  it('cancels the handler when the client goes away', async () => {
    let cancelled: () => void = () => undefined;
    const gone = new Promise<void>((resolve) => (cancelled = resolve));
    const service = eddy.serving.createHttpService([
      {
        method: 'POST',
        path: '/hang',
        handle: (ctx) =>
          new Promise(() => {
            ctx.cancellation.addEventListener('abort', () => cancelled());
            req.destroy();
          }),
      },
    ]);
    const port = await listen(service);
    const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: '/hang', agent: false });
    req.on('error', () => undefined);
    req.end('{}');
    try {
      await gone;
      await new Promise((r) => setImmediate(r));
      assert.match(service.metrics.text(), /^eddy_requests_total\{path="\/hang",status="499"\} 1$/m);
    } finally {
      await service.drain();
    }
  });

  it('answers a handler that returns a value or throws without a promise', async () => {
    const routes = [
      { method: 'POST', path: '/plain', handle: (ctx: eddy.serving.RouteContext) => ({ echo: ctx.body }) },
      {
        method: 'POST',
        path: '/throws',
        handle: () => {
          throw new eddy.ValidationError('Expected something else for x but received 1');
        },
      },
    ] as unknown as eddy.serving.Route[];
    const service = eddy.serving.createHttpService(routes);
    const port = await listen(service);
    try {
      assert.deepStrictEqual(JSON.parse((await post(port, '/plain', '[1,2]')).body), { echo: [1, 2] });
      const thrown = await post(port, '/throws', '{}');
      assert.strictEqual(thrown.status, 400);
      assert.deepStrictEqual(JSON.parse(thrown.body), { error: { code: 'ERR_EDDY_VALIDATION', message: 'Expected something else for x but received 1' } });
    } finally {
      await service.drain();
    }
  });

  it('reports cumulative histogram buckets', () => {
    const metrics = new eddy.serving.ServiceMetrics();
    for (const n of [1, 5, 300, 8]) metrics.batch(n);
    for (const s of [0.0005, 0.02, 20]) metrics.request('/x', 200, s);
    const text = metrics.text();
    const bucket = (name: string, le: string): number => Number(new RegExp(`^${name}_bucket\\{le="${le.replace('+', '\\+')}"\\} (\\d+)$`, 'm').exec(text)?.[1]);
    assert.deepStrictEqual(['1', '2', '4', '8', '256', '+Inf'].map((le) => bucket('eddy_batch_size', le)), [1, 1, 1, 3, 3, 4]);
    assert.deepStrictEqual(['0.001', '0.01', '0.025', '10', '+Inf'].map((le) => bucket('eddy_request_duration_seconds', le)), [1, 1, 2, 2, 3]);
    assert.match(text, /^eddy_batch_size_sum 314$/m);
    assert.match(text, /^eddy_batch_size_count 4$/m);
    assert.match(text, /^eddy_requests_total\{path="\/x",status="200"\} 3$/m);
  });
});
