import * as assert from 'assert';
import { ShapeError, Tensor, ValidationError, audio, Generator, tensor } from '../../lib';
import { assertClose } from '../helpers';
import { audioFixtures } from './fixtures';

// Outputs are float32 (2^-24 ≈ 6e-8 relative); the float64 arithmetic
// behind them differs from NumPy's only in summation order (~1e-12), and
// the fixture keeps 10 significant digits. assertClose scales by
// max(1, |expected|), so 1e-6 bounds both large and near-zero values.
const TOL = 1e-6;

describe('audio: resampling against scipy.signal.resample_poly', () => {
  for (const c of audioFixtures().resample) {
    it(`${c.fromRate} → ${c.toRate} Hz`, () => {
      const y = audio.resample(Float32Array.from(c.signal), c.fromRate, c.toRate);
      const worst = assertClose(y, c.expected, TOL, 'resampled');
      console.log(`      max scaled difference ${worst.toExponential(2)} (tolerance ${TOL})`);
    });
  }

  it('checks its arguments', () => {
    assert.throws(() => audio.resample(new Float32Array(4), 0, 8000), /Expected integer between 1 and 768000 for fromRate but received 0 of type number/);
    assert.throws(() => audio.resample([1, 2] as never, 8000, 16000), (e: Error) => e instanceof ValidationError && /Expected a Float32Array for signal/.test(e.message));
    assert.strictEqual(audio.resample(new Float32Array(0), 8000, 16000).length, 0);
  });
});

describe('audio: features against NumPy/SciPy', () => {
  for (const c of audioFixtures().features) {
    const { coefficients, ...mel } = c.options;
    const label = `${c.options.sampleRate} Hz, ${c.options.window}, ${c.options.melScale} mel scale`;
    const signal = Float32Array.from(c.signal);

    it(`spectrogram (${label})`, () => {
      const { fMin: _a, fMax: _b, melBands: _c, melScale: _d, melNorm: _e, ...framing } = mel;
      const s = audio.spectrogram(signal, framing);
      assert.deepStrictEqual(s.shape, [c.frames, c.options.fftSize / 2 + 1]);
      console.log(`      max scaled difference ${assertClose(s.toFloat32Array(), c.spectrogram, TOL, 'spectrogram').toExponential(2)}`);
    });

    it(`mel filterbank, log-mel and MFCC (${label})`, () => {
      assertClose(audio.melFilterbank(mel).toFloat32Array(), c.filterbank, TOL, 'filterbank');
      const lm = audio.logMel(signal, mel);
      assert.deepStrictEqual(lm.shape, [c.frames, c.options.melBands]);
      const d1 = assertClose(lm.toFloat32Array(), c.logMel, TOL, 'log-mel');
      const m = audio.mfcc(signal, { ...mel, coefficients });
      assert.deepStrictEqual(m.shape, [c.frames, coefficients]);
      const d2 = assertClose(m.toFloat32Array(), c.mfcc, TOL, 'mfcc');
      console.log(`      max scaled difference log-mel ${d1.toExponential(2)}, MFCC ${d2.toExponential(2)} (tolerance ${TOL})`);
    });
  }

  it('frames a signal Kaldi-style and uses 25 ms / 10 ms windows by default', () => {
    assert.strictEqual(audio.frameCount(0, 400, 160), 0);
    assert.strictEqual(audio.frameCount(10, 400, 160), 1);
    assert.strictEqual(audio.frameCount(400, 400, 160), 1);
    assert.strictEqual(audio.frameCount(559, 400, 160), 1);
    assert.strictEqual(audio.frameCount(560, 400, 160), 2);
    assert.deepStrictEqual(audio.logMel(new Float32Array(16000)).shape, [98, 40]);
    assert.deepStrictEqual(audio.mfcc(new Float32Array(8000), { sampleRate: 8000 }).shape, [98, 13]);
    assert.deepStrictEqual(audio.spectrogram(new Float32Array(0)).shape, [0, 257]);
  });

  it('checks options', () => {
    const x = new Float32Array(1000);
    assert.throws(() => audio.logMel(x, { fftSize: 300 }), /Expected a power of two of at least frameLength \(400\) for opts.fftSize but received 300 of type number/);
    assert.throws(() => audio.logMel(x, { fMin: 3000, fMax: 2000 }), /Expected fMax above fMin \(3000 Hz\) for opts.fMax but received 2000/);
    assert.throws(() => audio.mfcc(x, { melBands: 10, coefficients: 11 }), /Expected integer between 1 and 10 for opts.coefficients but received 11/);
    assert.throws(() => audio.logMel(x, { nMels: 40 } as never), /Expected a known option for opts.nMels/);
    assert.throws(() => audio.spectrogram(x, { window: 'blackman' as never }), /Expected one of 'hann', 'hamming', 'rectangular' for opts.window/);
  });
});

