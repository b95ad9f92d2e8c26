/**
 * End to end: streaming anomaly detection on synthetic ECG records
 * (McSharry et al.'s model). A small LSTM forecaster trained on normal
 * records must find the labelled events of held-out records — ectopic
 * beats, rate changes, dropouts, noise bursts — with event-level precision
 * and recall of at least 0.9, and beat a rolling z-score on the raw signal.
 */
import * as assert from 'assert';
import * as eddy from '../../lib';

const KINDS = eddy.timeseries.ECG_EVENT_KINDS;
/** Alarms within 0.5 s after an event still belong to it: a causal detector notices a missing beat when it fails to come. */
const TOLERANCE = 64;
const Z_WINDOW = 256;

/** Normal records at heart rates spread over 58–87 bpm. */
function normalRecords(count: number, seconds: number, g: eddy.Generator): Float32Array[] {
  return Array.from({ length: count }, (_, i) => eddy.timeseries.syntheticEcg({ duration: seconds, heartRate: 58 + ((i * 11) % 30), generator: g }).signal);
}

function evaluate(scores: Float32Array[], records: eddy.timeseries.EcgRecord[], threshold: number): eddy.timeseries.EventScores {
  return eddy.timeseries.sumEventScores(records.map((r, i) => eddy.timeseries.eventScores(eddy.timeseries.alarms(scores[i], threshold, { minGap: 64 }), r.events, { tolerance: TOLERANCE })));
}

const show = (s: eddy.timeseries.EventScores): string => `precision ${s.precision.toFixed(3)} recall ${s.recall.toFixed(3)} (${s.detected}/${s.detected + s.missed} events, ${s.falseAlarms} false alarms)`;

describe('ECG anomaly detection (end to end)', () => {
  it('an LSTM forecaster finds the events of held-out records (precision and recall >= 0.9) and beats a rolling z-score', async () => {
    const started = Date.now();
    const g = new eddy.Generator(1);
    const train = normalRecords(6, 40, g);
    const calibration = normalRecords(8, 40, g);
    const held = new eddy.Generator(99);
    const records = Array.from({ length: 8 }, (_, i) => eddy.timeseries.syntheticEcg({ duration: 80, heartRate: 62 + 3 * i, events: held.shuffle([...KINDS]), generator: held }));

    const detector = new eddy.timeseries.AnomalyDetector({ hiddenSize: 48, horizon: 8, generator: new eddy.Generator(2) });
    await detector.fit(train, { epochs: 30 });
    detector.calibrate(calibration);
    const threshold = detector.threshold(1);
    const model = evaluate(records.map((r) => detector.score(r.signal)), records, threshold);

    const zNormal = calibration.map((s) => eddy.timeseries.rollingZScore(s, { window: Z_WINDOW }).subarray(Z_WINDOW));
    const zThreshold = eddy.timeseries.quantile(zNormal, 1);
    const baseline = evaluate(records.map((r) => eddy.timeseries.rollingZScore(r.signal, { window: Z_WINDOW })), records, zThreshold);

    console.log(`      ${records.length} records, ${records.length * KINDS.length} events (${((Date.now() - started) / 1000).toFixed(1)} s)`);
    console.log(`      LSTM forecaster:  ${show(model)}`);
    console.log(`      rolling z-score:  ${show(baseline)}`);
    assert.ok(model.precision >= 0.9 && model.recall >= 0.9, show(model));
    assert.ok(model.f1 > baseline.f1 && model.recall > baseline.recall, `model ${show(model)} vs baseline ${show(baseline)}`);
  });
});
