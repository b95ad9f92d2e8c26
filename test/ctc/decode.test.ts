import * as assert from 'assert';
import { ShapeError, ValidationError, ctc, tensor } from '../../lib';

/** log of a [batch, time, classes] array of probabilities. */
const logOf = (p: number[][][]) => tensor(p.map((seq) => seq.map((row) => row.map(Math.log))));

describe('ctc: greedyDecode', () => {
  it('takes the best class per step, merges repeats and drops blanks', () => {
    // Best path per step: a a _ a b b _ _ b  →  a a b b  (the blank separates the repeated a's and b's).
    const best = [1, 1, 0, 1, 2, 2, 0, 0, 2];
    const p = [best.map((c) => [0, 1, 2].map((k) => (k === c ? 0.8 : 0.1)))];
    assert.deepStrictEqual(ctc.greedyDecode(logOf(p)), [[1, 1, 2, 2]]);
  });

  it('honours lengths, time-major input and another blank', () => {
    const p = [
      [[0.1, 0.9], [0.9, 0.1], [0.1, 0.9]],
      [[0.9, 0.1], [0.1, 0.9], [0.9, 0.1]],
    ];
    assert.deepStrictEqual(ctc.greedyDecode(logOf(p), { lengths: [3, 2] }), [[1, 1], [1]]);
    assert.deepStrictEqual(ctc.greedyDecode(logOf(p), { lengths: [1, 0] }), [[1], []]);
    assert.deepStrictEqual(ctc.greedyDecode(logOf(p), { blank: 1 }), [[0], [0, 0]]);
    const timeMajor = tensor([0, 1, 2].map((t) => [0, 1].map((b) => p[b][t].map(Math.log))));
    assert.deepStrictEqual(ctc.greedyDecode(timeMajor, { batchFirst: false }), [[1, 1], [1]]);
  });

  it('checks its arguments', () => {
    assert.throws(() => ctc.greedyDecode(tensor([[1, 2]])), (e: Error) => e instanceof ShapeError && /Expected logProbs of shape \[batch, time, classes\] but received \[1, 2\]/.test(e.message));
    assert.throws(() => ctc.greedyDecode(tensor([[[1, 2]]]), { lengths: [2] }), /Expected integer between 0 and 1 for opts.lengths\[0\] but received 2/);
    assert.throws(() => ctc.greedyDecode(tensor([[[1, 2]]]), { lengths: [1, 1] }), /Expected 1 lengths \(one per sequence\) for opts.lengths but received an array of length 2/);
    assert.throws(() => ctc.greedyDecode(tensor([[[1, 2]]]), { blank: 2 }), /Expected integer between 0 and 1 for opts.blank/);
    assert.throws(() => ctc.greedyDecode(tensor([[[1, 2]]]), { beamWidth: 2 } as never), /Expected a known option for opts.beamWidth/);
  });
});

