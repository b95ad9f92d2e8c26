/**
 * Child process for the loading memory tests: runs one operation on
 * argv[3] ('load' or 'describe' on the file argv[2]) and prints the
 * resident memory before it and the peak during it as JSON, with the
 * outcome (a checksum of the weights, or the error). Linux: the peak is
 * reset through /proc/self/clear_refs just before the operation, so what
 * startup touched does not count.
 */
import * as fs from 'fs';
import * as eddy from '../../lib';

function statusKb(field: string): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(fs.readFileSync('/proc/self/status', 'utf8'));
  if (!m) throw new Error(`no ${field} in /proc/self/status`);
  return Number(m[1]) * 1024;
}

async function main(): Promise<void> {
  const [file, op] = process.argv.slice(2);
  // Load everything the operation touches first, so only the operation itself counts.
  await eddy.describeModelFile(file).catch(() => undefined);
  fs.writeFileSync('/proc/self/clear_refs', '5');
  const before = statusKb('VmRSS');
  let outcome: unknown;
  try {
    if (op === 'load') {
      const model = await eddy.load(file);
      let sum = 0;
      // Read in place: toFloat32Array would copy the weights and count them twice.
      for (const p of model.parameters()) sum += p.data.data[p.data.offset] + p.data.data[p.data.offset + p.data.size - 1];
      outcome = { sum };
    } else {
      outcome = { parameters: (await eddy.describeModelFile(file)).parameters };
    }
  } catch (err) {
    outcome = { error: (err as Error).name, message: (err as Error).message.slice(0, 200) };
  }
  const peak = statusKb('VmHWM');
  process.stdout.write(JSON.stringify({ before, peak, outcome }) + '\n');
}

void main();
