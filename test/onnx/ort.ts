import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as eddy from '../../lib';
import { Tensor } from '../../lib';

/** onnxruntime-node for the export tests, or null where it is not installed (the tests then skip with a message). */
export type Ort = typeof import('onnxruntime-node');

export function loadOrt(): Ort | null {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require('onnxruntime-node') as Ort;
  } catch {
    return null;
  }
}

/**
 * Hooks for a suite that runs exports in onnxruntime: skips it with a message
 * where onnxruntime-node is missing, and gives it a temporary folder
 * (`files.dir`, set before the tests run) that is removed afterwards.
 */
export function ortSuite(prefix: string): { ort: Ort | null; files: { dir: string } } {
  const ort = loadOrt();
  const files = { dir: '' };
  before(function () {
    if (!ort) {
      console.log('      skipped: onnxruntime-node is not installed (npm install runs it from devDependencies)');
      this.skip();
    }
    files.dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  });
  after(() => files.dir && fs.rmSync(files.dir, { recursive: true, force: true }));
  return { ort, files };
}

/** One set of feeds for an exported graph: a tensor per model input (token ids as float-held integers) and their lengths. */
export interface GraphFeeds {
  xs: Tensor[];
  lengths: (Int32Array | null)[];
}

/**
 * Exports `model` once, runs it in onnxruntime on every feed set (so the
 * dynamic axes are exercised), and checks each output against Eddy's own
 * eval-mode forward within `tol`. Returns the session's input names and
 * the largest difference seen.
 */
export async function exportAndCompare(
  ort: Ort,
  dir: string,
  model: eddy.GraphModel | eddy.Sequential,
  runs: GraphFeeds[],
  o: { tokenInputs?: boolean[]; tol: number; export?: eddy.onnx.OnnxExportOptions },
): Promise<{ inputNames: string[]; worst: number }> {
  model.eval();
  const file = path.join(dir, `m${Math.random().toString(36).slice(2)}.onnx`);
  await eddy.onnx.export(model, file, o.export ?? {});
  const session = await ort.InferenceSession.create(file);
  let worst = 0;
  for (const { xs, lengths } of runs) {
    const single = xs.length === 1;
    const feeds: Record<string, InstanceType<Ort['Tensor']>> = {};
    xs.forEach((x, i) => {
      const name = single ? 'input' : `input_${i}`;
      feeds[name] = o.tokenInputs?.[i] ? new ort.Tensor('int64', BigInt64Array.from(x.toFloat32Array(), (v) => BigInt(v)), x.shape.slice()) : new ort.Tensor('float32', x.toFloat32Array(), x.shape.slice());
      const lname = single ? 'lengths' : `lengths_${i}`;
      if (session.inputNames.includes(lname)) feeds[lname] = new ort.Tensor('int32', lengths[i]!, [lengths[i]!.length]);
    });
    const result = await session.run(feeds);
    const want = eddy.noGrad(() => (model as eddy.GraphModel).forward(single ? xs[0] : xs, { lengths: single ? lengths[0] ?? undefined : lengths }));
    const wants = Array.isArray(want) ? want : [want];
    wants.forEach((w, i) => {
      const out = result[wants.length === 1 ? 'output' : `output_${i}`];
      assert.deepStrictEqual(out.dims, w.shape, `output ${i} shape`);
      const got = out.data as Float32Array;
      const expected = w.toFloat32Array();
      let diff = 0;
      for (let j = 0; j < got.length; j++) diff = Math.max(diff, Math.abs(got[j] - expected[j]));
      // NaN never passes: Math.max(…, NaN) is NaN and NaN <= tol is false.
      assert.ok(diff <= o.tol, `output ${i} at shapes ${xs.map((x) => `[${x.shape.join(', ')}]`).join(', ')}: max difference ${diff} (tolerance ${o.tol})`);
      worst = Math.max(worst, diff);
    });
  }
  return { inputNames: session.inputNames.slice(), worst };
}

/** A tensor of uniform values in [−scale, scale] from its own seed. */
export function randomTensor(shape: number[], seed: number, scale = 1): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return eddy.tensor(new eddy.Generator(seed).uniform(new Float32Array(n), -scale, scale), shape);
}

/** Token ids in [0, vocab) held as floats, as models take them. */
export function tokenIds(shape: number[], vocab: number, seed: number): Tensor {
  const g = new eddy.Generator(seed);
  return eddy.tensor(Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => Math.floor(g.next() * vocab)), shape);
}
