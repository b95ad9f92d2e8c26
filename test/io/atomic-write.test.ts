import * as assert from 'assert';
import { spawn } from 'child_process';
import { promises as fs } from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as eddy from '../../lib';
import { heavyOr, rng } from '../helpers';

describe('io: atomic writes', () => {
  let dir: string;
  before(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'eddy-atomic-'));
  });
  after(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('replaces the file whole and leaves no temporary file behind', async () => {
    const file = path.join(dir, 'a.bin');
    await eddy.io.writeFileAtomic(file, Buffer.from('first'));
    await eddy.io.writeFileAtomic(file, Buffer.from('second'));
    assert.strictEqual(await fs.readFile(file, 'utf8'), 'second');
    assert.deepStrictEqual(await fs.readdir(dir), ['a.bin']);
    await assert.rejects(eddy.io.writeFileAtomic(path.join(dir, 'no', 'such', 'dir.bin'), Buffer.from('x')), {
      code: 'ERR_EDDY_FILE',
      systemCode: 'ENOENT',
      message: `Cannot write ${path.join(dir, 'no', 'such', 'dir.bin')}: no such directory`,
    });
  });

  it('writes through a symlink and keeps the file\'s permissions', async () => {
    const file = path.join(dir, 'private.bin');
    const link = path.join(dir, 'link.bin');
    await fs.writeFile(file, 'old');
    await fs.chmod(file, 0o600);
    await fs.symlink(file, link);
    await eddy.io.writeFileAtomic(link, Buffer.from('new'));
    assert.ok((await fs.lstat(link)).isSymbolicLink());
    assert.strictEqual(await fs.readFile(file, 'utf8'), 'new');
    assert.strictEqual((await fs.stat(file)).mode & 0o777, 0o600);
    await fs.rm(link);
    await fs.rm(file);
  });

  it('keeps a loadable file through 100 kill -9s of the saving process, and clears their temporary files', async function () {
    this.timeout(300000);
    const file = path.join(dir, 'model.safetensors');
    const layoutFile = path.join(dir, 'layout.json');
    // 2 MB of weights: a write takes long enough for kills to land inside it.
    const model = eddy.sequential([new eddy.LSTM({ inputSize: 64, hiddenSize: 192 }), new eddy.Linear({ inFeatures: 192, outFeatures: 8 })]);
    const { metadata } = eddy.io.decodeSafetensors(eddy.io.encodeModel(model));
    const tensors = model.namedParameters().map(([name, p]) => [name, p.shape]);
    const child = path.join(__dirname, 'save-loop.js');
    const random = rng(7);
    const kills = heavyOr(100, 1000);
    const start = Date.now();
    const versions = new Set<string>();
    let newest = 0;
    for (let k = 0; k < kills; k++) {
      await fs.writeFile(layoutFile, JSON.stringify({ tensors, metadata: Object.fromEntries(metadata), first: newest + 1 }));
      const proc = spawn(process.execPath, [child, file, layoutFile], { stdio: ['ignore', 'pipe', 'inherit'] });
      let said = '';
      const until = (word: string): Promise<void> => new Promise<void>((resolve, reject) => {
        const check = (): void => {
          if (!said.includes(word)) return;
          proc.stdout.off('data', onData);
          proc.off('exit', onExit);
          resolve();
        };
        const onData = (d: Buffer): void => void ((said += d.toString()), check());
        const onExit = (code: number | null): void => reject(new Error(`the saving process exited early with ${code}`));
        proc.stdout.on('data', onData);
        proc.once('exit', onExit);
        check();
      });
      await until('saving');
      // Every third child first finishes a write, so new versions keep coming however slow the machine
      // is; the others die at a random moment, most often inside a write.
      if (k % 3 === 0) await until('saved');
      proc.stdout.resume();
      await new Promise((r) => setTimeout(r, random() * 40));
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGKILL');
      await exited;
      // The first kill may come before any write finished; after that a file always exists.
      const exists = await fs.stat(file).then(() => true, () => false);
      assert.ok(exists || newest === 0, `the file vanished after kill ${k}`);
      if (!exists) continue;
      const { model: loaded, metadata: meta } = await eddy.loadModelFile(file);
      const version = Number(meta.version);
      assert.ok(version >= newest, `version ${version} after ${newest}: an older file came back`);
      for (const p of loaded.parameters()) assert.ok(p.data.toFloat32Array().every((v) => v === version), `weights of version ${version} are whole`);
      newest = version;
      versions.add(meta.version);
    }
    const stray = (await fs.readdir(dir)).filter((f) => f.includes('.tmp-'));
    // Each writer clears its dead predecessors' temporary files, so at most the last one's remains…
    assert.ok(stray.length <= 1, `stray temporary files: ${stray.join(', ')}`);
    // …and the next save clears that too.
    await eddy.save(model, file);
    assert.deepStrictEqual((await fs.readdir(dir)).filter((f) => f.includes('.tmp-')), []);
    console.log(`      ${kills} kills in ${Date.now() - start} ms; the file always loaded (${versions.size} distinct versions seen)`);
    assert.ok(versions.size >= 2);
  });
});
