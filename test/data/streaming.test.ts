/**
 * Streaming in constant memory: files far larger than the memory bound go
 * through the sources and a map/batch pipeline while the resident set size
 * stays within a fixed margin of where it started.
 */
import * as assert from 'assert';
import * as fs from 'fs';
import * as eddy from '../../lib';
import { tempDir } from './helpers';

const MB = 1024 * 1024;

/** Writes `lines(i)` for block after block until the file holds at least `bytes`; returns the line count. */
function writeLarge(file: string, bytes: number, header: string, line: (i: number) => string): number {
  const block: string[] = [];
  for (let i = 0; i < 8192; i++) block.push(line(i));
  const chunk = Buffer.from(block.join(''));
  const fd = fs.openSync(file, 'w');
  let written = fs.writeSync(fd, header);
  let lines = 0;
  try {
    while (written < bytes) {
      written += fs.writeSync(fd, chunk);
      lines += block.length;
    }
  } finally {
    fs.closeSync(fd);
  }
  return lines;
}

/** Runs `consume`, sampling RSS at every call of the `sample` it is given and on a timer; returns the peak growth over the starting RSS. */
async function peakGrowth(consume: (sample: () => void) => Promise<void>): Promise<{ base: number; peak: number }> {
  const base = process.memoryUsage.rss();
  let peak = base;
  const sample = (): void => {
    peak = Math.max(peak, process.memoryUsage.rss());
  };
  const timer = setInterval(sample, 20);
  try {
    await consume(sample);
  } finally {
    clearInterval(timer);
  }
  sample();
  return { base, peak };
}

describe('data: streaming large files in bounded memory', () => {
  const tmp = tempDir();
  after(() => tmp.remove());

  it('streams a 200 MB JSONL file through map and padBatch with RSS below baseline + 150 MB', async () => {
    const file = `${tmp.dir}/large.jsonl`;
    const lines = writeLarge(file, 200e6, '', (i) => {
      const steps = 1 + (i % 7);
      const x = Array.from({ length: steps }, (_, t) => [Math.sin(i + t).toFixed(5), Math.cos(i * t).toFixed(5)].map(Number));
      return JSON.stringify({ id: i, x, label: i % 3 }) + '\n';
    });
    const size = fs.statSync(file).size;
    let rows = 0;
    let batches = 0;
    const started = Date.now();
    const { base, peak } = await peakGrowth(async (sample) => {
      const ds = eddy.data
        .fromJsonl<{ x: number[][]; label: number }>(file)
        .map((r) => ({ x: r.x, y: r.label }))
        .padBatch(256)
        .prefetch(2);
      for await (const batch of ds) {
        rows += batch.lengths.length;
        if (++batches % 64 === 0) sample();
      }
    });
    fs.rmSync(file);
    const bound = base + 150 * MB;
    console.log(`      ${(size / 1e6).toFixed(0)} MB, ${rows} rows in ${((Date.now() - started) / 1000).toFixed(1)} s; RSS ${(base / MB).toFixed(0)} → peak ${(peak / MB).toFixed(0)} MiB (bound ${(bound / MB).toFixed(0)})`);
    assert.strictEqual(rows, lines);
    assert.ok(size >= 200e6);
    assert.ok(peak < bound, `peak RSS ${(peak / MB).toFixed(0)} MiB exceeds ${(bound / MB).toFixed(0)} MiB`);
  });

  it('streams a 60 MB CSV file (two million rows) with a header into batches with RSS below baseline + 100 MB', async () => {
    const file = `${tmp.dir}/large.csv`;
    const lines = writeLarge(file, 60e6, 'id,a,b,label,note\n', (i) => `${i},${Math.sin(i).toFixed(6)},${Math.cos(i).toFixed(6)},${i % 5},"n ${i % 11}"\n`);
    const size = fs.statSync(file).size;
    let rows = 0;
    const started = Date.now();
    const { base, peak } = await peakGrowth(async (sample) => {
      const ds = eddy.data.fromCsv<Record<string, number>>(file, { columns: true }).map((r) => [r.a, r.b]).batch(512);
      for await (const batch of ds) {
        rows += batch.length;
        if (rows % (512 * 64) === 0) sample();
      }
    });
    fs.rmSync(file);
    // Garbage between collections costs a constant 30-60 MB whatever the file
    // size; keeping the parsed rows (about 200 MB here) would not fit.
    const bound = base + 100 * MB;
    console.log(`      ${(size / 1e6).toFixed(0)} MB, ${rows} rows in ${((Date.now() - started) / 1000).toFixed(1)} s; RSS ${(base / MB).toFixed(0)} → peak ${(peak / MB).toFixed(0)} MiB (bound ${(bound / MB).toFixed(0)})`);
    assert.strictEqual(rows, lines);
    assert.ok(peak < bound, `peak RSS ${(peak / MB).toFixed(0)} MiB exceeds ${(bound / MB).toFixed(0)} MiB`);
  });
});
