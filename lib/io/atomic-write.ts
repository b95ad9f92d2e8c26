/**
 * Atomic file replacement: the bytes go to a temporary file in the target's
 * directory (same filesystem, so the rename is atomic), which is flushed to
 * disk before it is renamed over the target; then the directory is flushed
 * so the rename itself survives a power cut. A crash at any moment leaves
 * either the old file or the new one, never a mix, and at worst a stray
 * `.name.tmp-*` file.
 */
import { randomBytes } from 'crypto';
import { promises as fs } from 'fs';
import { FileError } from '../errors';
import * as path from 'path';

export async function writeFileAtomic(target: string, data: Uint8Array): Promise<void> {
  // Write through a symlink to the file it names, and keep an existing
  // file's permissions (umask still applies to new files).
  const real = await fs.realpath(target).catch(() => target);
  const existing = await fs.stat(real).then((st) => st.mode & 0o7777, () => null);
  const dir = path.dirname(real);
  const tmp = path.join(dir, `.${path.basename(real)}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`);
  let renamed = false;
  try {
    const fh = await fs.open(tmp, 'wx', existing ?? 0o666).catch((err: NodeJS.ErrnoException) => {
      // Name the file the caller asked for, not the temporary one.
      throw new FileError(`Cannot write ${target}: ${err.code === 'ENOENT' ? 'no such directory' : err.message.split(',')[0]}`, target, err);
    });
    try {
      let written = 0;
      while (written < data.length) {
        const { bytesWritten } = await fh.write(data, written, data.length - written, written);
        written += bytesWritten;
      }
      if (existing !== null) await fh.chmod(existing); // open's mode is filtered by the umask
      await fh.sync();
    } finally {
      await fh.close();
    }
    await fs.rename(tmp, real);
    renamed = true;
    await syncDirectory(dir);
  } finally {
    if (!renamed) await fs.rm(tmp, { force: true }).catch(() => undefined);
  }
}

/** fsync on a directory makes a rename in it durable; some platforms (Windows) cannot open directories, which is harmless there. */
async function syncDirectory(dir: string): Promise<void> {
  let fh: fs.FileHandle | undefined;
  try {
    fh = await fs.open(dir, 'r');
    await fh.sync();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EISDIR' && code !== 'EPERM' && code !== 'EINVAL' && code !== 'EACCES') throw err;
  } finally {
    await fh?.close();
  }
}
