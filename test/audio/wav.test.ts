import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { FileError, FormatError, ValidationError, audio } from '../../lib';
import { assertClose } from '../helpers';
import { audioFixtures } from './fixtures';

// Decoded samples are float32: integers up to 24 bits and float32 samples
// are exact, 32-bit integers and float64 samples round to 2^-24 relative;
// the fixture stores 10 significant digits (5e-10 relative).
const TOL = 1e-7;

function header(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

describe('audio: WAV', () => {
  for (const c of audioFixtures().wav) {
    it(`decodes ${c.name} as SciPy wrote it`, () => {
      const w = audio.decodeWav(Buffer.from(c.base64, 'base64'));
      assert.strictEqual(w.sampleRate, c.sampleRate);
      assert.strictEqual(w.channels.length, c.channels.length);
      w.channels.forEach((ch, i) => assertClose(ch, c.channels[i], TOL, `${c.name} channel ${i}`));
    });
  }

  it('round-trips every encoding through encodeWav and decodeWav', () => {
    const left = Float32Array.from({ length: 101 }, (_, i) => Math.sin(i / 7) * 0.9);
    const right = left.map((v) => -v / 2);
    for (const [encoding, bitDepth, tol] of [['pcm', 8, 1 / 128], ['pcm', 16, 1 / 32768], ['pcm', 24, 2 ** -23], ['pcm', 32, 1e-7], ['float', 32, 0], ['float', 64, 0]] as const) {
      const bytes = audio.encodeWav({ sampleRate: 12345, channels: [left, right] }, { encoding, bitDepth });
      const back = audio.decodeWav(bytes);
      assert.deepStrictEqual(back.format, { encoding, bitDepth });
      assert.strictEqual(back.sampleRate, 12345);
      // Quantisation error is at most half a step (tol is one step).
      assertClose(back.channels[0], left, tol, `${encoding}${bitDepth} left`);
      assertClose(back.channels[1], right, tol, `${encoding}${bitDepth} right`);
    }
  });

  it('reads and writes files, naming the file in errors', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eddy-wav-'));
    try {
      const file = path.join(dir, 'tone.wav');
      const tone = Float32Array.from({ length: 64 }, (_, i) => Math.sin(i / 3) / 2);
      await audio.writeWav(file, { sampleRate: 8000, channels: [tone] });
      const back = await audio.readWav(file);
      assertClose(back.channels[0], tone, 1 / 32768);
      assert.deepStrictEqual(Array.from(audio.toMono({ sampleRate: 8000, channels: [tone, tone.map((v) => -v)] })), new Array(64).fill(0));
      fs.writeFileSync(file, 'RIFF....WAVEjunk');
      await assert.rejects(audio.readWav(file), (e: Error) => e instanceof FormatError && /Expected fmt and data chunks in the WAV file ".*tone\.wav" but none was found/.test(e.message));
      await assert.rejects(audio.readWav(path.join(dir, 'missing.wav')), (e: Error) => e instanceof FileError && /ENOENT/.test(e.message));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses what it does not support with a FormatError that says what arrived', () => {
    const good = audio.encodeWav({ sampleRate: 8000, channels: [new Float32Array(10)] });
    const cases: [string, (b: Uint8Array) => void, RegExp][] = [
      ['not RIFF', (b) => b.set([0x52, 0x49, 0x46, 0x58], 0), /Expected "RIFF" and "WAVE" in the first 12 bytes in a WAV file but it starts with "RIFX....WAVE"/],
      ['compressed', (b) => header(b).setUint16(20, 2, true), /Expected integer PCM \(format tag 1\) or IEEE float \(3\) in a WAV file but it has format tag 2 \(compressed audio is not supported/],
      ['12-bit', (b) => header(b).setUint16(34, 12, true), /Expected a bit depth of 8, 16, 24, 32 bits for integer PCM in a WAV file but it has 12/],
      ['block size', (b) => header(b).setUint16(32, 4, true), /Expected a block size of 2 bytes \(1 channels of 16 bits\) in a WAV file but it has 4/],
      ['no channels', (b) => header(b).setUint16(22, 0, true), /Expected 1 to 8 channels in a WAV file but it has 0/],
      ['rate 0', (b) => header(b).setUint32(24, 0, true), /Expected a sample rate of 1 to 768000 Hz in a WAV file but it has 0/],
      ['short fmt', (b) => header(b).setUint32(16, 8, true), /Expected a fmt chunk of at least 16 bytes in a WAV file but it has 8/],
      ['truncated data', (b) => header(b).setUint32(40, 1000, true), /Expected a data chunk of 1000 bytes in a WAV file but only 20 remain \(the file is truncated\)/],
      ['huge chunk', (b) => header(b).setUint32(16, 0xfffffff0, true), /Expected a "fmt " chunk of 4294967280 bytes in a WAV file but only 44 remain/],
    ];
    for (const [what, corrupt, message] of cases) {
      const b = good.slice();
      corrupt(b);
      assert.throws(() => audio.decodeWav(b), (e: Error) => e instanceof FormatError && (e as FormatError).code === 'ERR_EDDY_FORMAT' && message.test(e.message), what);
    }
    assert.throws(() => audio.decodeWav(good.subarray(0, 40)), /Expected a data chunk in a WAV file but none was found/);
    assert.throws(() => audio.decodeWav(good.subarray(0, 5)), /but it has only 5 bytes/);
    assert.throws(() => audio.decodeWav('x' as unknown as Uint8Array), (e: Error) => e instanceof ValidationError && /Expected a Uint8Array \(or Buffer\) holding a WAV file for bytes but received "x" of type string/.test(e.message));
  });

  it('survives every truncation and random corruption of a file (hostile input)', () => {
    const good = audio.encodeWav({ sampleRate: 16000, channels: [Float32Array.from({ length: 40 }, (_, i) => i / 50)] }, { bitDepth: 24 });
    for (let n = 0; n < good.length; n++) {
      try {
        audio.decodeWav(good.subarray(0, n));
      } catch (e) {
        assert.ok(e instanceof FormatError, `truncated to ${n}: ${String(e)}`);
      }
    }
    let seed = 7;
    for (let trial = 0; trial < 500; trial++) {
      const b = good.slice();
      for (let k = 0; k < 3; k++) {
        seed = (seed * 1103515245 + 12345) >>> 0;
        b[seed % 48] = seed >>> 24;
      }
      try {
        const w = audio.decodeWav(b);
        assert.ok(w.channels[0].length <= b.length);
      } catch (e) {
        assert.ok(e instanceof FormatError, `trial ${trial}: ${String(e)}`);
      }
    }
  });

  it('reads the placeholder size streaming writers leave as "to the end of the file"', () => {
    const b = audio.encodeWav({ sampleRate: 22050, channels: [Float32Array.of(0.5, -0.5, 0.25)] });
    header(b).setUint32(40, 0x7ffff000, true);
    assert.deepStrictEqual(Array.from(audio.decodeWav(b).channels[0]), [0.5, -0.5, 0.25]);
  });

  it('checks encodeWav arguments and options', () => {
    const ch = new Float32Array(4);
    assert.throws(() => audio.encodeWav({ sampleRate: 8000, channels: [ch] }, { bitDepth: 12 }), /Expected 8, 16, 24, 32 bits for integer PCM for opts.bitDepth but received 12 of type number/);
    assert.throws(() => audio.encodeWav({ sampleRate: 8000, channels: [ch] }, { encoding: 'float', bitDepth: 16 }), /Expected 32, 64 bits for IEEE float for opts.bitDepth/);
    assert.throws(() => audio.encodeWav({ sampleRate: 8000, channels: [ch, new Float32Array(3)] }), /Expected channels of equal length for audio.channels but received audio.channels\[1\] of length 3/);
    assert.throws(() => audio.encodeWav({ sampleRate: 0, channels: [ch] }), /Expected integer between 1 and 768000 for audio.sampleRate but received 0/);
    assert.throws(() => audio.encodeWav({ sampleRate: 8000, channels: [ch] }, { bit_depth: 16 } as never), /did you mean bitDepth\?/);
  });
});
