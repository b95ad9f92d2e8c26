/** Shared fixtures for the data tests: temporary files and open-handle counting. */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

/**
 * A temporary directory, made on first use (suites call this while mocha
 * collects them, and a suite whose tests are all filtered out never runs
 * its `after` hook); `remove()` deletes it.
 */
export function tempDir(): { readonly dir: string; file(name: string, content: string | Buffer): string; remove(): void } {
  let made: string | null = null;
  const dir = (): string => (made ??= fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'eddy-data-'))));
  return {
    get dir() {
      return dir();
    },
    file(name, content) {
      const p = path.join(dir(), name);
      fs.writeFileSync(p, content);
      return p;
    },
    remove() {
      if (made !== null) fs.rmSync(made, { recursive: true, force: true });
      made = null;
    },
  };
}

/** How many of this process's file descriptors point at `file` (Linux: /proc/self/fd). */
export function openHandles(file: string): number {
  let n = 0;
  for (const fd of fs.readdirSync('/proc/self/fd')) {
    try {
      if (fs.readlinkSync(`/proc/self/fd/${fd}`) === file) n++;
    } catch {
      // closed between readdir and readlink
    }
  }
  return n;
}

/** Rejects with the error `promise` rejects with, or fails. */
export async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (err) {
    return err as Error;
  }
  throw new Error('Expected a rejection');
}

export const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);
