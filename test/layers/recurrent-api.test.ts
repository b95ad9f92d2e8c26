import * as assert from 'assert';
import * as eddy from '../../lib';
import { ShapeError, Tensor, ValidationError } from '../../lib';
import { releaseWorkspace } from '../../lib/layers/workspace';

function throwsExactly(fn: () => unknown, type: typeof ShapeError | typeof ValidationError, message: string): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof type, `expected ${type.name}, got ${(err as Error).constructor.name}: ${(err as Error).message}`);
    assert.strictEqual((err as Error).message, message);
    return true;
  });
}

const x3 = (B: number, T: number, F: number): Tensor => eddy.tensor(Float32Array.from({ length: B * T * F }, (_, i) => Math.sin(i)), [B, T, F]);

describe('recurrent layers: API', () => {
  it('names and shapes parameters exactly like PyTorch', () => {
    const lstm = new eddy.LSTM({ inputSize: 10, hiddenSize: 20, numLayers: 2, bidirectional: true });
    assert.deepStrictEqual(
      lstm.namedParameters().map(([n, p]) => `${n} ${p.shape.join('x')}`),
      [
        'weight_ih_l0 80x10', 'weight_hh_l0 80x20', 'bias_ih_l0 80', 'bias_hh_l0 80',
        'weight_ih_l0_reverse 80x10', 'weight_hh_l0_reverse 80x20', 'bias_ih_l0_reverse 80', 'bias_hh_l0_reverse 80',
        'weight_ih_l1 80x40', 'weight_hh_l1 80x20', 'bias_ih_l1 80', 'bias_hh_l1 80',
        'weight_ih_l1_reverse 80x40', 'weight_hh_l1_reverse 80x20', 'bias_ih_l1_reverse 80', 'bias_hh_l1_reverse 80',
      ],
    );
    const gru = new eddy.GRU({ inputSize: 4, hiddenSize: 5, bias: false });
    assert.deepStrictEqual(gru.namedParameters().map(([n, p]) => `${n} ${p.shape.join('x')}`), ['weight_ih_l0 15x4', 'weight_hh_l0 15x5']);
    const rnn = new eddy.RNN({ inputSize: 4, hiddenSize: 5 });
    assert.deepStrictEqual(Object.keys(rnn.stateDict()), ['weight_ih_l0', 'weight_hh_l0', 'bias_ih_l0', 'bias_hh_l0']);
  });

  it('initializes from U(-1/sqrt(H), 1/sqrt(H)), reproducibly with manualSeed', () => {
    eddy.manualSeed(7);
    const a = new eddy.LSTM({ inputSize: 8, hiddenSize: 16 });
    eddy.manualSeed(7);
    const b = new eddy.LSTM({ inputSize: 8, hiddenSize: 16 });
    const bound = 1 / Math.sqrt(16);
    for (const [name, p] of a.namedParameters()) {
      const v = p.data.data;
      assert.ok(v.every((e) => e >= -bound && e <= bound), `${name} within ±${bound}`);
      assert.ok(Math.max(...v) > 0.8 * bound && Math.min(...v) < -0.8 * bound, `${name} spans the range`);
      assert.deepStrictEqual(Array.from(v), Array.from(b.stateDict()[name].data));
    }
  });

  it('returns outputs and states of the documented shapes', () => {
    const lstm = new eddy.LSTM({ inputSize: 3, hiddenSize: 4, numLayers: 2, bidirectional: true });
    const { output, h, c } = lstm.forward(x3(5, 7, 3));
    assert.deepStrictEqual(output.shape, [5, 7, 8]);
    assert.deepStrictEqual(h.shape, [4, 5, 4]);
    assert.deepStrictEqual(c!.shape, [4, 5, 4]);
    const tm = new eddy.GRU({ inputSize: 3, hiddenSize: 4, batchFirst: false });
    const r = tm.forward(x3(7, 5, 3));
    assert.deepStrictEqual(r.output.shape, [7, 5, 4]);
    assert.strictEqual(r.c, undefined);
  });

  it('accepts non-contiguous inputs', () => {
    const rnn = new eddy.RNN({ inputSize: 3, hiddenSize: 2 });
    const timeMajor = x3(6, 4, 3);
    const view = timeMajor.transpose(0, 1); // [4, 6, 3] batch-first view of time-major data
    const a = rnn.forward(view);
    const b = rnn.forward(view.contiguous());
    assert.deepStrictEqual(Array.from(a.output.data), Array.from(b.output.data));
  });

  it('keeps no graph under noGrad or when nothing requires grad', () => {
    const lstm = new eddy.LSTM({ inputSize: 3, hiddenSize: 2 });
    const inGraph = lstm.forward(x3(2, 3, 3));
    assert.ok(inGraph.output.gradFn, 'parameters require grad, so the call is recorded');
    const none = eddy.noGrad(() => lstm.forward(x3(2, 3, 3)));
    assert.strictEqual(none.output.gradFn, null);
    assert.strictEqual(none.output.requiresGrad, false);
  });

  it('accumulates parameter gradients until zeroGrad', () => {
    const gru = new eddy.GRU({ inputSize: 3, hiddenSize: 2 });
    const x = x3(2, 3, 3);
    gru.forward(x).output.sum().backward();
    const once = Array.from(gru.namedParameters()[0][1].grad!.data);
    gru.forward(x).output.sum().backward();
    const twice = Array.from(gru.namedParameters()[0][1].grad!.data);
    twice.forEach((v, i) => assert.ok(Math.abs(v - 2 * once[i]) < 1e-5));
    gru.zeroGrad();
    assert.strictEqual(gru.namedParameters()[0][1].grad, null);
  });

  it('reuses a freed workspace without changing results', () => {
    const lstm = new eddy.LSTM({ inputSize: 3, hiddenSize: 4, numLayers: 2, bidirectional: true });
    const grads = (lengths?: number[]): number[] => {
      lstm.zeroGrad();
      lstm.forward(x3(3, 5, 3), { lengths }).output.sum().backward();
      return lstm.parameters().flatMap((p) => Array.from(p.grad!.data));
    };
    const first = grads([5, 2, 4]);
    grads(); // a different run fills the recycled workspace with other values
    assert.deepStrictEqual(grads([5, 2, 4]), first);
  });

  it('gives the same gradients when the thread count changes between forward and backward', () => {
    const initial = eddy.getNumThreads();
    try {
      const gru = new eddy.GRU({ inputSize: 3, hiddenSize: 4, numLayers: 2 });
      const x = x3(24, 5, 3);
      const lengths = Array.from({ length: 24 }, (_, i) => 1 + (i % 5));
      const grads = (forwardThreads: number, backwardThreads: number): number[] => {
        gru.zeroGrad();
        eddy.setNumThreads(forwardThreads);
        const loss = gru.forward(x, { lengths }).output.sum();
        eddy.setNumThreads(backwardThreads);
        loss.backward();
        return gru.parameters().flatMap((p) => Array.from(p.grad!.data));
      };
      const same = grads(3, 3);
      const changed = grads(3, 1);
      same.forEach((v, i) => assert.ok(Math.abs(v - changed[i]) <= 1e-5 * Math.max(1, Math.abs(v)), `gradient ${i}: ${v} vs ${changed[i]}`));
    } finally {
      eddy.setNumThreads(initial);
    }
  });

  it('inference in blocks of steps equals a single pass over all steps', () => {
    // 512 sequences × 4·64 gates: inference projects about 32 steps at a
    // time, so 70 steps take three blocks in each direction.
    const lstm = new eddy.LSTM({ inputSize: 8, hiddenSize: 64, bidirectional: true });
    const x = x3(512, 70, 8);
    const lengths = Array.from({ length: 512 }, (_, i) => 1 + ((i * 37) % 70));
    const training = lstm.forward(x, { lengths }); // keeps a workspace: one block of all steps
    const inference = eddy.noGrad(() => lstm.forward(x, { lengths }));
    for (const key of ['output', 'h', 'c'] as const) {
      const a = training[key]!.data, b = inference[key]!.data;
      let worst = 0;
      for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
      assert.ok(worst <= 1e-6, `${key}: max difference ${worst}`);
    }
  });

  it('gives a bidirectional layer bit-identical parameter gradients on 1 and 2 threads (one batch group)', () => {
    // On 2 threads each direction's parameter gradients run whole on one
    // thread; on 1 thread one after the other. Same GEMMs, same bits. (One
    // layer: below it, the input gradient on a BLAS split by rows is not
    // bit-stable across thread counts on every path.)
    const initial = eddy.getNumThreads();
    try {
      for (const Layer of [eddy.LSTM, eddy.GRU]) {
        eddy.manualSeed(11);
        const layer = new Layer({ inputSize: 32, hiddenSize: 64, bidirectional: true });
        const x = x3(8, 20, 32);
        const grads = (threads: number): Float32Array[] => {
          eddy.setNumThreads(threads);
          layer.zeroGrad();
          layer.forward(x).output.sum().backward();
          return layer.parameters().map((p) => p.grad!.toFloat32Array());
        };
        assert.deepStrictEqual(grads(2), grads(1), Layer.name);
      }
    } finally {
      eddy.setNumThreads(initial);
    }
  });

  it('projects blocks of batch-first steps to the same bits as the training pass, on any thread count', () => {
    // W_ih and W_hh together over 2^18 floats: inference projects blocks of
    // steps, each a GEMM per step sharing W_ih's panels (batch-first steps'
    // rows are not consecutive in x); training projects the whole sequence
    // row by row. Every element is the same chain either way.
    const before = eddy.getNumThreads();
    try {
      for (const threads of [1, 2]) {
        eddy.setNumThreads(threads);
        eddy.manualSeed(3);
        const lstm = new eddy.LSTM({ inputSize: 96, hiddenSize: 224 });
        const x = x3(64, 11, 96);
        const training = lstm.train().forward(x).output.toFloat32Array();
        const inference = eddy.noGrad(() => lstm.eval().forward(x)).output.toFloat32Array();
        assert.deepStrictEqual(inference, training, `${threads} thread(s)`);
      }
    } finally {
      eddy.setNumThreads(before);
    }
  });

  it('writes every element of the output, which it allocates unfilled', () => {
    // The output is not zero-filled first: the native side must write all
    // of it, padding past a sequence's length included. Run each shape once
    // into an output full of NaN and once through forward: both must agree
    // bit for bit.
    const { binding } = require('../../lib/native') as typeof import('../../lib/native');
    const shapes = [
      { cell: 'LSTM', numLayers: 1, bidirectional: false, batchFirst: true, training: false, lengths: undefined },
      { cell: 'GRU', numLayers: 2, bidirectional: true, batchFirst: false, training: false, lengths: [2, 6, 1, 3, 6, 5, 4] },
      { cell: 'RNN', numLayers: 2, bidirectional: false, batchFirst: true, training: true, lengths: undefined },
      { cell: 'LSTM', numLayers: 2, bidirectional: true, batchFirst: true, training: true, lengths: [6, 1, 6, 2, 6, 6, 3] },
    ] as const;
    for (const { cell, training, lengths, ...opts } of shapes) {
      const Layer = cell === 'LSTM' ? eddy.LSTM : cell === 'GRU' ? eddy.GRU : eddy.RNN;
      const layer = new Layer({ inputSize: 5, hiddenSize: 19, ...opts });
      layer.train(training);
      const x = eddy.tensor(Float32Array.from({ length: 7 * 6 * 5 }, (_, i) => Math.sin(i)), opts.batchFirst ? [7, 6, 5] : [6, 7, 5]);
      // Training keeps a workspace for backward (grad on); inference does not.
      const run = <T>(f: () => T): T => (training ? f() : eddy.noGrad(f));
      const expected = run(() => layer.forward(x, { lengths })).output.toFloat32Array();
      const call = run(() => (layer as unknown as { prepare(x: Tensor, s: object): { native: { y: Float32Array; ws: Float32Array | null } } }).prepare(x, { lengths }));
      call.native.y.fill(NaN);
      try {
        binding.rnnForward(call.native as never);
      } finally {
        if (call.native.ws) releaseWorkspace(call.native.ws);
      }
      assert.deepStrictEqual(call.native.y, expected, `${cell} ${JSON.stringify(opts)} training ${training} lengths ${lengths}`);
    }
  });

  describe('dropout between layers', () => {
    it('applies in training mode only, reproducibly for a given generator seed', () => {
      const gen = new eddy.Generator(1);
      const lstm = new eddy.LSTM({ inputSize: 3, hiddenSize: 8, numLayers: 2, dropout: 0.5, generator: gen });
      const plain = new eddy.LSTM({ inputSize: 3, hiddenSize: 8, numLayers: 2 });
      plain.loadStateDict(lstm.stateDict());
      const x = x3(4, 6, 3);
      gen.seed(42);
      const a = lstm.forward(x).output;
      gen.seed(42);
      const b = lstm.forward(x).output;
      const c = lstm.forward(x).output;
      assert.deepStrictEqual(Array.from(a.data), Array.from(b.data), 'same seed, same masks');
      assert.notDeepStrictEqual(Array.from(a.data), Array.from(c.data), 'next call, new masks');
      const reference = plain.forward(x).output;
      assert.notDeepStrictEqual(Array.from(a.data), Array.from(reference.data), 'dropout changes training outputs');
      lstm.eval();
      assert.deepStrictEqual(Array.from(lstm.forward(x).output.data), Array.from(reference.data), 'no dropout in eval mode');
    });

    it('back-propagates through the same masks (finite differences with a fixed seed)', () => {
      const gen = new eddy.Generator(3);
      const rnn = new eddy.RNN({ inputSize: 2, hiddenSize: 3, numLayers: 2, dropout: 0.4, generator: gen, bidirectional: true });
      const x = x3(2, 3, 2);
      const w = Float32Array.from({ length: 2 * 3 * 6 }, (_, i) => Math.cos(i));
      const lossAt = (): number => {
        gen.seed(9);
        const out = eddy.noGrad(() => rnn.forward(x).output);
        let s = 0;
        for (let i = 0; i < w.length; i++) s += out.data[i] * w[i];
        return s;
      };
      gen.seed(9);
      const out = rnn.forward(x).output;
      eddy.backward([out], [eddy.tensor(w, out.shape)]);
      const [name, p] = rnn.namedParameters()[0];
      const eps = 1e-2;
      let worst = 0;
      for (let i = 0; i < p.data.size; i++) {
        const keep = p.data.data[i];
        p.data.data[i] = keep + eps;
        const up = lossAt();
        p.data.data[i] = keep - eps;
        const down = lossAt();
        p.data.data[i] = keep;
        worst = Math.max(worst, Math.abs((up - down) / (2 * eps) - p.grad!.data[i]));
      }
      assert.ok(worst < 2e-3, `d ${name}: max difference ${worst}`);
    });
  });

  describe('recurrent dropout', () => {
    it('masks the recurrent input in training mode only, one mask per sequence', () => {
      const gen = new eddy.Generator(4);
      const gru = new eddy.GRU({ inputSize: 3, hiddenSize: 6, recurrentDropout: 0.5, generator: gen });
      const plain = new eddy.GRU({ inputSize: 3, hiddenSize: 6 });
      plain.loadStateDict(gru.stateDict());
      const x = x3(4, 5, 3);
      assert.notDeepStrictEqual(Array.from(gru.forward(x).output.data), Array.from(plain.forward(x).output.data));
      gru.eval();
      assert.deepStrictEqual(Array.from(gru.forward(x).output.data), Array.from(plain.forward(x).output.data));
      assert.strictEqual(gru.toString(), 'GRU(inputSize=3, hiddenSize=6, recurrentDropout=0.5)');
    });

    it('rejects a probability outside [0, 1)', () => {
      throwsExactly(() => new eddy.LSTM({ inputSize: 3, hiddenSize: 2, recurrentDropout: 1 }), ValidationError, 'Expected number in [0, 1) for recurrentDropout but received 1 of type number');
    });
  });

  describe('layer-normalized cells', () => {
    it('add gains (ones) and shifts (zeros) per layer and direction, after the PyTorch parameters', () => {
      const lstm = new eddy.LSTM({ inputSize: 3, hiddenSize: 2, bidirectional: true, layerNorm: true });
      assert.deepStrictEqual(
        lstm.namedParameters().slice(0, 10).map(([n, p]) => `${n} ${p.shape.join('x')}`),
        [
          'weight_ih_l0 8x3', 'weight_hh_l0 8x2', 'bias_ih_l0 8', 'bias_hh_l0 8',
          'layer_norm_ih_weight_l0 8', 'layer_norm_ih_bias_l0 8', 'layer_norm_hh_weight_l0 8', 'layer_norm_hh_bias_l0 8',
          'layer_norm_c_weight_l0 2', 'layer_norm_c_bias_l0 2',
        ],
      );
      assert.strictEqual(lstm.namedParameters().length, 20);
      const sd = lstm.stateDict();
      assert.ok(sd.layer_norm_hh_weight_l0_reverse.data.every((v) => v === 1));
      assert.ok(sd.layer_norm_c_bias_l0.data.every((v) => v === 0));
      const gru = new eddy.GRU({ inputSize: 3, hiddenSize: 2, layerNorm: true });
      assert.deepStrictEqual(gru.namedParameters().map(([n]) => n).filter((n) => n.startsWith('layer_norm')), [
        'layer_norm_ih_weight_l0', 'layer_norm_ih_bias_l0', 'layer_norm_hh_weight_l0', 'layer_norm_hh_bias_l0',
      ]);
      assert.strictEqual(gru.toString(), 'GRU(inputSize=3, hiddenSize=2, layerNorm=true)');
    });

    it('are rejected where they are not defined', () => {
      throwsExactly(() => new eddy.RNN({ inputSize: 3, hiddenSize: 2, layerNorm: true } as never), ValidationError, 'Expected layerNorm only for LSTM and GRU but received it for RNN');
      throwsExactly(() => new eddy.GRU({ inputSize: 3, hiddenSize: 2, layerNorm: true, resetAfter: false }), ValidationError, 'Expected resetAfter: true for a layer-normalized GRU but received resetAfter: false');
    });

    it('round-trip through configs with their options', () => {
      const lstm = new eddy.LSTM({ inputSize: 3, hiddenSize: 2, layerNorm: true, recurrentDropout: 0.25, stateful: true });
      const config = JSON.parse(JSON.stringify(eddy.layerToConfig(lstm)));
      assert.deepStrictEqual(config.config, { inputSize: 3, hiddenSize: 2, numLayers: 1, bias: true, batchFirst: true, dropout: 0, bidirectional: false, recurrentDropout: 0.25, stateful: true, projSize: 0, layerNorm: true });
      const rebuilt = eddy.layerFromConfig(config) as eddy.LSTM;
      assert.strictEqual(rebuilt.toString(), lstm.toString());
    });
  });

  describe('state dicts', () => {
    it('round-trips and accepts tensors, Float32Arrays and nested arrays', () => {
      const a = new eddy.RNN({ inputSize: 2, hiddenSize: 2 });
      const b = new eddy.RNN({ inputSize: 2, hiddenSize: 2 });
      b.loadStateDict(a.stateDict());
      assert.deepStrictEqual(b.stateDict()['weight_hh_l0'].toArray(), a.stateDict()['weight_hh_l0'].toArray());
      const params = b.parameters();
      b.loadStateDict({ weight_ih_l0: [[1, 2], [3, 4]], weight_hh_l0: new Float32Array([1, 0, 0, 1]), bias_ih_l0: eddy.tensor([0.5, 0.5]), bias_hh_l0: [0, 0] });
      assert.deepStrictEqual(b.stateDict()['weight_ih_l0'].toArray(), [[1, 2], [3, 4]]);
      assert.strictEqual(b.parameters()[0], params[0], 'parameters keep their identity');
    });

    it('rejects missing, unknown, misshapen and non-finite entries, naming the key', () => {
      const rnn = new eddy.RNN({ inputSize: 2, hiddenSize: 2 });
      const good = rnn.stateDict();
      const { bias_hh_l0: _dropped, ...missing } = good;
      throwsExactly(() => rnn.loadStateDict(missing), ValidationError, 'Missing key "bias_hh_l0" in state dict for RNN(inputSize=2, hiddenSize=2)');
      throwsExactly(
        () => rnn.loadStateDict({ ...good, weight_ih_l1: good.weight_ih_l0 }),
        ValidationError,
        'Unexpected key "weight_ih_l1" in state dict for RNN(inputSize=2, hiddenSize=2); expected weight_ih_l0, weight_hh_l0, bias_ih_l0, bias_hh_l0',
      );
      throwsExactly(
        () => rnn.loadStateDict({ ...good, weight_hh_l0: eddy.tensor(new Float32Array(6), [2, 3]) }),
        ShapeError,
        'Expected shape [2, 2] for state dict entry weight_hh_l0 but received [2, 3]',
      );
      throwsExactly(() => rnn.loadStateDict({ ...good, bias_ih_l0: new Float32Array(3) }), ShapeError, 'Expected shape [2] for state dict entry bias_ih_l0 but received 3 values');
      throwsExactly(
        () => rnn.loadStateDict({ ...good, bias_ih_l0: [0, NaN] }),
        ValidationError,
        'Expected finite values for state dict entry bias_ih_l0 but received NaN at index 1',
      );
      throwsExactly(
        () => rnn.loadStateDict({ ...good, weight_ih_l0: [[1, 2], [3, Infinity]] }),
        ValidationError,
        'Expected finite values for state dict entry weight_ih_l0 but received Infinity at index 3',
      );
    });
  });

  describe('bad input', () => {
    const lstm = new eddy.LSTM({ inputSize: 3, hiddenSize: 4, numLayers: 2 });

    it('rejects wrong options with exact messages', () => {
      throwsExactly(() => new eddy.LSTM({ inputSize: 0, hiddenSize: 4 }), ValidationError, 'Expected positive integer for inputSize but received 0 of type number');
      throwsExactly(() => new eddy.GRU({ inputSize: 3 } as never), ValidationError, 'Expected positive integer for hiddenSize but received undefined');
      throwsExactly(() => new eddy.RNN({ inputSize: 3, hiddenSize: 2, nonlinearity: 'sigmoid' as never }), ValidationError, `Expected one of 'tanh', 'relu' for nonlinearity but received "sigmoid" of type string`);
      throwsExactly(() => new eddy.LSTM({ inputSize: 3, hiddenSize: 2, dropout: 1 }), ValidationError, 'Expected number in [0, 1) for dropout but received 1 of type number');
      throwsExactly(() => new eddy.LSTM({ inputSize: 3, hiddenSize: 2, projSize: 1 }), ValidationError, 'Expected projSize 0 for LSTM but received 1: LSTM with projections is not supported yet');
      throwsExactly(() => new eddy.GRU({ inputSize: 3, hiddenSize: 2, resetAfter: 'yes' as never }), ValidationError, 'Expected boolean for resetAfter but received "yes" of type string');
    });

    it('rejects inputs of the wrong rank or size', () => {
      throwsExactly(() => lstm.forward(x3(2, 5, 4)), ShapeError, 'Expected input of shape [batch, time, 3] for LSTM(inputSize=3, hiddenSize=4, numLayers=2) but received [2, 5, 4]');
      throwsExactly(() => lstm.forward(eddy.tensor(new Float32Array(6), [2, 3])), ShapeError, 'Expected input of shape [batch, time, 3] for LSTM(inputSize=3, hiddenSize=4, numLayers=2) but received [2, 3]');
      throwsExactly(() => lstm.forward(eddy.tensor(new Float32Array(0), [2, 0, 3])), ShapeError, 'Expected at least one sequence and one time step in input [batch, time, 3] for LSTM(inputSize=3, hiddenSize=4, numLayers=2) but received [2, 0, 3]');
      throwsExactly(() => lstm.forward([[1, 2, 3]] as never), ValidationError, 'Expected Tensor for input but received an array of length 1');
      const tm = new eddy.RNN({ inputSize: 3, hiddenSize: 4, batchFirst: false });
      throwsExactly(() => tm.forward(x3(2, 5, 2)), ShapeError, 'Expected input of shape [time, batch, 3] for RNN(inputSize=3, hiddenSize=4, batchFirst=false) but received [2, 5, 2]');
    });

    it('rejects initial states of the wrong shape', () => {
      const x = x3(2, 5, 3);
      throwsExactly(() => lstm.forward(x, { h0: eddy.tensor(new Float32Array(8), [1, 2, 4]) }), ShapeError, 'Expected h0 of shape [2, 2, 4] for LSTM(inputSize=3, hiddenSize=4, numLayers=2) but received [1, 2, 4]');
      throwsExactly(() => lstm.forward(x, { c0: eddy.tensor(new Float32Array(16), [2, 4, 2]) }), ShapeError, 'Expected c0 of shape [2, 2, 4] for LSTM(inputSize=3, hiddenSize=4, numLayers=2) but received [2, 4, 2]');
      throwsExactly(() => lstm.forward(x, { h0: new Float32Array(16) as never }), ValidationError, 'Expected Tensor for h0 but received Float32Array of length 16');
      const gru = new eddy.GRU({ inputSize: 3, hiddenSize: 4 });
      throwsExactly(() => gru.forward(x, { c0: eddy.tensor(new Float32Array(8), [1, 2, 4]) }), ValidationError, 'Expected no c0 for GRU(inputSize=3, hiddenSize=4): only LSTM has a cell state');
    });

    it('rejects lengths of the wrong count or out of range', () => {
      const x = x3(2, 5, 3);
      throwsExactly(() => lstm.forward(x, { lengths: Int32Array.of(5) }), ValidationError, 'Expected lengths to be an Int32Array with one entry per sequence (2) but received length 1');
      throwsExactly(() => lstm.forward(x, { lengths: Int32Array.of(5, 0) }), ValidationError, 'Expected lengths between 1 and 5 (the number of time steps) but received lengths[1] = 0');
      throwsExactly(() => lstm.forward(x, { lengths: [6, 2] }), ValidationError, 'Expected lengths between 1 and 5 (the number of time steps) but received lengths[0] = 6');
      throwsExactly(() => lstm.forward(x, { lengths: [2.5, 2] }), ValidationError, 'Expected lengths between 1 and 5 (the number of time steps) but received lengths[0] = 2.5');
      throwsExactly(() => lstm.forward(x, { lengths: 'all' as never }), ValidationError, 'Expected lengths to be an Int32Array with one entry per sequence (2) but received "all" of type string');
    });

    it('never crashes the process on inconsistent native calls', () => {
      // Straight to the binding, bypassing every TypeScript check.
      const { binding } = require('../../lib/native') as typeof import('../../lib/native');
      const base = {
        cell: 0, resetAfter: true, layers: 1, dirs: 1, T: 2, B: 1, I: 2, H: 1, batchFirst: false, layerNorm: false, recurrentDropout: false, recMask: null,
        x: new Float32Array(4), lengths: null, h0: null, c0: null,
        wIh: [new Float32Array(8)], wHh: [new Float32Array(4)], bIh: [null], bHh: [null],
        dropout: 0, seed: 0, y: new Float32Array(2), hn: new Float32Array(1), cn: new Float32Array(1), ws: null,
      };
      assert.throws(() => binding.rnnForward({ ...base, x: new Float32Array(3) }), /Expected 4 elements for x but received 3/);
      assert.throws(() => binding.rnnForward({ ...base, wIh: [new Float32Array(7)] }), /Expected 8 elements for wIh\[0\]/);
      assert.throws(() => binding.rnnForward({ ...base, lengths: Int32Array.of(3) }), /lengths/);
      assert.throws(() => binding.rnnForward({ ...base, cell: 7 }), /cell/);
      assert.throws(() => binding.rnnForward({ ...base, y: null as never }), /Float32Array for y/);
      assert.throws(() => binding.rnnBackward({ forward: base } as never), /workspace/);
      binding.rnnForward(base);
    });
  });
});
