/**
 * Optimizers and clipping against torch.optim: test/fixtures/optim holds
 * parameter trajectories PyTorch computed (float32) from fixed gradients
 * (scripts/make-optim-fixtures.py). Eddy must follow them step for step.
 */
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import * as eddy from '../../lib';
import { Tensor, ValidationError } from '../../lib';
import { assertClose } from '../helpers';

interface Trajectory {
  optimizer: 'SGD' | 'Adam' | 'AdamW' | 'RMSprop' | 'Adagrad';
  options: Record<string, unknown>;
  groups: Record<string, unknown>[] | null;
  shapes: number[][];
  initial: number[][];
  grads: number[][][];
  trajectory: number[][][];
}

interface ClipCase {
  maxNorm: number;
  normType: number | 'inf';
  grads: number[][];
  totalNorm: number;
  clipped: number[][];
}

const FIXTURES = JSON.parse(
  fs.readFileSync(path.resolve(__dirname, '..', '..', '..', 'test', 'fixtures', 'optim', 'optimizers.json'), 'utf8'),
) as { optimizers: Trajectory[]; clip: ClipCase[] };

const TOL = 2e-6;

function make(name: Trajectory['optimizer'], params: unknown, opts: Record<string, unknown>): eddy.optim.Optimizer<{ lr: number }> {
  const ctor = { SGD: eddy.optim.SGD, Adam: eddy.optim.Adam, AdamW: eddy.optim.AdamW, RMSprop: eddy.optim.RMSprop, Adagrad: eddy.optim.Adagrad }[name];
  return new (ctor as unknown as new (p: unknown, o: unknown) => eddy.optim.Optimizer<{ lr: number }>)(params, opts);
}