describe('ctc: beamDecode', () => {
  it('finds the label sequence the best path misses (worked by hand)', () => {
    // Two steps, P(blank) = 0.6 and P(a) = 0.4 at each. The best path is
    // "_ _" (0.36), so greedy says "". But "a" collects three paths:
    // "a a", "a _", "_ a" = 0.16 + 0.24 + 0.24 = 0.64.
    const lp = logOf([[[0.6, 0.4], [0.6, 0.4]]]);
    assert.deepStrictEqual(ctc.greedyDecode(lp), [[]]);
    assert.deepStrictEqual(ctc.beamDecode(lp), [[1]]);
    const [hyps] = ctc.beamSearch(lp);
    // "a a" would need three steps (a, blank, a): impossible prefixes are dropped.
    assert.deepStrictEqual(hyps.map((h) => h.labels), [[1], []]);
    // float64 sums of float32 log-probabilities: 1e-6.
    assert.ok(Math.abs(hyps[0].logProb - Math.log(0.64)) < 1e-6, String(hyps[0].logProb));
    assert.ok(Math.abs(hyps[1].logProb - Math.log(0.36)) < 1e-6, String(hyps[1].logProb));
  });

  it('sums repeats and blanks correctly over three steps (worked by hand)', () => {
    // Classes blank, a, b; steps t0 = (0.5, 0.4, 0.1), t1 = (0.3, 0.3, 0.4), t2 = (0.6, 0.3, 0.1).
    // P("a") = the paths over {a, _}³ that collapse to "a" (a _ a collapses to "aa"):
    //   a a a .4·.3·.3 = .036   a a _ .4·.3·.6 = .072   a _ _ .4·.3·.6 = .072
    //   _ a a .5·.3·.3 = .045   _ a _ .5·.3·.6 = .090   _ _ a .5·.3·.3 = .045   → 0.360
    // P("ab") = a b b .4·.4·.1 = .016, a b _ .4·.4·.6 = .096, a a b .4·.3·.1 = .012,
    //   a _ b .4·.3·.1 = .012, _ a b .5·.3·.1 = .015                                 → 0.151
    const p = [[[0.5, 0.4, 0.1], [0.3, 0.3, 0.4], [0.6, 0.3, 0.1]]];
    const [hyps] = ctc.beamSearch(logOf(p), { beamWidth: 100 });
    const prob = (labels: number[]) => Math.exp(hyps.find((h) => h.labels.join() === labels.join())!.logProb);
    // Summation in float64 over float32 log-probabilities: 1e-6 relative.
    assert.ok(Math.abs(prob([1]) - 0.36) < 1e-6, String(prob([1])));
    assert.ok(Math.abs(prob([1, 2]) - 0.151) < 1e-6, String(prob([1, 2])));
    // With every prefix kept, the probabilities of all outputs sum to 1.
    assert.ok(Math.abs(hyps.reduce((s, h) => s + Math.exp(h.logProb), 0) - 1) < 1e-6);
    // A beam of 1 keeps the locally best prefix only.
    assert.deepStrictEqual(ctc.beamSearch(logOf(p), { beamWidth: 1 })[0].length, 1);
  });

  it('lets a language model and a length bonus change the ranking', () => {
    // Acoustics alone prefer "a" (0.64) over "" (0.36), as above.
    const lp = logOf([[[0.6, 0.4], [0.6, 0.4]]]);
    const dislikesA: ctc.CtcLanguageModel = { logProb: () => Math.log(0.1) };
    // With weight 1: "a" scores log 0.64 + log 0.1 = log 0.064 < log 0.36.
    assert.deepStrictEqual(ctc.beamDecode(lp, { lm: dislikesA, lmWeight: 1 }), [[]]);
    const [h] = ctc.beamSearch(lp, { lm: dislikesA, lmWeight: 1 });
    assert.ok(Math.abs(h[1].score - Math.log(0.064)) < 1e-6 && Math.abs(h[1].logProb - Math.log(0.64)) < 1e-6);
    // A bonus of log 10 per label exactly undoes it: "a" is back at log 0.64 against log 0.36.
    assert.deepStrictEqual(ctc.beamDecode(lp, { lm: dislikesA, lmWeight: 1, lengthBonus: Math.log(10) }), [[1]]);
    // An end-of-sequence score: ending right after "a" is unlikely.
    const endsLate: ctc.CtcLanguageModel = { logProb: () => 0, endLogProb: (h) => (h.length === 0 ? 0 : Math.log(0.01)) };
    assert.deepStrictEqual(ctc.beamDecode(lp, { lm: endsLate, lmWeight: 1 }), [[]]);
  });

  it('checks its options', () => {
    const lp = logOf([[[0.6, 0.4]]]);
    assert.throws(() => ctc.beamDecode(lp, { beamWidth: 0 }), /Expected integer between 1 and 100000 for opts.beamWidth but received 0/);
    assert.throws(() => ctc.beamDecode(lp, { lm: {} as never }), /Expected an object with a logProb\(history, next\) method for opts.lm/);
    assert.throws(() => ctc.beamDecode(lp, { lmWeight: 1 }), (e: Error) => e instanceof ValidationError && /Expected opts.lm with opts.lmWeight/.test(e.message));
    assert.throws(() => ctc.beamDecode(lp, { lm: { logProb: () => 3 }, lmWeight: 1 }), /Expected a log-probability \(a number ≤ 0\) from opts.lm.logProb for opts.lm.logProb\(\[\], 1\) but received 3/);
    assert.throws(() => ctc.beamDecode(lp, { beam_width: 4 } as never), /did you mean beamWidth\?/);
  });
});

