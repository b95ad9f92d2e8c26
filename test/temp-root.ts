/**
 * Root hooks for the whole suite (loaded through .mocharc's `require`):
 * every test gets its temporary files under one directory of its own
 * (`TMPDIR`, which `os.tmpdir()` and child processes follow), and the run
 * fails if anything is left in it at the end — tests clean up after
 * themselves.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

/** What onnxruntime writes to the temporary directory whenever it loads (removed with the directory, not ours to clean). */
const THIRD_PARTY = /^(mat-debug-\d+\.log|\.ses)$/;

let suiteDir: string | null = null;
let previous: string | undefined;

export const mochaHooks = {
  beforeAll(): void {
    previous = process.env.TMPDIR;
    suiteDir = fs.mkdtempSync(path.join(os.tmpdir(), 'eddy-suite-'));
    process.env.TMPDIR = suiteDir;
  },
  afterAll(): void {
    if (suiteDir === null) return;
    const left = fs.readdirSync(suiteDir).filter((name) => !THIRD_PARTY.test(name));
    fs.rmSync(suiteDir, { recursive: true, force: true });
    if (previous === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = previous;
    suiteDir = null;
    if (left.length > 0) throw new Error(`Tests left temporary files behind: ${left.join(', ')}`);
  },
};
