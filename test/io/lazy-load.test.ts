/**
 * Loading reads the header first, checks every tensor's name and shape
 * against the model's config, and only then reads the data, each tensor
 * straight into its parameter: a model file of N bytes loads in about N
 * bytes of memory, and a file with an unexpected giant tensor is refused
 * without reading it. Memory is measured in a child process.
 */
import * as assert from 'assert';
import { execFile } from 'child_process';
import { promises as fs } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { promisify } from 'util';
import * as eddy from '../../lib';
import { FormatError } from '../../lib';
import { MAX_HEADER_VALUES } from '../../lib/io/safetensors';

const MB = 1024 * 1024;

interface Measured {
  before: number;
  peak: number;
  outcome: { sum?: number; parameters?: number; error?: string; message?: string };
}

async function measure(file: string, op: 'load' | 'describe'): Promise<Measured & { growth: number }> {
  const child = path.join(__dirname, 'load-memory.js');
  const { stdout } = await promisify(execFile)(process.execPath, [child, file, op], { timeout: 60000 });
  const m = JSON.parse(stdout) as Measured;
  return { ...m, growth: m.peak - m.before };
}

/** A file with `header` (JSON text, or a value to stringify) and `dataBytes` of data, written sparse: only the header occupies disk. */
async function sparseFile(file: string, header: unknown, dataBytes: number): Promise<void> {
  let json = Buffer.from(typeof header === 'string' ? header : JSON.stringify(header));
  json = Buffer.concat([json, Buffer.alloc((8 - (json.length % 8)) % 8, 0x20)]);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  const fh = await fs.open(file, 'w');
  try {
    await fh.write(Buffer.concat([len, json]), 0, 8 + json.length, 0);
    await fh.truncate(8 + json.length + dataBytes);
  } finally {
    await fh.close();
  }
}

describe('io: lazy loading', () => {
  let dir: string;
  before(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'eddy-lazy-'));
  });
  after(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('loads a 64 MB model in about 64 MB, and describes it in next to nothing', async function () {
    this.timeout(120000);
    eddy.manualSeed(1);
    const model = new eddy.Linear({ inFeatures: 4096, outFeatures: 4096 });
    const file = path.join(dir, 'big.safetensors');
    await eddy.save(model, file);
    const size = (await fs.stat(file)).size;
    const w = model.weight.data.toFloat32Array();
    const b = model.bias!.data.toFloat32Array();
    const expected = w[0] + w[w.length - 1] + b[0] + b[b.length - 1];
    const loaded = await measure(file, 'load');
    const described = await measure(file, 'describe');
    console.log(`      file ${(size / MB).toFixed(1)} MB: load grew the peak RSS by ${(loaded.growth / MB).toFixed(1)} MB, describe by ${(described.growth / MB).toFixed(1)} MB`);
    assert.strictEqual(loaded.outcome.sum, expected);
    assert.strictEqual(described.outcome.parameters, 4096 * 4096 + 4096);
    // The weights themselves are N; the rest is the header, one tensor's
    // bookkeeping and allocator slack. Reading the file whole and copying
    // it into the parameters, as before, took about 4 N.
    assert.ok(loaded.growth <= 1.15 * size + 32 * MB, `load grew by ${(loaded.growth / MB).toFixed(1)} MB for a ${(size / MB).toFixed(1)} MB file`);
    assert.ok(described.growth <= 16 * MB, `describe grew by ${(described.growth / MB).toFixed(1)} MB`);
  });

  it('refuses an unexpected 1.5 GB tensor from the header, before reading any data', async function () {
    this.timeout(60000);
    const config = JSON.stringify({ className: 'Linear', config: { inFeatures: 2, outFeatures: 1, bias: false } });
    const header = {
      __metadata__: { 'eddy.format_version': '1', 'eddy.kind': 'model', 'eddy.model': config },
      weight: { dtype: 'F32', shape: [1, 2], data_offsets: [0, 8] },
      extra: { dtype: 'F32', shape: [375_000_000], data_offsets: [8, 8 + 1_500_000_000] },
    };
    const file = path.join(dir, 'sparse.safetensors');
    await sparseFile(file, header, 8 + 1_500_000_000);
    await assert.rejects(eddy.load(file), { name: 'FormatError', message: /^Unexpected tensor "extra" in ".*sparse.safetensors" for Linear\(inFeatures=2, outFeatures=1, bias=false\); expected weight$/ });
    const m = await measure(file, 'load');
    console.log(`      refused after ${(m.growth / MB).toFixed(1)} MB of peak RSS growth`);
    assert.strictEqual(m.outcome.error, 'FormatError');
    assert.ok(m.growth <= 16 * MB, `grew by ${(m.growth / MB).toFixed(1)} MB`);
  });

  it('refuses a header of too many values before parsing it', async () => {
    const start = Date.now();
    // Each entry counts 6 JSON values (its object, two arrays, the commas); written as text, since building it as an object is slow.
    const entries = Array.from({ length: Math.ceil(MAX_HEADER_VALUES / 6) + 10 }, (_, i) => `"t${i}":{"dtype":"F32","shape":[0],"data_offsets":[0,0]}`);
    const header = `{${entries.join(',')}}`;
    const file = path.join(dir, 'tiny-entries.safetensors');
    await sparseFile(file, header, 0);
    await assert.rejects(eddy.load(file), (err: Error) => {
      assert.ok(err instanceof FormatError);
      assert.match(err.message, /^Header of ".*tiny-entries.safetensors" holds \d+ JSON values, more than the limit of 1000000: refusing to parse it$/);
      return true;
    });
    await assert.rejects(eddy.describeModelFile(file), FormatError);
    console.log(`      refused in ${Date.now() - start} ms`);
  });
});