describe('ctc: CharNgram', () => {
  it('gives Witten–Bell probabilities worked by hand', () => {
    // Corpus "ab", "ab", "b" over labels {a=0, b=1}, order 2, end symbol $.
    // Unigram counts (every position, $ included): a 2, b 3, $ 3; total 8, 3 distinct.
    //   P1(a) = (2 + 3·1/3) / (8 + 3) = 3/11       (uniform base 1/3: two labels and $)
    // After "a": b 2; total 2, 1 distinct. P2(b | a) = (2 + 1·P1(b)) / 3, P1(b) = (3 + 1)/11 = 4/11 → (26/11)/3 = 26/33.
    // After start: a 2, b 1; total 3, 2 distinct. P2(a | <s>) = (2 + 2·3/11) / 5 = 28/55.
    const lm = ctc.CharNgram.fit([[0, 1], [0, 1], [1]], { order: 2 });
    const close = (a: number, b: number) => assert.ok(Math.abs(a - b) < 1e-12, `${a} vs ${b}`);
    close(lm.logProb([0], 1), Math.log(26 / 33));
    close(lm.logProb([], 0), Math.log(28 / 55));
    // After "b": $ 3; P2($ | b) = (3 + 1·P1($)) / 4, P1($) = (3 + 1)/11.
    close(lm.endLogProb([0, 1]), Math.log((3 + 4 / 11) / 4));
  });

  it('is a distribution over the labels and the end for every history', () => {
    const lm = ctc.CharNgram.fit([[0, 1, 2, 0, 1], [2, 2, 1], [0], []], { order: 3, vocabularySize: 5 });
    for (const h of [[], [0], [0, 1], [4, 4], [2, 2, 1, 0, 1], [3]]) {
      let sum = Math.exp(lm.endLogProb(h));
      for (let c = 0; c < 5; c++) sum += Math.exp(lm.logProb(h, c));
      assert.ok(Math.abs(sum - 1) < 1e-12, `history [${h}]: ${sum}`);
    }
  });

  it('helps beamDecode pick the sequence the training text favours', () => {
    // Acoustics barely prefer b b to b c; the LM has seen c follow b three times out of four, b never.
    // P(b b) = .9·.98·.46 = .406 (b _ b only); P(b c) = .9·.98·.44 + .9·.01·.44 + .1·.01·.44 = .392.
    const lp = logOf([[[0.1, 0.9, 0.0], [0.98, 0.01, 0.01], [0.1, 0.46, 0.44]]]);
    assert.deepStrictEqual(ctc.beamDecode(lp), [[1, 1]]);
    const lm = ctc.CharNgram.fit([[1, 2], [1, 2], [1, 2], [2, 1]], { order: 2, vocabularySize: 3 });
    assert.deepStrictEqual(ctc.beamDecode(lp, { lm, lmWeight: 1 }), [[1, 2]]);
  });

  it('checks its arguments', () => {
    assert.throws(() => ctc.CharNgram.fit([[0, -1]]), /Expected non-negative integer for sequences\[0\]\[1\] but received -1/);
    assert.throws(() => ctc.CharNgram.fit([[0, 3]], { vocabularySize: 2 }), /Expected labels below opts.vocabularySize \(2\) for sequences but received 3/);
    assert.throws(() => ctc.CharNgram.fit([[0]], { order: 0 }), /Expected integer between 1 and 16 for opts.order/);
    assert.throws(() => ctc.CharNgram.fit([[0]]).logProb([], 1), /Expected integer between 0 and 0 for next but received 1/);
  });
});
