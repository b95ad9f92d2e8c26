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