describe('optimizers against torch.optim', () => {
  for (const fx of FIXTURES.optimizers) {
    const label = `${fx.optimizer}(${JSON.stringify(fx.options)})${fx.groups ? ` with groups ${JSON.stringify(fx.groups)}` : ''}`;
    it(`${label} follows PyTorch for ${fx.trajectory.length} steps`, () => {
      const params = fx.shapes.map((shape, i) => eddy.tensor(Float32Array.from(fx.initial[i]), shape, { requiresGrad: true }));
      const groups = fx.groups ? fx.groups.map((g, i) => ({ ...g, params: [params[i]] })) : params;
      const opt = make(fx.optimizer, groups, fx.options);
      let worst = 0;
      fx.trajectory.forEach((expected, step) => {
        params.forEach((p, i) => (p.grad = eddy.tensor(Float32Array.from(fx.grads[step][i]), p.shape)));
        opt.step();
        params.forEach((p, i) => (worst = Math.max(worst, assertClose(p.data, expected[i], TOL, `${label} step ${step + 1} param ${i}`))));
      });
      console.log(`      max scaled difference ${worst.toExponential(1)} (tolerance ${TOL})`);
    });
  }

  it('resumes exactly from a state dict', () => {
    const fx = FIXTURES.optimizers.find((f) => f.optimizer === 'Adam' && f.options.amsgrad)!;
    const run = (splitAt: number | null): Float32Array[] => {
      const params = fx.shapes.map((shape, i) => eddy.tensor(Float32Array.from(fx.initial[i]), shape, { requiresGrad: true }));
      let opt = make('Adam', params, fx.options);
      fx.grads.forEach((grads, step) => {
        if (step === splitAt) {
          const saved = opt.stateDict();
          opt = make('Adam', params, { lr: 123 }); // a fresh optimizer, wrong lr until the state is loaded
          opt.loadStateDict(saved);
        }
        params.forEach((p, i) => (p.grad = eddy.tensor(Float32Array.from(grads[i]), p.shape)));
        opt.step();
      });
      return params.map((p) => p.data);
    };
    const straight = run(null);
    const resumed = run(3);
    straight.forEach((p, i) => assert.deepStrictEqual(Array.from(resumed[i]), Array.from(p)));
  });

  // The native updates cut a tensor into chunks of 16 384 elements run
  // across the pool, each chunk's loop vectorized with a scalar tail. Every
  // element's arithmetic must stay the same: a tensor of three chunks gives
  // the same bits on 1 and 3 threads, and its elements the same bits as a
  // small tensor holding only them (whole vectors and tail alike).
  const SPLIT_CASES: [Trajectory['optimizer'], Record<string, unknown>][] = [
    ['SGD', { lr: 0.1, momentum: 0.9, nesterov: true, weightDecay: 0.01 }],
    ['Adam', { lr: 0.01, amsgrad: true, weightDecay: 0.01 }],
    ['AdamW', { lr: 0.01 }],
    ['RMSprop', { lr: 0.01, centered: true, momentum: 0.5 }],
    ['Adagrad', { lr: 0.1, weightDecay: 0.01 }],
  ];
  for (const [name, options] of SPLIT_CASES) {
    it(`${name}(${JSON.stringify(options)}) gives each element the same bits whatever the split and position`, () => {
      const n = 2 * 16384 + 7235;
      const picked = [0, 1, 2, 16383, 16384, 20000, n - 3, n - 2, n - 1];
      const initial = Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.37));
      const gradAt = (step: number, i: number): number => Math.cos(i * 0.11 + step) * (1 + (i % 5));
      const run = (indices: number[] | null, threads: number): Float32Array => {
        const previous = eddy.getNumThreads();
        eddy.setNumThreads(threads);
        try {
          const at = indices ?? Array.from({ length: n }, (_, i) => i);
          const p = eddy.tensor(Float32Array.from(at, (i) => initial[i]), [at.length], { requiresGrad: true });
          const opt = make(name, [p], options);
          for (let step = 0; step < 3; step++) {
            p.grad = eddy.tensor(Float32Array.from(at, (i) => gradAt(step, i)), [at.length]);
            opt.step();
          }
          return p.data;
        } finally {
          eddy.setNumThreads(previous);
        }
      };
      const one = run(null, 1);
      const three = run(null, 3);
      assert.ok(one.some((v, i) => v !== initial[i]), 'the steps changed the parameter');
      assert.deepStrictEqual(new Uint32Array(three.buffer), new Uint32Array(one.buffer), 'bits on 3 threads');
      const alone = run(picked, 1);
      picked.forEach((i, j) => assert.ok(Object.is(alone[j], one[i]), `element ${i}: ${alone[j]} alone, ${one[i]} in the whole tensor`));
    });
  }

  it('skips parameters without gradients and clears them with zeroGrad', () => {
    const a = eddy.tensor([1, 2], [2], { requiresGrad: true });
    const b = eddy.tensor([3, 4], [2], { requiresGrad: true });
    const opt = new eddy.optim.SGD([a, b], { lr: 0.5 });
    a.grad = eddy.tensor([1, 1]);
    opt.step();
    assert.deepStrictEqual(Array.from(a.data), [0.5, 1.5]);
    assert.deepStrictEqual(Array.from(b.data), [3, 4]);
    opt.zeroGrad();
    assert.strictEqual(a.grad, null);
  });

  it('trains a recurrent layer through its Parameters', () => {
    eddy.manualSeed(3);
    const gru = new eddy.GRU({ inputSize: 2, hiddenSize: 4 });
    const opt = new eddy.optim.Adam(gru.parameters(), { lr: 0.05 });
    const x = eddy.tensor(Float32Array.from({ length: 8 * 5 * 2 }, (_, i) => Math.sin(i)), [8, 5, 2]);
    const lossOf = (): Tensor => eddy.mean(eddy.square(eddy.sub(gru.forward(x).output, 0.5)));
    const first = lossOf().item();
    for (let i = 0; i < 60; i++) {
      opt.zeroGrad();
      lossOf().backward();
      opt.step();
    }
    const last = lossOf().item();
    assert.ok(last < first * 0.2, `loss ${first} → ${last}`);
  });

  it('rejects bad hyperparameters and parameters with exact messages', () => {
    const p = eddy.tensor([1], [1], { requiresGrad: true });
    const cases: [() => unknown, string][] = [
      [() => new eddy.optim.SGD([p], { lr: -1 }), 'Expected number >= 0 for lr (in options) but received -1 of type number'],
      [() => new eddy.optim.SGD([p], { nesterov: true }), 'Expected momentum > 0 and dampening 0 for nesterov (in options) but received momentum 0, dampening 0'],
      [() => new eddy.optim.Adam([p], { betas: [0.9, 1] }), 'Expected number in [0, 1) for betas[1] (in options) but received 1 of type number'],
      [() => new eddy.optim.Adam([{ params: [p], lr: NaN }]), 'Expected number >= 0 for lr (in params[0]) but received NaN of type number'],
      [() => new eddy.optim.RMSprop([p], { alpha: 2 }), 'Expected number in [0, 1] for alpha (in options) but received 2 of type number'],
      [() => new eddy.optim.Adagrad([], {}), 'Expected at least one parameter for Adagrad but received none'],
      [() => new eddy.optim.SGD([p, p]), 'Expected each parameter once but received one twice (in group 0)'],
      [() => new eddy.optim.SGD([eddy.mul(p, 2)]), 'Expected a leaf tensor for params[0] but received the output of mul'],
      [() => new eddy.optim.SGD(5 as never), 'Expected an iterable of parameters or parameter groups for params but received 5 of type number'],
    ];
    for (const [fn, message] of cases) {
      assert.throws(fn, (err: unknown) => {
        assert.ok(err instanceof ValidationError, `${message}: got ${(err as Error).message}`);
        assert.strictEqual((err as Error).message, message);
        return true;
      });
    }
  });
});

describe('clipGradNorm against torch.nn.utils.clip_grad_norm_', () => {
  for (const c of FIXTURES.clip) {
    it(`maxNorm ${c.maxNorm}, norm type ${c.normType}`, () => {
      const params = c.grads.map((g) => {
        const p = eddy.tensor(new Float32Array(g.length), [g.length], { requiresGrad: true });
        p.grad = eddy.tensor(Float32Array.from(g));
        return p;
      });
      const total = eddy.clipGradNorm(params, c.maxNorm, { normType: c.normType });
      assert.ok(Math.abs(total - c.totalNorm) <= 1e-6 * Math.max(1, c.totalNorm), `norm ${total} vs ${c.totalNorm}`);
      params.forEach((p, i) => assertClose(p.grad!.data, c.clipped[i], 1e-6, `clipped gradient ${i}`));
    });
  }

  it('clipGradValue clamps each element', () => {
    const p = eddy.tensor([0, 0, 0], [3], { requiresGrad: true });
    p.grad = eddy.tensor([-3, 0.5, 2]);
    eddy.clipGradValue([p], 1);
    assert.deepStrictEqual(Array.from(p.grad.data), [-1, 0.5, 1]);
  });
});
