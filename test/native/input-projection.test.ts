/**
 * The input folded into the recurrent steps (native/layer_loop.h
 * folds_input): an LSTM or RNN step of enough rows runs x_t · W_ihᵀ in its
 * own tiles, ahead of h_{t−1} · W_hhᵀ, instead of reading a projection made
 * beforehand. Each element is the same chain of multiply-adds either way,
 * so folding must never change a bit: children run the same layers with
 * EDDY_INPUT_PROJECTION=folded, =apart and the rule's choice on every
 * kernel path the CPU has, and their results are compared bit for bit.
 */
import * as assert from 'assert';
import * as path from 'path';
import * as eddy from '../../lib';
import { runNode as run } from '../helpers';

const DIST = path.join(__dirname, '..', '..');

/**
 * Inference (y, h_n, c_n) and a training step (every parameter's gradient
 * and the input's) of each layer at 1 and 2 threads, and a stepper of 20
 * streams over the same steps (then `stepSlots` on 20 rows of a slab, out
 * of order and in order), printed as the bits of every value with the
 * projections that ran. Hidden width 40 leaves a partial panel on every
 * path (16, 8 and 4 floats wide); lengths are mixed but where the
 * bidirectional layers' directions run together (every row live at every
 * step), and 20 rows reach the rule's 16.
 */
const SCRIPT = `
const eddy = require(${JSON.stringify(path.join(DIST, 'lib'))});
const { randomArray, rng } = require(${JSON.stringify(path.join(DIST, 'test', 'helpers'))});
const I = 24, H = 40, B = 20, T = 9;
const mixed = Array.from({ length: B }, (_, b) => T - (b * 5) % 7);
const layers = {
  LSTM: [() => new eddy.LSTM({ inputSize: I, hiddenSize: H }), mixed],
  'LSTM, no bias': [() => new eddy.LSTM({ inputSize: I, hiddenSize: H, bias: false }), mixed],
  'RNN, tanh': [() => new eddy.RNN({ inputSize: I, hiddenSize: H }), mixed],
  'RNN, relu': [() => new eddy.RNN({ inputSize: I, hiddenSize: H, nonlinearity: 'relu' }), mixed],
  'LSTM, 2 bidirectional layers': [() => new eddy.LSTM({ inputSize: I, hiddenSize: H, numLayers: 2, bidirectional: true }), null],
  'RNN, 2 bidirectional layers, mixed lengths': [() => new eddy.RNN({ inputSize: I, hiddenSize: H, numLayers: 2, bidirectional: true }), mixed],
};
const bits = (a) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));
const out = { results: {}, projections: {} };
for (const [name, [make, lengths]] of Object.entries(layers)) {
  for (const threads of [1, 2]) {
    eddy.setNumThreads(threads);
    eddy.manualSeed(5);
    const layer = make();
    const x = eddy.tensor(randomArray(B * T * I, rng(1)), [B, T, I]);
    const opts = lengths ? { lengths } : {};
    const ran = (out.projections[name] ??= []);
    const r = eddy.noGrad(() => layer.eval().forward(x, opts));
    ran.push(eddy.runtimeInfo().kernels.inputProjection);
    const values = [r.output, r.h, r.c].filter(Boolean).map((t) => bits(t.contiguous().data));
    const xg = eddy.tensor(x.data, x.shape, { requiresGrad: true });
    const rt = layer.train().forward(xg, opts);
    ran.push(eddy.runtimeInfo().kernels.inputProjection);
    eddy.backward([rt.output], [eddy.tensor(randomArray(rt.output.size, rng(2)), rt.output.shape)]);
    values.push(...layer.parameters().map((p) => bits(p.grad.data)), bits(xg.grad.data));
    out.results[name + ', ' + threads + ' thread(s)'] = values;
    if (!lengths || threads > 1 || name.includes('bidirectional')) continue;
    // The stepper: 20 streams, one step a call, the same steps.
    const stepper = layer.eval().stepper({ batch: B });
    const hs = [];
    for (let t = 0; t < T; t++) {
      const xt = new Float32Array(B * I);
      for (let b = 0; b < B; b++) xt.set(x.data.subarray((b * T + t) * I, (b * T + t + 1) * I), b * I);
      hs.push(...bits(stepper.step(xt)));
    }
    ran.push(eddy.runtimeInfo().kernels.inputProjection);
    out.results[name + ', stepper'] = [hs];
    // stepSlots: 20 streams of a slab of 24, out of order and then in order.
    const lstm = name.startsWith('LSTM');
    const hSlab = randomArray(24 * H, rng(3)), cSlab = lstm ? randomArray(24 * H, rng(4)) : null;
    const y = new Float32Array(B * H);
    const slabs = [];
    for (const slots of [Int32Array.from({ length: B }, (_, b) => (b * 7) % 24), Int32Array.from({ length: B }, (_, b) => b)]) {
      stepper.stepSlots(x.data.subarray(0, B * I), slots, hSlab, cSlab, y);
      ran.push(eddy.runtimeInfo().kernels.inputProjection);
      slabs.push(bits(y), bits(hSlab), ...(cSlab ? [bits(cSlab)] : []));
    }
    out.results[name + ', stepSlots'] = slabs;
  }
}
process.stdout.write(JSON.stringify(out));
`;

