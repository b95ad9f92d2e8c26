/**
 * Serving a forecaster over HTTP with the library's pieces: one Batcher
 * coalesces concurrent requests into batched forward passes on a worker
 * thread, and createHttpService brings the limits (body size, deadline,
 * queue full → 429), /healthz, /metrics and a graceful drain. `eddy serve`
 * does all of this for any model file; this is the same in 30 lines, for
 * a service with routes of its own.
 *
 *   npx tsc -p . && node dist/lib/cli/main.js train --task forecast --out co2-run
 *   node dist/examples/server.js co2-run/model.safetensors 8080
 *   curl -s localhost:8080/forecast -d '{"history":[370.1,370.4, …]}'   # at least inputSteps values
 */
import * as eddy from '../lib';

async function main(): Promise<void> {
  const [file = 'co2-run/model.safetensors', port = '8080'] = process.argv.slice(2);
  const { model, metadata } = await eddy.loadModelFile(file);
  if (metadata.inputSteps === undefined) throw new Error(`${file} is not a forecasting model (no inputSteps in its metadata)`);
  const inputSteps = Number(metadata.inputSteps);
  const scaler = metadata.scaler ? eddy.timeseries.scalerFromJSON(JSON.parse(metadata.scaler)) : undefined;
  const batcher = new eddy.serving.Batcher(model as eddy.Sequential, { maxBatch: 64, maxDelayMs: 2 });

  const service = eddy.serving.createHttpService([
    {
      method: 'POST',
      path: '/forecast',
      async handle({ body, signal }) {
        const history = (body as { history?: unknown }).history;
        if (!Array.isArray(history) || history.length < inputSteps) throw new eddy.serving.HttpError(400, `Expected at least ${inputSteps} numbers for history`);
        // Each window is one request of [inputSteps, 1]; its last output row is the next value.
        const predict = async (x: eddy.Tensor): Promise<eddy.Tensor> => {
          const y = await batcher.predict(x.select(0, 0).contiguous(), { signal });
          return y.rank > 1 ? y.select(0, y.shape[0] - 1).reshape([1, -1]) : y.reshape([1, -1]);
        };
        const forecaster = new eddy.timeseries.Forecaster(predict, { inputSteps, scaler });
        return { forecast: await forecaster.forecast(history as number[], 1) };
      },
    },
  ]);
  service.metrics.queueDepth = () => batcher.queued;
  service.server.listen(Number(port), '127.0.0.1', () => console.log(`forecasting on http://127.0.0.1:${port}/forecast`));
  process.once('SIGTERM', () => void service.drain().then(() => process.exit(0)));
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
