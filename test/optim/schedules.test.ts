/**
 * Learning-rate schedules against torch.optim.lr_scheduler: test/fixtures/losses/schedules.json
 * holds PyTorch's lr (and momentum) trajectories (scripts/make-loss-fixtures.py).
 */
import * as assert from 'assert';
import * as eddy from '../../lib';
import { Tensor, ValidationError } from '../../lib';
import { LRScheduler, LrGroup, LrTarget } from '../../lib/optim/schedules';
import { loadCases, throwsExactly } from '../losses/fixtures';

const TOL = 1e-9;
const { StepLR, ExponentialLR, CosineAnnealingLR, CosineAnnealingWarmRestarts, OneCycleLR, LinearLR, LinearWarmup, ReduceLROnPlateau } = eddy.optim;

interface ScheduleCase {
  name: string;
  type: string;
  options: Record<string, unknown>;
  optimizer: 'sgd' | 'adam';
  lrs0: number[];
  lrs: number[][];
  momenta?: number[][] | null;
  epochs?: number[];
  metrics?: number[];
}

type Scheduler = LRScheduler & { step(arg?: number): void };

function target(kind: 'sgd' | 'adam', lrs: number[]): LrTarget {
  return { paramGroups: lrs.map((lr): LrGroup => (kind === 'adam' ? { lr, betas: [0.9, 0.999] } : { lr, momentum: 0.9 })) };
}

function make(type: string, opt: LrTarget, options: Record<string, unknown>): Scheduler {
  const ctor = { StepLR, ExponentialLR, CosineAnnealingLR, CosineAnnealingWarmRestarts, OneCycleLR, LinearLR, ReduceLROnPlateau }[type];
  assert.ok(ctor, `unknown schedule ${type}`);
  return new (ctor as unknown as new (o: LrTarget, opts: unknown) => Scheduler)(opt, options);
}

/** The argument of the i-th step() of a case: an epoch, a metric, or nothing. */
function stepArg(c: ScheduleCase, i: number): number | undefined {
  return c.epochs ? c.epochs[i] : c.metrics ? c.metrics[i] : undefined;
}

function momenta(opt: LrTarget): number[] {
  return opt.paramGroups.map((g) => (g.betas ? g.betas[0] : (g.momentum as number)));
}

/** Largest |a - b| / |b| (absolute below 1e-12), asserting it is within tol. */
function compare(actual: number[], expected: number[], what: string): number {
  let worst = 0;
  actual.forEach((a, i) => {
    const d = Math.abs(a - expected[i]) / Math.max(Math.abs(expected[i]), 1e-12);
    assert.ok(d <= TOL, `${what}[${i}]: ${a} vs PyTorch ${expected[i]} (relative difference ${d.toExponential(2)} > ${TOL})`);
    worst = Math.max(worst, d);
  });
  return worst;
}

