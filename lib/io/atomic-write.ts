/**
 * Atomic file replacement: the bytes go to a temporary file in the target's
 * directory (same filesystem, so the rename is atomic), which is flushed to
 * disk before it is renamed over the target; then the directory is flushed
 * so the rename itself survives a power cut. A crash at any moment leaves
 * either the old file or the new one, never a mix, and at worst a stray
 * `.name.tmp-<pid>-*` file, which the next write to the same path removes
 * once the process that made it is gone.
 *
 * Only regular files are replaced: renaming over a FIFO, a device or a
 * directory would swap the special file for a plain one (as root, even
 * /dev/null), so such targets are refused before anything is written.
 */
import { randomBytes } from 'crypto';
import { promises as fs, Stats } from 'fs';
import * as path from 'path';
import { FileError, ValidationError } from '../errors';

/**
 * Writes `data` to `target` atomically: into a temporary file beside it, flushed, then renamed over
 * it, so a reader sees the old file or the new one and a crash leaves the old one intact.
 * @param target - The file to write (a symlink is followed to the file it names).
 * @param data - The file's new contents.
 * @throws {@link FileError} when the file cannot be written.
 * @throws {@link ValidationError} when `target` names a directory or a special file.
 */
export async function writeFileAtomic(target: string, data: Uint8Array): Promise<void> {
  // Write through a symlink to the file it names, and keep an existing
  // file's permissions (umask still applies to new files).
  const real = await fs.realpath(target).catch(() => target);
  const stat = await fs.stat(real).catch(() => null);
  if (stat && !stat.isFile()) throw new ValidationError(`Expected a regular file (or a path to create one at) for path but received ${kindOf(stat)}: ${target}`);
  const existing = stat ? stat.mode & 0o7777 : null;
  const dir = path.dirname(real);
  const prefix = `.${path.basename(real)}.tmp-`;
  await removeStaleTemporaries(dir, prefix);
  const tmp = path.join(dir, `${prefix}${process.pid}-${randomBytes(6).toString('hex')}`);
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

function kindOf(stat: Stats): string {
  if (stat.isDirectory()) return 'a directory';
  if (stat.isFIFO()) return 'a FIFO';
  if (stat.isCharacterDevice()) return 'a character device';
  if (stat.isBlockDevice()) return 'a block device';
  if (stat.isSocket()) return 'a socket';
  return 'a special file';
}

/**
 * Removes the temporary files earlier writers to the same target left when
 * they were killed mid-write: `<prefix><pid>-<random>` whose pid no longer
 * runs. Files of live processes (this one included) are another write in
 * progress and stay. A pid reused by an unrelated process only delays the
 * cleanup.
 */
async function removeStaleTemporaries(dir: string, prefix: string): Promise<void> {
  const names = await fs.readdir(dir).catch(() => [] as string[]);
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const pid = Number(/^(\d{1,10})-[0-9a-f]{12}$/.exec(name.slice(prefix.length))?.[1]);
    if (!Number.isSafeInteger(pid) || pid <= 0 || processRuns(pid)) continue;
    await fs.rm(path.join(dir, name), { force: true }).catch(() => undefined);
  }
}

function processRuns(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it runs under another user.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