describe('audio: normalizeUtterance and specAugment', () => {
  const features = tensor(Float32Array.from({ length: 60 * 10 }, (_, i) => Math.sin(i * 0.37) * (1 + (i % 10)) + (i % 10)), [60, 10]);

  it('normalises each feature to mean 0 and variance 1 over the utterance', () => {
    const n = audio.normalizeUtterance(features).toFloat32Array();
    for (let f = 0; f < 10; f++) {
      let mean = 0;
      let sq = 0;
      for (let t = 0; t < 60; t++) mean += n[t * 10 + f] / 60;
      for (let t = 0; t < 60; t++) sq += (n[t * 10 + f] - mean) ** 2 / 60;
      // float32 rounding of 60 values, and epsilon 1e-5 against variances of order 1.
      assert.ok(Math.abs(mean) < 1e-5 && Math.abs(sq - 1) < 1e-4, `feature ${f}: mean ${mean}, variance ${sq}`);
    }
    // Without variance scaling, the features only move: differences between frames are kept.
    const centred = audio.normalizeUtterance(features, { variance: false }).toFloat32Array();
    const raw = features.toFloat32Array();
    assertClose(centred.map((v, i) => v - centred[i % 10]), raw.map((v, i) => v - raw[i % 10]), 1e-5, 'centred differences');
    assert.throws(() => audio.normalizeUtterance(tensor([1, 2, 3])), (e: Error) => e instanceof ShapeError && /Expected features of shape \[frames, features\] for normalizeUtterance but received \[3\]/.test(e.message));
  });

  it('masks bands and spans within the bounds it is given, from its generator', () => {
    const g = new Generator(3);
    let maskedSomething = false;
    for (let trial = 0; trial < 50; trial++) {
      const m = audio.specAugment(features, { freqMasks: 1, maxFreqWidth: 3, timeMasks: 1, maxTimeWidth: 50, maxTimeFraction: 0.1, value: -100, generator: g }).toFloat32Array();
      const bands = new Set<number>();
      const frames = new Set<number>();
      for (let f = 0; f < 10; f++) if (Array.from({ length: 60 }, (_, t) => m[t * 10 + f]).every((v) => v === -100)) bands.add(f);
      for (let t = 0; t < 60; t++) if (Array.from({ length: 10 }, (_, f) => m[t * 10 + f]).every((v) => v === -100)) frames.add(t);
      // A masked entry lies in a fully masked band or a fully masked frame; at most 3 bands and 6 frames (10 % of 60).
      for (let t = 0; t < 60; t++) for (let f = 0; f < 10; f++) if (m[t * 10 + f] === -100) assert.ok(bands.has(f) || frames.has(t));
      assert.ok(bands.size <= 3 && frames.size <= 6, `${bands.size} bands, ${frames.size} frames`);
      const contiguous = (s: Set<number>): boolean => s.size === 0 || Math.max(...s) - Math.min(...s) + 1 === s.size;
      assert.ok(contiguous(bands) && (contiguous(frames) || bands.size > 0));
      maskedSomething ||= bands.size > 0 && frames.size > 0;
    }
    assert.ok(maskedSomething);
    const a = audio.specAugment(features, { generator: new Generator(9) }).toFloat32Array();
    const b = audio.specAugment(features, { generator: new Generator(9) }).toFloat32Array();
    assert.deepStrictEqual(a, b);
    assert.deepStrictEqual(audio.specAugment(features, { freqMasks: 0, timeMasks: 0 }).toFloat32Array(), features.toFloat32Array());
    assert.throws(() => audio.specAugment(features, { maxTimeFraction: 2 }), /Expected number between 0 and 1 for opts.maxTimeFraction but received 2/);
    assert.ok(features instanceof Tensor);
  });
});
