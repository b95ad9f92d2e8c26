import * as assert from 'assert';
import * as eddy from '../../lib';
import { ShapeError, ValidationError } from '../../lib';
import { randomArray, rng } from '../helpers';

type Layer = eddy.LSTM | eddy.GRU | eddy.RNN;

const I = 5;
const H = 20;
const T = 6;
const B = 3;

const LAYERS: [string, () => Layer][] = [
  ['LSTM', () => new eddy.LSTM({ inputSize: I, hiddenSize: H })],
  ['layer-normalized LSTM', () => new eddy.LSTM({ inputSize: I, hiddenSize: H, layerNorm: true })],
  ['GRU', () => new eddy.GRU({ inputSize: I, hiddenSize: H })],
  ['layer-normalized GRU', () => new eddy.GRU({ inputSize: I, hiddenSize: H, layerNorm: true })],
  ['GRU, reset before', () => new eddy.GRU({ inputSize: I, hiddenSize: H, resetAfter: false })],
  ['RNN relu, no bias', () => new eddy.RNN({ inputSize: I, hiddenSize: H, nonlinearity: 'relu', bias: false })],
];

function bitsEqual(a: Float32Array, b: Float32Array, what: string): void {
  assert.strictEqual(a.length, b.length, what);
  for (let i = 0; i < a.length; i++) {
    if (!Object.is(a[i], b[i])) assert.fail(`${what}: element ${i} differs (${a[i]} vs ${b[i]})`);
  }
}

/** Step t of a [B, T, H] output as [B, H]. */
function stepOf(y: Float32Array, t: number): Float32Array {
  const out = new Float32Array(B * H);
  for (let b = 0; b < B; b++) out.set(y.subarray((b * T + t) * H, (b * T + t + 1) * H), b * H);
  return out;
}

