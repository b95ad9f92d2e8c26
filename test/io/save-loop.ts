/**
 * Child process for the crash test: writes a model file to argv[2] over
 * and over with the same atomic write `save` uses, each version's weights
 * all equal to its version number (also in the metadata), until killed.
 * The tensors and config come from the JSON file argv[3] (written by the
 * test from a real model), so the child loads only the writer, not the
 * whole library, and a hundred of them start quickly. Prints "saving"
 * once the first write is under way and "saved" after each finished one.
 */
import { readFileSync } from 'fs';
import { writeFileAtomic } from '../../lib/io/atomic-write';
import { encodeSafetensors, TensorToWrite } from '../../lib/io/safetensors';

interface Layout {
  tensors: [string, number[]][];
  metadata: Record<string, string>;
  /** The version to start at, so each child writes versions no earlier one did. */
  first: number;
}

async function main(): Promise<void> {
  const [file, layoutFile] = process.argv.slice(2);
  const layout = JSON.parse(readFileSync(layoutFile, 'utf8')) as Layout;
  const tensors = new Map<string, TensorToWrite>(layout.tensors.map(([name, shape]) => [name, { data: new Float32Array(shape.reduce((a, b) => a * b, 1)), shape }]));
  for (let version = layout.first; ; version++) {
    for (const t of tensors.values()) t.data.fill(version);
    const writing = writeFileAtomic(file, encodeSafetensors(tensors, new Map(Object.entries({ ...layout.metadata, version: String(version) }))));
    if (version === layout.first) process.stdout.write('saving\n');
    await writing;
    process.stdout.write('saved\n');
  }
}

void main();