interface Run {
  results: Record<string, number[][]>;
  /** What each layer's calls ran (runtimeInfo().kernels.inputProjection). */
  projections: Record<string, string[]>;
}

/**
 * What the rule folds on a path: LSTM and RNN layers whose fused tile has
 * 4 rows or more (AVX-512's LSTM and RNN tiles, the RNN's elsewhere).
 */
function ruleFolds(isa: string, layer: string): boolean {
  return isa === 'avx512' || layer.startsWith('RNN');
}

async function runWith(isa: string, projection: string | undefined): Promise<Run> {
  const { code, output } = await run(['-e', SCRIPT], { EDDY_ISA: isa, EDDY_INPUT_PROJECTION: projection });
  assert.strictEqual(code, 0, output.slice(-4000));
  return JSON.parse(output);
}

describe('recurrent layers: the input folded into the steps', () => {
  const paths = eddy.runtimeInfo().isaAvailable;

  for (const isa of ['avx512', 'avx2', 'generic']) {
    if (!paths.includes(isa as never)) {
      it.skip(`skipped on the ${isa} path: this CPU lacks it`);
      continue;
    }
    it(`folded, apart and by the rule give the same bits on the ${isa} path (inference, training, the stepper)`, async function () {
      this.timeout(240000);
      const folded = await runWith(isa, 'folded');
      const apart = await runWith(isa, 'apart');
      const rule = await runWith(isa, undefined);
      for (const [name, ran] of Object.entries(rule.projections)) {
        assert.deepStrictEqual(folded.projections[name], ran.map(() => 'folded'), `${name}: forced folding ran`);
        assert.deepStrictEqual(apart.projections[name], ran.map(() => 'apart'), `${name}: forced projecting ran`);
        // 20 rows at these sizes are within the rule's bounds where the tile is tall enough.
        const expected = ruleFolds(isa, name) ? 'folded' : 'apart';
        assert.deepStrictEqual(ran, ran.map(() => expected), `${name}: the rule's choice on the ${isa} path`);
      }
      for (const [name, values] of Object.entries(apart.results)) {
        values.forEach((v, i) => {
          assert.ok(v.some((b) => b !== 0), `${name}: value ${i} is all zeros`);
          for (const [which, other] of [['folded', folded], ['the rule', rule]] as const) {
            const w = other.results[name][i];
            const at = v.findIndex((b, j) => b !== w[j]);
            assert.ok(w.length === v.length && at < 0, `${name}, value ${i}: ${which} differs from apart at element ${at}`);
          }
        });
      }
    });
  }

  it('the rule folds only where enough rows share the weights and W_ih and W_hh are small', () => {
    const ran = (layer: eddy.LSTM | eddy.RNN | eddy.GRU, rows: number, inputSize: number) => {
      eddy.noGrad(() => layer.eval().forward(eddy.tensor(new Float32Array(rows * 3 * inputSize).fill(0.5), [rows, 3, inputSize])));
      return eddy.runtimeInfo().kernels.inputProjection;
    };
    const forced = process.env.EDDY_INPUT_PROJECTION;
    if (forced === 'folded' || forced === 'apart') {
      assert.strictEqual(ran(new eddy.LSTM({ inputSize: 8, hiddenSize: 16 }), 1, 8), forced);
      return;
    }
    const isa = eddy.runtimeInfo().isa;
    const lstm = ruleFolds(isa, 'LSTM') ? 'folded' : 'apart';
    assert.strictEqual(ran(new eddy.LSTM({ inputSize: 128, hiddenSize: 256 }), 64, 128), lstm, `C1: 64 rows, 1.5 MB of weights, on the ${isa} path`);
    assert.strictEqual(ran(new eddy.RNN({ inputSize: 128, hiddenSize: 256 }), 16, 128), 'folded', 'an RNN of 16 rows');
    assert.strictEqual(ran(new eddy.RNN({ inputSize: 128, hiddenSize: 256 }), 15, 128), 'apart', '15 rows');
    assert.strictEqual(ran(new eddy.LSTM({ inputSize: 32, hiddenSize: 64 }), 1, 32), 'apart', 'one stream (C4)');
    assert.strictEqual(ran(new eddy.LSTM({ inputSize: 256, hiddenSize: 512 }), 32, 256), 'apart', "C3's first layer: 6 MB of weights");
    assert.strictEqual(ran(new eddy.GRU({ inputSize: 128, hiddenSize: 256 }), 64, 128), 'apart', 'a GRU');
    assert.strictEqual(ran(new eddy.LSTM({ inputSize: 128, hiddenSize: 256, layerNorm: true }), 64, 128), 'apart', 'layer norm');
  });
});
