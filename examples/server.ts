/**
 * Serving a forecaster over HTTP without blocking: the model is loaded once,
 * and the requests that arrive while a forward pass runs are batched into
 * the next one (one [batch, inputSteps, 1] predict on a worker thread
 * instead of one call per request).
 *
 *   npx tsc -p . && node dist/lib/cli/main.js train --task forecast --out co2-run
 *   node dist/examples/server.js co2-run/model.safetensors 8080
 *   curl -s localhost:8080/forecast -d '{"history":[370.1,370.4, …]}'   # at least inputSteps values
 */
import * as http from 'http';
import * as eddy from '../lib';

interface Pending {
  history: number[];
  resolve: (value: number) => void;
  reject: (err: Error) => void;
}

async function main(): Promise<void> {
  const [file = 'co2-run/model.safetensors', port = '8080'] = process.argv.slice(2);
  const { model, metadata } = await eddy.loadModelFile(file);
  if (metadata.task !== 'forecast') throw new Error(`${file} is not a model from \`eddy train --task forecast\``);
  const inputSteps = Number(metadata.inputSteps);
  const scaler = eddy.timeseries.scalerFromJSON(JSON.parse(metadata.scaler));
  const predictor = model as eddy.Sequential;

  // The micro-batcher: requests queue here; one forward pass at a time takes all of them.
  let queue: Pending[] = [];
  let running = false;
  const runBatch = async (): Promise<void> => {
    if (running || queue.length === 0) return;
    running = true;
    const batch = queue;
    queue = [];
    try {
      const x = new Float32Array(batch.length * inputSteps);
      batch.forEach((p, i) => x.set((scaler.transform(p.history.slice(-inputSteps)) as number[]), i * inputSteps));
      const y = await predictor.predict(eddy.tensor(x, [batch.length, inputSteps, 1])); // off the main thread
      const values = scaler.inverseTransform(Array.from(y.toFloat32Array())) as number[];
      batch.forEach((p, i) => p.resolve(values[i]));
    } catch (err) {
      batch.forEach((p) => p.reject(err as Error));
    } finally {
      running = false;
      setImmediate(() => void runBatch()); // whatever arrived meanwhile
    }
  };

  const server = http.createServer((req, res) => {
    if (req.method !== 'POST' || req.url !== '/forecast') {
      res.writeHead(404).end('POST /forecast {"history": [numbers]}\n');
      return;
    }
    let body = '';
    req.on('data', (d: Buffer) => (body += d));
    req.on('end', () => {
      let history: unknown;
      try {
        history = (JSON.parse(body) as { history?: unknown }).history;
      } catch {
        history = undefined;
      }
      if (!Array.isArray(history) || history.length < inputSteps || !history.every((v) => typeof v === 'number' && Number.isFinite(v))) {
        res.writeHead(400).end(`Expected {"history": [at least ${inputSteps} numbers]}\n`);
        return;
      }
      new Promise<number>((resolve, reject) => {
        queue.push({ history: history as number[], resolve, reject });
        void runBatch();
      }).then(
        (next) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ next }) + '\n'),
        (err: Error) => res.writeHead(500).end(`${err.message}\n`),
      );
    });
  });
  server.listen(Number(port), () => console.log(`Serving ${file} (${inputSteps} steps of history → next value) on http://localhost:${port}/forecast`));
}

main().catch((err: Error) => {
  console.error(err.message);
  process.exitCode = 1;
});