describe('recurrent layers: token-by-token stepper', () => {
  for (const [name, make] of LAYERS) {
    it(`${name}: each step equals the whole-sequence forward bit for bit, from given initial states`, () => {
      eddy.manualSeed(21);
      const layer = make();
      const x = randomArray(B * T * I, rng(4));
      const h0 = randomArray(B * H, rng(5));
      const c0 = randomArray(B * H, rng(6));
      const lstm = layer instanceof eddy.LSTM;
      const whole = eddy.noGrad(() =>
        layer.eval().forward(eddy.tensor(x, [B, T, I]), { h0: eddy.tensor(h0, [1, B, H]), c0: lstm ? eddy.tensor(c0, [1, B, H]) : undefined }),
      );
      const y = whole.output.contiguous().data;
      const stepper = layer.stepper({ batch: B });
      stepper.reset({ h: h0, c: lstm ? c0 : undefined });
      const xt = new Float32Array(B * I);
      for (let t = 0; t < T; t++) {
        for (let b = 0; b < B; b++) xt.set(x.subarray((b * T + t) * I, (b * T + t + 1) * I), b * I);
        const h = stepper.step(xt);
        bitsEqual(h, stepOf(y, t), `${name}: step ${t}`);
      }
      bitsEqual(stepper.h, whole.h.contiguous().data, `${name}: final h`);
      if (lstm) bitsEqual(stepper.c!, whole.c!.contiguous().data, `${name}: final c`);
      assert.ok(stepper.h.some((v) => v !== 0));
    });
  }

  it('keeps the weights it was made with, and starts from zeros after reset()', () => {
    eddy.manualSeed(2);
    const layer = new eddy.GRU({ inputSize: I, hiddenSize: H });
    const stepper = layer.stepper();
    const x = randomArray(I, rng(8));
    const first = Float32Array.from(stepper.step(x));
    layer.parameters()[0].data.data.fill(0);
    stepper.reset();
    bitsEqual(stepper.step(x), first, 'after the layer changed');
    assert.ok(layer.stepper().step(x).some((v, i) => v !== first[i]), 'a new stepper sees the new weights');
  });

  it('stepSlots steps rows of slabs in place, bit-identical with stepRows on the same rows', () => {
    const rand = rng(9);
    for (const [name, make] of LAYERS) {
      eddy.manualSeed(2);
      const layer = make();
      const stepper = layer.stepper();
      const rows = 7;
      const lstm = layer instanceof eddy.LSTM;
      const hSlab = randomArray(rows * H, rand);
      const cSlab = lstm ? randomArray(rows * H, rand) : null;
      const slots = Int32Array.of(5, 0, 3); // B = 3 streams, out of order
      const x = randomArray(B * I, rand);
      const h = new Float32Array(B * H);
      const c = lstm ? new Float32Array(B * H) : null;
      slots.forEach((slot, b) => {
        h.set(hSlab.subarray(slot * H, (slot + 1) * H), b * H);
        c?.set(cSlab!.subarray(slot * H, (slot + 1) * H), b * H);
      });
      const untouched = hSlab.slice(H, 2 * H);
      stepper.stepRows(x, h, c);
      const y = new Float32Array(B * H);
      stepper.stepSlots(x, slots, hSlab, cSlab, y);
      bitsEqual(y, h, `${name} outputs`);
      slots.forEach((slot, b) => {
        bitsEqual(hSlab.subarray(slot * H, (slot + 1) * H), h.subarray(b * H, (b + 1) * H), `${name} h of slot ${slot}`);
        if (c) bitsEqual(cSlab!.subarray(slot * H, (slot + 1) * H), c.subarray(b * H, (b + 1) * H), `${name} c of slot ${slot}`);
      });
      bitsEqual(hSlab.subarray(H, 2 * H), untouched, `${name} slot 1 (not stepped)`);
    }
    const stepper = new eddy.GRU({ inputSize: I, hiddenSize: H }).stepper();
    assert.throws(() => stepper.stepSlots(new Float32Array(I), Int32Array.of(0), new Float32Array(H), new Float32Array(H), new Float32Array(H)), {
      name: 'ValidationError',
      message: 'Expected null (only LSTM has a cell state) for cSlab but received Float32Array of length 20',
    });
    assert.throws(() => stepper.stepSlots(new Float32Array(I), Int32Array.of(1), new Float32Array(H), null, new Float32Array(H)), { name: 'NativeArgumentError', message: /slots inside the slabs/ });
    // 64 rows are stepped in blocks on several threads: a slot named in two blocks (rows 0 and 40) is refused.
    const repeated = Int32Array.from({ length: 64 }, (_, i) => (i === 40 ? 0 : i));
    assert.throws(() => stepper.stepSlots(new Float32Array(64 * I), repeated, new Float32Array(64 * H), null, new Float32Array(64 * H)), { name: 'NativeArgumentError', message: /distinct slots/ });
  });

  it('rejects layers, options and inputs it cannot run, with exact messages', () => {
    const deep = new eddy.LSTM({ inputSize: I, hiddenSize: H, numLayers: 2 });
    assert.throws(() => deep.stepper(), (e: Error) => e instanceof ValidationError && e.message === `Expected a single-layer, unidirectional layer for stepper() but received ${deep.toString()}`);
    const layer = new eddy.LSTM({ inputSize: I, hiddenSize: H });
    assert.throws(() => layer.stepper({ batch: 0 }), /Expected positive integer for batch but received 0 of type number/);
    assert.throws(() => layer.stepper({ bacth: 2 } as never), (e: Error) => e instanceof ValidationError && e.message === 'Expected one of the options batch for stepper options but received "bacth" of type string');
    const stepper = layer.stepper({ batch: 2 });
    assert.throws(() => stepper.step(new Float32Array(I)), (e: Error) => e instanceof ShapeError && e.message === `Expected x of ${2 * I} elements ([batch 2, ${I}]) for a stepper of ${layer.toString()} but received ${I}`);
    assert.throws(() => stepper.step([1, 2] as never), ValidationError);
    assert.throws(() => stepper.reset({ h: new Float32Array(3) }), ShapeError);
    const gru = new eddy.GRU({ inputSize: I, hiddenSize: H }).stepper();
    assert.throws(() => gru.reset({ c: new Float32Array(H) }), ValidationError);
  });
});
