/**
 * A save never costs the user the model they had: everything the reader
 * would refuse is refused before the target is touched, special files are
 * never replaced, and temporary files of killed writers do not pile up.
 */
import * as assert from 'assert';
import { execFileSync, spawnSync } from 'child_process';
import { promises as fs } from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as eddy from '../../lib';
import { MAX_HEADER_BYTES } from '../../lib/io/safetensors';

const linear = (fill: number): eddy.Linear => {
  const m = new eddy.Linear({ inFeatures: 3, outFeatures: 2 });
  for (const p of m.parameters()) p.data.data.fill(fill);
  return m;
};

/** The weights of the file at `file`, all equal to `fill`? */
async function holds(file: string, fill: number): Promise<boolean> {
  const m = await eddy.load(file);
  return m.parameters().every((p) => p.data.toFloat32Array().every((v) => v === fill));
}

describe('io: safe saves', () => {
  let dir: string;
  before(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'eddy-save-'));
  });
  after(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('refuses metadata beyond the reader\'s header limit and keeps the previous file', async () => {
    const file = path.join(dir, 'big-meta.safetensors');
    await eddy.save(linear(1), file);
    const before = await fs.readFile(file);
    const huge = 'x'.repeat(MAX_HEADER_BYTES + 1000);
    await assert.rejects(eddy.save(linear(2), file, { metadata: { vocab: huge } }), (err: Error) => {
      assert.strictEqual(err.name, 'ValidationError');
      assert.strictEqual((err as eddy.EddyError).code, 'ERR_EDDY_VALIDATION');
      assert.match(err.message, /^Expected a header of at most 100000000 bytes \(the limit readers enforce\) but the metadata and tensor names need 1000\d{5}: store large data in a file of its own$/);
      return true;
    });
    assert.ok((await fs.readFile(file)).equals(before), 'the previous file is untouched');
    assert.deepStrictEqual((await fs.readdir(dir)).filter((f) => f.includes('.tmp-')), []);
    assert.ok(await holds(file, 1));
  });

  it('refuses what load would refuse: non-finite weights, over-long metadata keys', async () => {
    const file = path.join(dir, 'nan.safetensors');
    await eddy.save(linear(1), file);
    const bad = linear(2);
    bad.weight.data.data[3] = NaN;
    await assert.rejects(eddy.save(bad, file), {
      name: 'ValidationError',
      message: 'Expected finite values in "weight" to save but received NaN at index 3: a file with it would not load',
    });
    await assert.rejects(eddy.save(linear(2), file, { metadata: { ['k'.repeat(1025)]: 'v' } }), {
      name: 'ValidationError',
      message: `Expected a metadata key of 1 to 1024 characters other than __metadata__ and prototype names but received ${JSON.stringify('k'.repeat(40))} (1025 characters)`,
    });
    await assert.rejects(eddy.saveCheckpoint(file, { model: bad }), { name: 'ValidationError' });
    assert.ok(await holds(file, 1));
  });

  it('refuses to replace a FIFO, a directory or a device, and leaves them as they were', async function () {
    const fifo = path.join(dir, 'pipe.safetensors');
    execFileSync('mkfifo', [fifo]);
    await assert.rejects(eddy.save(linear(1), fifo), { name: 'ValidationError', message: `Expected a regular file (or a path to create one at) for path but received a FIFO: ${fifo}` });
    assert.ok((await fs.lstat(fifo)).isFIFO());
    const sub = path.join(dir, 'sub');
    await fs.mkdir(sub);
    await assert.rejects(eddy.save(linear(1), sub), { name: 'ValidationError', message: `Expected a regular file (or a path to create one at) for path but received a directory: ${sub}` });
    // As root a rename would replace these devices; as anyone, the check comes first.
    for (const device of ['/dev/null', '/dev/full']) {
      await assert.rejects(eddy.save(linear(1), device), { name: 'ValidationError', message: `Expected a regular file (or a path to create one at) for path but received a character device: ${device}` });
      assert.ok((await fs.lstat(device)).isCharacterDevice(), `${device} is still a device`);
    }
    // A symlink is followed to what it names.
    const link = path.join(dir, 'link-to-null');
    await fs.symlink('/dev/null', link);
    await assert.rejects(eddy.io.writeFileAtomic(link, Buffer.from('x')), { name: 'ValidationError' });
    assert.deepStrictEqual((await fs.readdir(dir)).filter((f) => f.includes('.tmp-')), []);
  });

  it('removes the temporary files of dead writers on the next save, and keeps those of live ones', async () => {
    const file = path.join(dir, 'stale.safetensors');
    const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
    const base = `.${path.basename(file)}.tmp-`;
    const stale = [`${base}${dead}-0123456789ab`, `${base}${dead}-ba9876543210`];
    const live = `${base}${process.pid}-aaaaaaaaaaaa`;
    const unrelated = ['.other.safetensors.tmp-1-0123456789ab', `${base}notapid`];
    for (const name of [...stale, live, ...unrelated]) await fs.writeFile(path.join(dir, name), 'partial');
    await eddy.save(linear(1), file);
    const left = await fs.readdir(dir);
    for (const name of stale) assert.ok(!left.includes(name), `${name} was removed`);
    for (const name of [live, ...unrelated]) assert.ok(left.includes(name), `${name} was kept`);
    for (const name of [live, ...unrelated]) await fs.rm(path.join(dir, name));
  });
});
