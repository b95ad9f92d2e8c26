/**
 * Loading never trusts the file: every malformed or hostile input is a
 * FormatError naming the problem — never another exception, a crash, a
 * hang or a huge allocation.
 */
import * as assert from 'assert';
import { promises as fs } from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as eddy from '../../lib';
import { FormatError } from '../../lib';
import { heavyOr, rng } from '../helpers';

/** A file with an arbitrary header object and data bytes. */
function craft(header: unknown, data: Buffer = Buffer.alloc(0), rawHeader?: string): Buffer {
  const json = Buffer.from(rawHeader ?? JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  return Buffer.concat([len, json, data]);
}

const decode = (buf: Uint8Array): unknown => eddy.io.decodeModel(eddy.io.decodeSafetensors(buf, 'the file'), 'the file');

function rejects(buf: Uint8Array, message: RegExp): void {
  assert.throws(() => decode(buf), (err: Error) => {
    assert.ok(err instanceof FormatError, `expected a FormatError but got ${err.name}: ${err.message}`);
    assert.match(err.message, message);
    return true;
  });
}

const linearConfig = JSON.stringify({ className: 'Linear', config: { inFeatures: 2, outFeatures: 1, bias: false } });
const meta = (model = linearConfig): Record<string, string> => ({ 'eddy.format_version': '1', 'eddy.kind': 'model', 'eddy.model': model });
const weight = (offsets = [0, 8], shape = [1, 2], dtype = 'F32'): unknown => ({ dtype, shape, data_offsets: offsets });

describe('io: hostile files', () => {
  it('accepts the well-formed baseline these cases break', () => {
    const m = decode(craft({ __metadata__: meta(), weight: weight() }, Buffer.from(new Float32Array([1, 2]).buffer))) as { model: eddy.Linear };
    assert.deepStrictEqual(Array.from(m.model.weight.data.toFloat32Array()), [1, 2]);
  });

  it('names each problem of the container', () => {
    const data8 = Buffer.alloc(8);
    rejects(Buffer.alloc(5), /Expected at least 8 bytes \(the header length\) in the file but it has 5/);
    const huge = Buffer.alloc(16);
    huge.writeBigUInt64LE(1n << 40n);
    rejects(huge, /claims 1099511627776 bytes, more than the limit of 100000000/);
    const long = Buffer.alloc(16);
    long.writeBigUInt64LE(100n);
    rejects(long, /claims 100 bytes but only 8 follow the length: the file is truncated/);
    rejects(craft(null, data8, '{"weight": [1,'), /Invalid JSON in the header of the file/);
    rejects(craft(null, data8, '[1, 2]'), /Expected the header of the file to be a JSON object/);
    rejects(craft({ __metadata__: meta(), weight: weight([0, 16], [2, 2]) }, data8), /data_offsets \[0, 16\] of tensor "weight" in the file lie outside the 8 data bytes/);
    rejects(craft({ __metadata__: meta(), a: weight([0, 8]), b: weight([4, 12]) }, Buffer.alloc(12)), /Tensor "b" in the file overlaps the previous tensor/);
    rejects(craft({ __metadata__: meta(), weight: weight([4, 12]) }, Buffer.alloc(12)), /Tensor "weight" in the file leaves a gap: it starts at byte 4/);
    rejects(craft({ __metadata__: meta(), weight: weight() }, Buffer.alloc(12)), /The tensors in the file cover 8 bytes but 12 follow the header/);
    rejects(craft({ __metadata__: meta(), weight: weight([0, 8], [1, 3]) }, data8), /Shape \[1, 3\] of F32 for tensor "weight" in the file needs 12 bytes but data_offsets give 8/);
    rejects(craft({ __metadata__: meta(), weight: weight([0, 8], [1e15, 1e15]) }, data8), /needs more than 2\^53 bytes but data_offsets give 8/);
    rejects(craft({ __metadata__: meta(), weight: weight([0, 8], [1, 2], 'F128') }, data8), /Unknown dtype "F128" for tensor "weight"/);
    rejects(craft({ __metadata__: meta(), weight: weight([0, 8], [-1, -2]) }, data8), /Expected shape to be an array of at most 32 non-negative integers/);
    rejects(craft({ __metadata__: meta(), weight: weight([8, 0]) }, data8), /Expected data_offsets begin <= end/);
    rejects(craft(null, data8, `{"__proto__": ${JSON.stringify(weight())}}`), /Forbidden tensor name "__proto__"/);
    rejects(craft({ __metadata__: { ...meta(), x: 3 }, weight: weight() }, data8), /Expected a string for metadata "x"/);
    rejects(craft(null, data8, `{"__metadata__": {"__proto__": "x"}, "weight": ${JSON.stringify(weight())}}`), /Forbidden metadata key "__proto__"/);
    const badUtf8 = Buffer.alloc(12);
    badUtf8.writeBigUInt64LE(4n);
    badUtf8.set([0x7b, 0xff, 0xfe, 0x7d], 8);
    rejects(badUtf8, /Expected UTF-8 JSON in the header of the file but it holds invalid UTF-8/);
  });

  it('names each problem of the model inside', () => {
    const data8 = Buffer.from(new Float32Array([1, 2]).buffer);
    const file = (metadata: Record<string, string>, tensors: Record<string, unknown> = { weight: weight() }, data = data8): Buffer => craft({ __metadata__: metadata, ...tensors }, data);
    rejects(file({}), /Expected eddy.format_version in the metadata of the file: it is not an Eddy model file/);
    rejects(file({ ...meta(), 'eddy.format_version': '99' }), /format version 99, newer than this Eddy reads \(1\)/);
    rejects(file({ ...meta(), 'eddy.format_version': '1e3' }), /Expected a positive integer for eddy.format_version/);
    rejects(file(meta('{"className": ')), /Invalid JSON in eddy.model of the file/);
    rejects(file(meta(JSON.stringify({ className: 'Transformer', config: {} }))), /Unknown layer class "Transformer" at model/);
    rejects(file(meta('{"className": "Linear", "config": {"__proto__": {"polluted": true}, "inFeatures": 2, "outFeatures": 1}}')), /Forbidden key "__proto__" at model.config/);
    assert.strictEqual(({} as Record<string, unknown>).polluted, undefined);
    rejects(file(meta(JSON.stringify({ className: 'LSTM', config: { inputSize: 100000, hiddenSize: 100000 } }))), /needs at least 80000000000 weights but the file holds 2/);
    rejects(file(meta(JSON.stringify({ className: 'Sequential', config: { layers: Array(50).fill({ className: 'Linear', config: { inFeatures: 30000, outFeatures: 30000 } }) } }))), /needs at least 45000000000 weights/);
    rejects(file(meta(JSON.stringify({ className: 'Linear', config: { inFeatures: 2, outFeatures: 1, bias: 'yes' } }))), /Invalid config for Linear at model: Expected boolean for bias but received "yes" of type string \(in the file\)/);
    rejects(file(meta(), { weight: weight([0, 8], [2, 1]) }), /Expected shape \[1, 2\] for weight "weight" in the file but the file has \[2, 1\]/);
    rejects(file(meta(), { weight: weight(), extra: weight([8, 8], [0]) }), /Unexpected tensor "extra" in the file/);
    rejects(file(meta(), { other: weight() }), /Unexpected tensor "other"/);
    rejects(file(meta(), { weight: weight([0, 8], [1, 2], 'I32') }), /Expected a floating-point dtype \(F32, F64, F16, BF16\) for weight "weight"/);
    rejects(file(meta(), { weight: weight() }, Buffer.from(new Float32Array([1, NaN]).buffer)), /Expected finite values for state dict entry weight but received NaN at index 1/);
  });

  it('gives a FormatError for truncated files on disk at every length', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'eddy-trunc-'));
    try {
      const file = path.join(dir, 'm.safetensors');
      await eddy.save(new eddy.GRU({ inputSize: 2, hiddenSize: 2 }), file);
      const full = await fs.readFile(file);
      const cut = path.join(dir, 'cut.safetensors');
      for (let len = 0; len < full.length; len += 7) {
        await fs.writeFile(cut, full.subarray(0, len));
        await assert.rejects(eddy.load(cut), FormatError, `length ${len}`);
        await assert.rejects(eddy.describeModelFile(cut), FormatError, `length ${len}`);
      }
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });

  it('survives 5 000 seeded mutations with FormatErrors only, in memory and from disk alike', async function () {
    this.timeout(120000);
    const model = eddy.sequential([new eddy.Embedding({ numEmbeddings: 5, embeddingDim: 3 }), new eddy.GRU({ inputSize: 3, hiddenSize: 2, bidirectional: true }), new eddy.Linear({ inFeatures: 4, outFeatures: 2 })]);
    const valid = eddy.io.encodeModel(model, { metadata: { vocab: '["a"]' } });
    const headerEnd = 8 + Number(valid.readBigUInt64LE(0));
    const random = rng(2024);
    const int = (n: number): number => Math.floor(random() * n);
    const start = Date.now();
    const counts = { loaded: 0, formatError: 0 };
    const mutations = [
      // flip bytes anywhere
      (b: Buffer): Buffer => { const c = Buffer.from(b); for (let k = 1 + int(4); k > 0; k--) c[int(c.length)] ^= 1 << int(8); return c; },
      // flip bytes in the header
      (b: Buffer): Buffer => { const c = Buffer.from(b); for (let k = 1 + int(3); k > 0; k--) c[8 + int(headerEnd - 8)] = int(256); return c; },
      // truncate or extend
      (b: Buffer): Buffer => (random() < 0.7 ? b.subarray(0, int(b.length)) : Buffer.concat([b, Buffer.alloc(1 + int(16), int(256))])),
      // edit a number in the header text (sizes, offsets, shapes, config values)
      (b: Buffer): Buffer => {
        const text = b.subarray(8, headerEnd).toString('latin1');
        const digits = [...text.matchAll(/\d+/g)];
        const m = digits[int(digits.length)];
        if (!m) return b;
        const replacement = ['0', '1', '7', '65', '4294967296', '99999999999', '-1', '1e308', '2.5', 'null', '"x"', '[]'][int(12)];
        const edited = text.slice(0, m.index) + replacement + text.slice(m.index! + m[0].length);
        const head = Buffer.from(edited, 'latin1');
        const len = Buffer.alloc(8);
        len.writeBigUInt64LE(BigInt(random() < 0.9 ? head.length : int(head.length * 2)));
        return Buffer.concat([len, head, b.subarray(headerEnd)]);
      },
      // edit a key or string in the header
      (b: Buffer): Buffer => {
        const text = b.subarray(8, headerEnd).toString('latin1');
        const strings = [...text.matchAll(/"[^"\\]*"/g)];
        const m = strings[int(strings.length)];
        if (!m) return b;
        const replacement = ['"__proto__"', '"constructor"', '""', '"F64"', '"F16"', '"I64"', '"LSTM"', '"weight"', '"0.weight"', '"eddy.model"', '"{}"'][int(11)];
        const head = Buffer.from(text.slice(0, m.index) + replacement + text.slice(m.index! + m[0].length), 'latin1');
        const len = Buffer.alloc(8);
        len.writeBigUInt64LE(BigInt(head.length));
        return Buffer.concat([len, head, b.subarray(headerEnd)]);
      },
      // the 8-byte length itself
      (b: Buffer): Buffer => { const c = Buffer.from(b); c[int(8)] = int(256); return c; },
    ];
    // Every mutation is decoded in memory, and every fourth also loaded from
    // disk (the lazy reader, which shares the checks but reads differently):
    // both must give a FormatError or both the same model.
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'eddy-fuzz-'));
    const file = path.join(dir, 'm.safetensors');
    const iterations = heavyOr(5000, 50000);
    try {
      for (let i = 0; i < iterations; i++) {
        let buf: Buffer = valid;
        for (let k = 1 + int(2); k > 0; k--) buf = mutations[int(mutations.length)](buf);
        const context = (): string => `mutation ${i}: header ${buf.subarray(8, Math.min(buf.length, 400)).toString('latin1')}`;
        const outcome = (err: unknown): string => {
          if (!(err instanceof FormatError)) assert.fail(`${context()} gave ${(err as Error).name}: ${(err as Error).message}`);
          return 'FormatError';
        };
        const weights = (m: eddy.Module): string => m.parameters().map((p) => Array.from(p.data.toFloat32Array()).join()).join(';');
        let inMemory: string;
        try {
          inMemory = weights((decode(buf) as { model: eddy.Module }).model);
        } catch (err) {
          inMemory = outcome(err);
        }
        if (i % 4 !== 0) {
          if (inMemory === 'FormatError') counts.formatError++;
          else counts.loaded++;
          continue;
        }
        await fs.writeFile(file, buf);
        const fromDisk = await eddy.load(file).then(weights, outcome);
        assert.strictEqual(fromDisk === 'FormatError', inMemory === 'FormatError', `${context()}: in memory ${inMemory === 'FormatError' ? 'refused' : 'loaded'}, from disk ${fromDisk === 'FormatError' ? 'refused' : 'loaded'}`);
        assert.strictEqual(fromDisk, inMemory, context());
        if (inMemory === 'FormatError') counts.formatError++;
        else counts.loaded++;
      }
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
    console.log(`      ${iterations} mutated files in ${Date.now() - start} ms: ${counts.formatError} FormatErrors, ${counts.loaded} still valid models`);
    assert.ok(counts.formatError > iterations / 2 && counts.loaded > 0, 'the mutations reach both outcomes');
  });
});
