import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

/** onnxruntime-node for the export tests, or null where it is not installed (the tests then skip with a message). */
export type Ort = typeof import('onnxruntime-node');

export function loadOrt(): Ort | null {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require('onnxruntime-node') as Ort;
  } catch {
    return null;
  }
}

/**
 * Hooks for a suite that runs exports in onnxruntime: skips it with a message
 * where onnxruntime-node is missing, and gives it a temporary folder
 * (`files.dir`, set before the tests run) that is removed afterwards.
 */
export function ortSuite(prefix: string): { ort: Ort | null; files: { dir: string } } {
  const ort = loadOrt();
  const files = { dir: '' };
  before(function () {
    if (!ort) {
      console.log('      skipped: onnxruntime-node is not installed (npm install runs it from devDependencies)');
      this.skip();
    }
    files.dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  });
  after(() => files.dir && fs.rmSync(files.dir, { recursive: true, force: true }));
  return { ort, files };
}
