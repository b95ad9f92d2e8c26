/**
 * The comparison server of `npm run bench -- serve`: the same HTTP service
 * and `POST /forecast` route as `eddy serve`, but the model is the exported
 * ONNX file run by onnxruntime-node, one call per request. Started as a
 * child process: `node ort-forecast-server.js model.onnx model.safetensors`;
 * prints `listening on <port>` and drains on SIGTERM.
 */
import * as eddy from '../index';
import { createHttpService, HttpError } from '../serving/http';

type Ort = typeof import('onnxruntime-node');

async function main(onnxFile: string, modelFile: string): Promise<void> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const ort = require('onnxruntime-node') as Ort;
  const { metadata } = await eddy.loadModelFile(modelFile);
  const inputSteps = Number(metadata.inputSteps);
  const scaler = metadata.scaler === undefined ? undefined : eddy.timeseries.scalerFromJSON(JSON.parse(String(metadata.scaler)));
  const session = await ort.InferenceSession.create(onnxFile);
  const predict = async (x: eddy.Tensor): Promise<eddy.Tensor> => {
    const B = x.shape[0];
    const feeds: Record<string, InstanceType<Ort['Tensor']>> = { input: new ort.Tensor('float32', x.toFloat32Array(), x.shape.slice()) };
    if (session.inputNames.includes('lengths')) feeds.lengths = new ort.Tensor('int32', new Int32Array(B).fill(x.shape[1]), [B]);
    const out = (await session.run(feeds)).output;
    return eddy.tensor(Float32Array.from(out.data as Float32Array), out.dims.map(Number));
  };
  // The lag network of `eddy train --task forecast`, or a window model of an earlier version.
  const lagged = metadata.forecaster === undefined ? null : eddy.timeseries.SeriesForecaster.fromJSON(predict, JSON.parse(String(metadata.forecaster)));
  const windowed = lagged ? null : new eddy.timeseries.Forecaster(predict, { inputSteps, scaler });
  const need = lagged ? lagged.historyNeeded : inputSteps;
  const service = createHttpService([
    {
      method: 'POST',
      path: '/forecast',
      handle: async ({ body }) => {
        const history = (body as { history?: unknown } | null)?.history;
        if (!Array.isArray(history) || history.length < need) throw new HttpError(400, `Expected an array of at least ${need} numbers for history`, 'ERR_EDDY_BAD_REQUEST');
        if (lagged) {
          const { mean, intervals } = await lagged.forecast(history as number[], 1);
          return { forecast: mean, intervals };
        }
        return { forecast: await windowed!.forecast(history as number[], 1) };
      },
    },
  ]);
  service.server.listen(0, '127.0.0.1', () => {
    const address = service.server.address();
    console.log(`listening on ${typeof address === 'object' && address ? address.port : 0}`);
  });
  process.once('SIGTERM', () => void service.drain().then(() => process.exit(0)));
}

main(process.argv[2], process.argv[3]).catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
