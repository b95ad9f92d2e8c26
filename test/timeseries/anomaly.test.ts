/**
 * The pieces of anomaly detection: the ECG generator's events have their
 * documented sizes, alarms and event-level scores count as documented, the
 * rolling z-score matches its definition, and bad input is refused.
 */
import * as assert from 'assert';
import * as eddy from '../../lib';

const ts = eddy.timeseries;

describe('syntheticEcg', () => {
  const rec = ts.syntheticEcg({ duration: 70, heartRate: 72, events: ['ectopic', 'rateChange', 'dropout', 'noise'], generator: new eddy.Generator(5) });
  const rr = Array.from(rec.rPeaks.slice(1), (p, i) => p - rec.rPeaks[i]);
  const normalRR = 128 * (60 / 72);

  it('is seeded: the same generator seed gives the same record', () => {
    const again = ts.syntheticEcg({ duration: 70, heartRate: 72, events: ['ectopic', 'rateChange', 'dropout', 'noise'], generator: new eddy.Generator(5) });
    assert.deepStrictEqual(again.signal, rec.signal);
    assert.deepStrictEqual(again.events, rec.events);
  });

  it('beats at the requested rate, with R peaks at 1 mV over a 0 mV baseline', () => {
    const quiet = ts.syntheticEcg({ duration: 30, heartRate: 72, measurementNoise: 0, generator: new eddy.Generator(1) });
    const mean = (quiet.rPeaks[quiet.rPeaks.length - 1] - quiet.rPeaks[0]) / (quiet.rPeaks.length - 1);
    // 1 bpm of heart-rate variability moves the mean RR of 35 beats by well under 2 %.
    assert.ok(Math.abs(mean / normalRR - 1) < 0.02, `mean RR ${mean} samples vs ${normalRR}`);
    const peaks = Array.from(quiet.rPeaks, (i) => quiet.signal[i]).sort((a, b) => a - b);
    assert.ok(Math.abs(peaks[peaks.length >> 1] - 1) < 1e-6, `median R peak ${peaks[peaks.length >> 1]}`);
  });

  it('an ectopic beat comes 30 % early and is followed by a compensatory pause', () => {
    const e = rec.events.find((x) => x.kind === 'ectopic')!;
    const k = Array.from(rec.rPeaks).indexOf(e.start);
    assert.ok(k >= 1, 'the event starts at an R peak');
    // RR intervals are whole samples: ±1 sample against the ±1.5 % beat-to-beat variability.
    const early = rr[k] / rr[k - 1];
    const pair = (rr[k] + rr[k + 1]) / (2 * rr[k - 1]);
    assert.ok(Math.abs(early - 0.7) < 0.05, `premature interval ratio ${early}`);
    assert.ok(Math.abs(pair - 1) < 0.05, `premature plus pause over two intervals ${pair}`);
    assert.strictEqual(e.end, rec.rPeaks[k + 2]);
  });

  it('a rate change shortens RR intervals by 1 / 1.25 for 8 s', () => {
    const e = rec.events.find((x) => x.kind === 'rateChange')!;
    const inside = rr.filter((_, i) => rec.rPeaks[i] >= e.start && rec.rPeaks[i + 1] < e.end - normalRR);
    const mean = inside.reduce((a, b) => a + b, 0) / inside.length;
    assert.ok(Math.abs(mean / (normalRR / 1.25) - 1) < 0.04, `fast RR ${mean} vs ${normalRR / 1.25}`);
    assert.ok(Math.abs((e.end - e.start) / 128 - 8) < 2.5, `span ${(e.end - e.start) / 128} s: 8 s plus the beats at either end`);
  });

  it('a dropout is 2 s at 0 mV plus measurement noise; a noise burst is 1 s at 6 dB SNR', () => {
    const d = rec.events.find((x) => x.kind === 'dropout')!;
    assert.strictEqual(d.end - d.start, 256);
    const flat = rec.signal.subarray(d.start, d.end);
    const rms = Math.sqrt(flat.reduce((s, v) => s + v * v, 0) / flat.length);
    assert.ok(rms < 0.015, `dropout rms ${rms} mV (measurement noise 0.01)`);

    const n = rec.events.find((x) => x.kind === 'noise')!;
    assert.strictEqual(n.end - n.start, 128);
    const mean = rec.clean.reduce((a, b) => a + b, 0) / rec.clean.length;
    const variance = rec.clean.reduce((a, b) => a + (b - mean) ** 2, 0) / rec.clean.length;
    let noise = 0;
    for (let t = n.start; t < n.end; t++) noise += (rec.signal[t] - rec.clean[t]) ** 2;
    const snr = 10 * Math.log10(variance / (noise / 128));
    // Power estimated from 128 Gaussian samples: relative standard error √(2/128) = 12.5 %, ±0.55 dB; ±2 dB is over 3.5 standard errors.
    assert.ok(Math.abs(snr - 6) < 2, `burst SNR ${snr.toFixed(2)} dB`);
  });

  it('refuses unknown options, unknown event kinds and records too short for their events', () => {
    assert.throws(() => ts.syntheticEcg({ durration: 10 } as never), /Expected a known option for options.durration .*did you mean duration\?/);
    assert.throws(() => ts.syntheticEcg({ events: ['spike'] as never }), /Expected one of 'ectopic', 'rateChange', 'dropout', 'noise' for options.events\[0\] but received "spike" of type string/);
    assert.throws(() => ts.syntheticEcg({ duration: 10, events: ['rateChange'] }), (e: Error) => e instanceof eddy.ValidationError && /for options.duration but received 10 of type number/.test(e.message));
  });
});

