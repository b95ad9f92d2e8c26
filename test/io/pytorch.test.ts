/**
 * PyTorch interop both ways. Committed fixtures (scripts/make-io-fixtures.py)
 * test PyTorch → Eddy everywhere; Eddy → PyTorch runs real PyTorch when a
 * python3 that imports torch is found, and says so when it is skipped.
 */
import * as assert from 'assert';
import { spawnSync } from 'child_process';
import { promises as fs, readFileSync } from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as eddy from '../../lib';
import { Module, Tensor } from '../../lib';
import { assertClose } from '../helpers';

const root = path.join(__dirname, '..', '..', '..');
const fixtures = path.join(root, 'test', 'fixtures', 'io');
const script = path.join(root, 'scripts', 'make-io-fixtures.py');

interface Case {
  name: string;
  file: string;
  torch: unknown;
  eddy: unknown;
  keys: [string, number[]][];
  input: { shape: number[]; data: number[] };
  output: { shape: number[]; data: number[] };
}
const cases = (JSON.parse(readFileSync(path.join(fixtures, 'torch-cases.json'), 'utf8')) as { cases: Case[] }).cases;

/** The environment of a python3 that imports torch, or null. */
function torchPython(): NodeJS.ProcessEnv | null {
  for (const extra of [{ PYTHONPATH: '/tmp/torch2' }, {}]) {
    const env = { ...process.env, ...extra };
    if (spawnSync('python3', ['-c', 'import torch'], { env, stdio: 'ignore', timeout: 60000 }).status === 0) return env;
  }
  return null;
}

function outputOf(m: Module, x: Tensor): Tensor {
  const y = eddy.noGrad(() => (m as unknown as { forward(x: Tensor): unknown }).forward(x));
  return y instanceof Tensor ? y : (y as { output: Tensor }).output;
}

describe('io: PyTorch interop', () => {
  for (const c of cases) {
    it(`loads a PyTorch ${c.name} state dict saved as safetensors and matches PyTorch's output`, async () => {
      const m = eddy.layerFromConfig(c.eddy);
      await eddy.io.loadWeights(m, path.join(fixtures, c.file));
      const y = outputOf(m, eddy.tensor(Float32Array.from(c.input.data), c.input.shape));
      assert.deepStrictEqual(y.shape, c.output.shape);
      const diff = assertClose(y.toFloat32Array(), c.output.data, 1e-5, `${c.name} output`);
      console.log(`      max difference from PyTorch ${diff.toExponential(2)} (tolerance 1e-5)`);
    });

    it(`names and shapes the ${c.name} weights exactly as PyTorch's state_dict`, () => {
      const m = eddy.layerFromConfig(c.eddy);
      assert.deepStrictEqual(m.namedParameters().map(([n, p]) => [n, p.shape.slice()]), c.keys);
    });
  }

  describe('Eddy files in real PyTorch', () => {
    const env = torchPython();
    let dir: string;
    before(async function () {
      if (!env) {
        console.log('      SKIPPED: no python3 that can import torch (tried PYTHONPATH=/tmp/torch2 and plain python3); Eddy → PyTorch is checked only by key names');
        this.skip();
      }
      dir = await fs.mkdtemp(path.join(os.tmpdir(), 'eddy-torch-'));
    });
    after(async () => {
      if (dir) await fs.rm(dir, { recursive: true, force: true });
    });

    for (const c of cases) {
      it(`loads an Eddy-saved ${c.name} with load_state_dict(strict=True), no renaming, and matches Eddy's output`, async function () {
        this.timeout(120000);
        eddy.manualSeed(11);
        const m = eddy.layerFromConfig(c.eddy);
        const file = path.join(dir, `${c.name}.safetensors`);
        await eddy.save(m, file);
        const spec = path.join(dir, `${c.name}.json`);
        await fs.writeFile(spec, JSON.stringify({ torch: c.torch, input: c.input }));
        const run = spawnSync('python3', [script, 'forward', file, spec], { env: env!, encoding: 'utf8', timeout: 120000 });
        assert.strictEqual(run.status, 0, run.stderr);
        const torchOut = JSON.parse(run.stdout) as { shape: number[]; data: number[]; keys: string[]; metadata: Record<string, string> };
        assert.deepStrictEqual(torchOut.keys, c.keys.map(([k]) => k));
        assert.strictEqual(torchOut.metadata.format, 'pt');
        const y = outputOf(m, eddy.tensor(Float32Array.from(c.input.data), c.input.shape));
        assert.deepStrictEqual(torchOut.shape, y.shape);
        const diff = assertClose(y.toFloat32Array(), torchOut.data, 1e-5, `${c.name} output in PyTorch`);
        console.log(`      max difference Eddy vs PyTorch ${diff.toExponential(2)} (tolerance 1e-5)`);
      });
    }
  });
});