describe('optim: learning-rate schedules', () => {
  it('follow PyTorch trajectories step for step, including edge settings', function () {
    const cases = loadCases<ScheduleCase>(this, 'schedules.json');
    let worst = 0;
    for (const c of cases) {
      const opt = target(c.optimizer, c.lrs0);
      const s = make(c.type, opt, c.options);
      worst = Math.max(worst, compare(s.getLastLr(), c.lrs[0], `${c.name} step 0`));
      if (c.momenta) worst = Math.max(worst, compare(momenta(opt), c.momenta[0], `${c.name} momentum 0`));
      for (let i = 1; i < c.lrs.length; i++) {
        s.step(stepArg(c, i - 1));
        worst = Math.max(worst, compare(s.getLastLr(), c.lrs[i], `${c.name} step ${i}`));
        assert.deepStrictEqual(opt.paramGroups.map((g) => g.lr), s.getLastLr());
        if (c.momenta) worst = Math.max(worst, compare(momenta(opt), c.momenta[i], `${c.name} momentum ${i}`));
      }
    }
    console.log(`      ${cases.length} schedules: largest relative difference ${worst.toExponential(2)} (tolerance 1e-9)`);
  });

  it('resume exactly from a JSON round trip of stateDict()', function () {
    const cases = loadCases<ScheduleCase>(this, 'schedules.json');
    for (const c of cases) {
      const steps = c.lrs.length - 1;
      const whole = make(c.type, target(c.optimizer, c.lrs0), c.options);
      const first = make(c.type, target(c.optimizer, c.lrs0), c.options);
      const expected: number[][] = [];
      for (let i = 0; i < steps; i++) {
        whole.step(stepArg(c, i));
        expected.push(whole.getLastLr());
        if (i < 13) first.step(stepArg(c, i));
      }
      const saved = JSON.parse(JSON.stringify(first.stateDict()));
      // A fresh optimizer whose lrs were not restored: the schedule state alone must suffice.
      const opt = target(c.optimizer, c.lrs0);
      const resumed = make(c.type, opt, c.options);
      resumed.loadStateDict(saved);
      assert.deepStrictEqual(resumed.getLastLr(), expected[12], c.name);
      for (let i = 13; i < steps; i++) {
        resumed.step(stepArg(c, i));
        assert.deepStrictEqual(resumed.getLastLr(), expected[i], `${c.name}: step ${i + 1} after resuming`);
      }
      assert.strictEqual(resumed.lastEpoch, whole.lastEpoch);
    }
  });

  it('agree with hand-computed values', () => {
    const lrs = (s: { step(): void; getLastLr(): number[] }, n: number): number[] =>
      Array.from({ length: n }, (_, i) => {
        if (i > 0) s.step();
        return s.getLastLr()[0];
      });
    assert.deepStrictEqual(lrs(new StepLR(target('sgd', [1]), { stepSize: 2 }), 5), [1, 1, 0.1, 0.1, 0.010000000000000002]);
    assert.deepStrictEqual(lrs(new ExponentialLR(target('sgd', [2]), { gamma: 0.5 }), 4), [2, 1, 0.5, 0.25]);
    const cos = lrs(new CosineAnnealingLR(target('sgd', [1]), { tMax: 4, etaMin: 0.2 }), 9);
    assert.ok(Math.abs(cos[2] - 0.6) < 1e-15 && cos[4] === 0.2 && Math.abs(cos[8] - 1) < 1e-15, String(cos));
    assert.deepStrictEqual(lrs(new LinearWarmup(target('sgd', [0.3]), { startFactor: 0.5, totalIters: 2 }), 4), [0.15, 0.22499999999999998, 0.3, 0.3]);
    // OneCycle: starts at maxLr / 25, peaks at maxLr after pctStart·totalSteps - 1 steps, ends at step totalSteps - 1
    // at maxLr / 25 / 1e4, halfway down at the middle of the second phase.
    const one = lrs(new OneCycleLR(target('sgd', [0]), { maxLr: 1, totalSteps: 11, pctStart: 0.2 / 1.1 }), 12);
    const near = (a: number, b: number): boolean => Math.abs(a - b) < 1e-12;
    assert.ok(near(one[0], 0.04) && near(one[1], 1) && near(one[10], 4e-6) && near(one[5], (1 + 4e-6) / 2 + (1 - 4e-6) / 2 * Math.cos(Math.PI * 4 / 9)), String(one));
  });

  it('drive Eddy optimizers: lr, initialLr, momentum and betas', () => {
    const p = eddy.tensor([1, 2], undefined, { requiresGrad: true });
    const sgd = new eddy.optim.SGD([p], { lr: 0.1, momentum: 0.5 });
    const step = new StepLR(sgd, { stepSize: 1, gamma: 0.5 });
    step.step();
    assert.strictEqual(sgd.paramGroups[0].lr, 0.05);
    assert.strictEqual(sgd.paramGroups[0].initialLr, 0.1);
    const one = new OneCycleLR(sgd, { maxLr: 1, totalSteps: 10 });
    assert.ok(Math.abs(sgd.paramGroups[0].lr - 0.04) < 1e-15);
    assert.strictEqual(sgd.paramGroups[0].initialLr, 0.04);
    assert.strictEqual(sgd.paramGroups[0].momentum, 0.95);
    one.step();
    assert.ok(sgd.paramGroups[0].momentum < 0.95);
    const adam = new eddy.optim.Adam([eddy.tensor([1], undefined, { requiresGrad: true })], { lr: 0.1 });
    new OneCycleLR(adam, { maxLr: 1, totalSteps: 10 }).step();
    assert.ok(adam.paramGroups[0].betas[0] < 0.95 && adam.paramGroups[0].betas[1] === 0.999);
    const plateau = new ReduceLROnPlateau(adam, { patience: 0 });
    plateau.step(eddy.tensor([1]));
    plateau.step(2);
    assert.strictEqual(adam.paramGroups[0].lr, plateau.getLastLr()[0]);
  });

  it('reject bad arguments with exact messages', () => {
    const opt = (): LrTarget => target('sgd', [0.1]);
    throwsExactly(() => new StepLR({} as never, { stepSize: 1 }), ValidationError, 'Expected an optimizer with paramGroups (a non-empty array of { lr }) for optimizer but received an object');
    throwsExactly(() => new StepLR({ paramGroups: [{ lr: -1 }] }, { stepSize: 1 }), ValidationError, 'Expected number >= 0 for optimizer.paramGroups[0].lr but received -1 of type number');
    throwsExactly(() => new StepLR(opt(), { stepSize: 0 }), ValidationError, 'Expected positive integer for opts.stepSize but received 0 of type number');
    throwsExactly(() => new ExponentialLR(opt(), {} as never), ValidationError, 'Expected number >= 0 for opts.gamma but received undefined');
    throwsExactly(() => new CosineAnnealingLR(opt(), { tMax: 2.5 }), ValidationError, 'Expected positive integer for opts.tMax but received 2.5 of type number');
    throwsExactly(() => new CosineAnnealingWarmRestarts(opt(), { t0: 2, tMult: 0 }), ValidationError, 'Expected positive integer for opts.tMult but received 0 of type number');
    throwsExactly(() => new CosineAnnealingWarmRestarts(opt(), { t0: 2 }).step(-1), ValidationError, 'Expected number >= 0 for epoch but received -1 of type number');
    throwsExactly(() => new LinearLR(opt(), { startFactor: 0 }), ValidationError, 'Expected number in (0, 1] for opts.startFactor but received 0 of type number');
    throwsExactly(() => new OneCycleLR(opt(), { maxLr: 1 }), ValidationError, 'Expected opts.totalSteps, or opts.epochs and opts.stepsPerEpoch, for OneCycleLR but received undefined');
    throwsExactly(() => new OneCycleLR(opt(), { maxLr: [1, 2], totalSteps: 5 }), ValidationError, 'Expected number or array of 1 numbers (one per parameter group) for opts.maxLr but received an array of length 2');
    throwsExactly(() => new OneCycleLR(opt(), { maxLr: 1, totalSteps: 10, pctStart: 0.1 }), ValidationError, 'Expected phases of non-zero length for OneCycleLR but phase 1 starts and ends at step 0 (pctStart=0.1, totalSteps=10)');
    throwsExactly(
      () => new OneCycleLR({ paramGroups: [{ lr: 0.1 }] }, { maxLr: 1, totalSteps: 10 }),
      ValidationError,
      'Expected parameter groups with momentum or betas for OneCycleLR with cycleMomentum (pass cycleMomentum: false otherwise) but optimizer.paramGroups[0] has neither',
    );
    const one = new OneCycleLR(opt(), { maxLr: 1, totalSteps: 2 });
    one.step();
    one.step();
    throwsExactly(() => one.step(), ValidationError, 'Expected at most 2 steps (opts.totalSteps) for OneCycleLR but received step 3');
    throwsExactly(() => new ReduceLROnPlateau(opt(), { factor: 1 }), ValidationError, 'Expected number in [0, 1) for opts.factor but received 1 of type number');
    throwsExactly(() => new ReduceLROnPlateau(opt(), { mode: 'lowest' as never }), ValidationError, `Expected one of 'min', 'max' for opts.mode but received "lowest" of type string`);
    throwsExactly(() => new ReduceLROnPlateau(opt()).step('0.5' as never), ValidationError, 'Expected number or one-element Tensor for metric but received "0.5" of type string');
    throwsExactly(() => new ReduceLROnPlateau(opt()).step(eddy.zeros([2]) as Tensor), ValidationError, 'Expected number or one-element Tensor for metric but received an instance of Tensor');
    const state = new StepLR(opt(), { stepSize: 1 }).stateDict();
    throwsExactly(() => new ExponentialLR(opt(), { gamma: 0.5 }).loadStateDict(state), ValidationError, 'Expected a state dict of ExponentialLR for state but received one of StepLR');
    throwsExactly(() => new StepLR(target('sgd', [0.1, 0.2]), { stepSize: 1 }).loadStateDict(state), ValidationError, 'Expected an array of 2 numbers (one per parameter group) for state.baseLrs but received an array of length 1');
  });
});
