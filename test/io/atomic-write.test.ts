import * as assert from 'assert';
import { spawn } from 'child_process';
import { promises as fs } from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as eddy from '../../lib';
import { rng } from '../helpers';

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

  it('keeps a loadable file when the saving process is killed at random moments', async function () {
    this.timeout(60000);
    const file = path.join(dir, 'model.safetensors');
    const child = path.join(__dirname, 'save-loop.js');
    const random = rng(7);
    const start = Date.now();
    const versions = new Set<string>();
    let kills = 0;
    while (kills < 40 && Date.now() - start < 16000) {
      const proc = spawn(process.execPath, [child, file], { stdio: ['ignore', 'pipe', 'inherit'] });
      await new Promise<void>((resolve, reject) => {
        proc.stdout.once('data', () => resolve());
        proc.once('exit', (code) => reject(new Error(`the saving process exited early with ${code}`)));
      });
      proc.removeAllListeners('exit');
      await new Promise((r) => setTimeout(r, random() * 60));
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGKILL');
      await exited;
      kills++;
      // The first kill may come before any save finished; after that a file always exists.
      const exists = await fs.stat(file).then(() => true, () => false);
      if (!exists) continue;
      const { model, metadata } = await eddy.loadModelFile(file);
      const version = Number(metadata.version);
      for (const p of model.parameters()) assert.ok(p.data.toFloat32Array().every((v) => v === version), `weights of version ${version} are whole`);
      versions.add(metadata.version);
    }
    const stray = (await fs.readdir(dir)).filter((f) => f.includes('.tmp-'));
    console.log(`      ${kills} kills in ${Date.now() - start} ms; the file always loaded (${versions.size} distinct versions seen, ${stray.length} stray temporary files)`);
    assert.ok(kills >= 10 && versions.size >= 2);
  });
});