describe('alarms and event-level scores', () => {
  it('merges runs closer than minGap and keeps the peak', () => {
    const s = Float32Array.from([0, 2, 3, 0, 0, 4, 0, 0, 0, 0, 5]);
    assert.deepStrictEqual(ts.alarms(s, 1), [{ start: 1, end: 3, peak: 3 }, { start: 5, end: 6, peak: 4 }, { start: 10, end: 11, peak: 5 }]);
    assert.deepStrictEqual(ts.alarms(s, 1, { minGap: 3 }), [{ start: 1, end: 6, peak: 4 }, { start: 10, end: 11, peak: 5 }]);
  });

  it('counts detected events and false alarms, with a tolerance after each event', () => {
    const events = [{ start: 10, end: 20 }, { start: 50, end: 60 }, { start: 90, end: 95 }];
    const found = [{ start: 15, end: 16 }, { start: 18, end: 30 }, { start: 63, end: 64 }, { start: 200, end: 210 }];
    const strict = ts.eventScores(found, events);
    assert.deepStrictEqual([strict.detected, strict.missed, strict.trueAlarms, strict.falseAlarms], [1, 2, 2, 2]);
    const tolerant = ts.eventScores(found, events, { tolerance: 5 });
    assert.deepStrictEqual([tolerant.detected, tolerant.trueAlarms, tolerant.falseAlarms], [2, 3, 1]);
    assert.strictEqual(tolerant.precision, 3 / 4);
    assert.strictEqual(tolerant.recall, 2 / 3);
    const total = ts.sumEventScores([strict, tolerant]);
    assert.strictEqual(total.precision, 5 / 8);
    assert.strictEqual(total.recall, 3 / 6);
    assert.throws(() => ts.eventScores([{ start: 3, end: 1 }], events), /Expected a \{ start, end \} sample range with integer start <= end for found\[0\]/);
  });

  it('quantile interpolates between order statistics like numpy', () => {
    // numpy.quantile([1, 2, 3, 4, 10], [0, 0.5, 0.9, 1]) = [1, 3, 7.6, 10]
    const v = [[4, 1, 10], Float32Array.from([3, 2])];
    assert.deepStrictEqual([0, 0.5, 1].map((q) => ts.quantile(v, q)), [1, 3, 10]);
    assert.ok(Math.abs(ts.quantile(v, 0.9) - 7.6) < 1e-12);
  });
});

describe('rollingZScore', () => {
  it('is |x − mean| / std of the window before each sample', () => {
    const g = new eddy.Generator(3);
    const x = g.normal(new Float32Array(200), 5, 2);
    const z = ts.rollingZScore(x, { window: 20 });
    let worst = 0;
    for (let t = 20; t < 200; t++) {
      const w = Array.from(x.subarray(t - 20, t));
      const m = w.reduce((a, b) => a + b, 0) / 20;
      const sd = Math.sqrt(w.reduce((a, b) => a + (b - m) ** 2, 0) / 20);
      worst = Math.max(worst, Math.abs(z[t] - Math.abs(x[t] - m) / sd));
    }
    // Running sums in float64 over float32 inputs against a direct float64 computation: agreement to ~1e-9 relative; z is stored as float32.
    assert.ok(worst < 1e-5, `max difference ${worst}`);
    assert.ok(z.subarray(0, 20).every((v) => v === 0));
  });
});

describe('AnomalyDetector', () => {
  it('refuses bad options and use before fit', () => {
    assert.throws(() => new ts.AnomalyDetector({ hidenSize: 8 } as never), /did you mean hiddenSize\?/);
    assert.throws(() => new ts.AnomalyDetector({ horizon: 0 }), /Expected positive integer for options.horizon but received 0 of type number/);
    const d = new ts.AnomalyDetector();
    assert.throws(() => d.score([1, 2, 3]), /Expected a fitted detector for stream but received one that has not been fitted/);
  });

  it('scores a stream sample by sample exactly as score() does, and refuses non-finite samples', async () => {
    const g = new eddy.Generator(4);
    const normal = [0, 1].map(() => ts.syntheticEcg({ duration: 12, generator: g }).signal);
    const d = new ts.AnomalyDetector({ hiddenSize: 8, horizon: 4, warmup: 64, generator: new eddy.Generator(1) });
    await d.fit(normal, { epochs: 1, sequenceLength: 128 });
    const s = ts.syntheticEcg({ duration: 4, generator: g }).signal;
    const whole = d.score(s);
    const live = d.stream();
    const stepped = Float32Array.from(s, (v) => live.push(v));
    assert.deepStrictEqual(stepped, whole);
    assert.ok(whole.subarray(0, 64).every((v) => v === 0) && whole.subarray(64).every((v) => v > 0));
    assert.ok(d.threshold(1) >= d.threshold(0.5));
    assert.throws(() => live.push(NaN), /Expected a finite number for sample but received NaN of type number/);
    assert.throws(() => d.score([1, Infinity]), /Expected a finite number for signal\[1\] but received Infinity of type number/);
    await assert.rejects(d.fit(normal, { epoch: 2 } as never), /did you mean epochs\?/);
  });

  it('trained on everything (calibration 0), takes its threshold from calibrate()', async () => {
    const g = new eddy.Generator(6);
    const d = new ts.AnomalyDetector({ hiddenSize: 4, horizon: 2, warmup: 32, generator: new eddy.Generator(1) });
    await d.fit([ts.syntheticEcg({ duration: 6, generator: g }).signal], { epochs: 1, sequenceLength: 64, calibration: 0 });
    assert.throws(() => d.threshold(), /Expected normal scores for threshold but received none/);
    const normal = ts.syntheticEcg({ duration: 3, generator: g }).signal;
    d.calibrate(normal);
    assert.strictEqual(d.threshold(1), Math.max(...d.score(normal).subarray(32)));
  });
});
