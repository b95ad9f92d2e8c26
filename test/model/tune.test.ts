import * as assert from 'assert';
import * as eddy from '../../lib';

describe('tune', () => {
  it('runs the grid in a stable order, the last name varying fastest', async () => {
    const seen: unknown[] = [];
    const result = await eddy.tune({
      space: { lr: [0.1, 0.01], hidden: [8, 16, 32] },
      objective: (p, { trial }) => {
        seen.push([trial, p.lr, p.hidden]);
        return p.lr * p.hidden;
      },
    });
    assert.deepStrictEqual(seen, [[0, 0.1, 8], [1, 0.1, 16], [2, 0.1, 32], [3, 0.01, 8], [4, 0.01, 16], [5, 0.01, 32]]);
    assert.strictEqual(result.trials.length, 6);
    assert.deepStrictEqual(result.best, { params: { lr: 0.01, hidden: 8 }, score: 0.08, trial: 3 });
    // `trials` caps a grid at its first combinations.
    const capped = await eddy.tune({ space: { a: [1, 2, 3], b: ['x', 'y'] }, trials: 4, objective: (p) => p.a });
    assert.deepStrictEqual(capped.trials.map((t) => [t.trial, t.params]), [[0, { a: 1, b: 'x' }], [1, { a: 1, b: 'y' }], [2, { a: 2, b: 'x' }], [3, { a: 2, b: 'y' }]]);
    const all = await eddy.tune({ space: { a: [1, 2] }, trials: 10, objective: (p) => p.a });
    assert.strictEqual(all.trials.length, 2);
  });

  it('ranks by score, lowest first, ties in running order, and times every trial', async () => {
    const scores = [3, -1, 2, -1, 0];
    const result = await eddy.tune({ space: { i: [0, 1, 2, 3, 4] }, objective: async (p) => scores[p.i] });
    assert.deepStrictEqual(result.trials.map((t) => [t.trial, t.score]), [[1, -1], [3, -1], [4, 0], [2, 2], [0, 3]]);
    assert.deepStrictEqual(result.best, { params: { i: 1 }, score: -1, trial: 1 });
    for (const t of result.trials) assert.ok(t.durationMs >= 0 && Number.isFinite(t.durationMs));
  });

  it('draws random combinations reproducibly from the seed, without repeats while the space allows', async () => {
    const space = { a: [1, 2, 3, 4], b: [10, 20, 30], c: ['p', 'q'] };
    const run = async (seed: number, trials: number) => {
      const order: string[] = [];
      const draws: number[] = [];
      await eddy.tune({
        space,
        strategy: 'random',
        trials,
        seed,
        objective: (p, { generator }) => {
          order.push(`${p.a}${p.b}${p.c}`);
          draws.push(generator.next());
          return 0;
        },
      });
      return { order, draws };
    };
    const first = await run(42, 24);
    assert.deepStrictEqual(await run(42, 24), first, 'same seed, same draws and same per-trial generators');
    assert.strictEqual(new Set(first.order).size, 24, 'all 24 combinations, none repeated');
    assert.notDeepStrictEqual((await run(43, 24)).order, first.order);
    // A trial's generator depends on the seed and its index only.
    const short = await run(42, 3);
    assert.deepStrictEqual(short.draws, first.draws.slice(0, 3));
    assert.deepStrictEqual(short.order, first.order.slice(0, 3));
    assert.strictEqual(new Set(first.draws).size, 24);
    // More trials than combinations: a second round starts only after the first is complete.
    const more = await run(7, 30);
    assert.strictEqual(new Set(more.order.slice(0, 24)).size, 24);
    assert.strictEqual(new Set(more.order.slice(24)).size, 6);
  });

  it('records failed trials with score NaN and the reason, ranked last', async () => {
    const ended: eddy.TrialResult<unknown>[] = [];
    const result = await eddy.tune({
      space: { mode: ['throw', 'nan', 'string', 'ok', 'reject'] },
      objective: async (p) => {
        if (p.mode === 'throw') throw new eddy.ValidationError('Expected positive integer for hiddenSize but received 0 of type number');
        if (p.mode === 'reject') return Promise.reject('plain rejection');
        if (p.mode === 'nan') return NaN;
        if (p.mode === 'string') return '0.5' as unknown as number;
        return 1.5;
      },
      onTrialEnd: (r) => void ended.push(r),
    });
    assert.deepStrictEqual(ended.map((r) => r.trial), [0, 1, 2, 3, 4]);
    assert.deepStrictEqual(result.best, { params: { mode: 'ok' }, score: 1.5, trial: 3 });
    assert.deepStrictEqual(
      result.trials.map((t) => [t.trial, t.score, t.error]),
      [
        [3, 1.5, undefined],
        [0, NaN, 'Expected positive integer for hiddenSize but received 0 of type number'],
        [1, NaN, 'Expected a finite number from objective but received NaN of type number'],
        [2, NaN, 'Expected a finite number from objective but received "0.5" of type string'],
        [4, NaN, 'plain rejection'],
      ],
    );
    assert.ok(!('error' in result.trials[0]));
    await assert.rejects(eddy.tune({ space: { a: [1, 2] }, objective: () => Infinity }), {
      name: 'EddyError',
      code: 'ERR_EDDY_TUNE',
      message: 'All 2 trials failed; trial 0: Expected a finite number from objective but received Infinity of type number',
    });
  });

  it('stops between trials when aborted, with an AbortError', async () => {
    const controller = new AbortController();
    const ran: number[] = [];
    const run = eddy.tune({
      space: { a: [1, 2, 3, 4] },
      signal: controller.signal,
      objective: async (p, { trial, signal }) => {
        assert.strictEqual(signal, controller.signal);
        ran.push(trial);
        await new Promise((resolve) => setImmediate(resolve));
        return p.a;
      },
      onTrialEnd: (r) => {
        if (r.trial === 1) controller.abort(new Error('deadline'));
      },
    });
    await assert.rejects(run, { name: 'AbortError', code: 'ERR_EDDY_ABORTED', message: 'Tuning was aborted: deadline' });
    assert.deepStrictEqual(ran, [0, 1]);
    const pre = new AbortController();
    pre.abort();
    let called = false;
    await assert.rejects(eddy.tune({ space: { a: [1] }, signal: pre.signal, objective: () => ((called = true), 0) }), { name: 'AbortError', message: 'Tuning was aborted: This operation was aborted' });
    assert.strictEqual(called, false);
    // Aborted during a trial (its fit rejected through the same signal): the search ends, the trial is not counted as failed.
    const mid = new AbortController();
    await assert.rejects(
      eddy.tune({
        space: { a: [1, 2] },
        signal: mid.signal,
        objective: () => {
          mid.abort('stop');
          throw new eddy.AbortError();
        },
      }),
      { name: 'AbortError', message: 'Tuning was aborted' },
    );
  });

  it('rejects bad options with exact messages', async () => {
    const objective = (): number => 0;
    await assert.rejects(eddy.tune({ space: {}, objective }), { name: 'ValidationError', message: 'Expected a non-empty object of choice arrays for space but received an object' });
    await assert.rejects(eddy.tune({ space: { lr: [] }, objective }), { message: 'Expected a non-empty array of choices for space.lr but received an array of length 0' });
    await assert.rejects(eddy.tune({ space: { lr: 0.1 } as never, objective }), { message: 'Expected a non-empty array of choices for space.lr but received 0.1 of type number' });
    await assert.rejects(eddy.tune({ space: { lr: [1] }, strategy: 'random', objective }), { message: 'Expected positive integer for trials but received undefined' });
    await assert.rejects(eddy.tune({ space: { lr: [1] }, strategy: 'bayes' as never, objective }), { message: `Expected one of 'grid', 'random' for strategy but received "bayes" of type string` });
    await assert.rejects(eddy.tune({ space: { lr: [1] }, trials: 0, objective }), { message: 'Expected positive integer for trials but received 0 of type number' });
    await assert.rejects(eddy.tune({ space: { lr: [1] }, seed: -1, objective }), { message: 'Expected integer between 0 and 9007199254740991 for seed but received -1 of type number' });
    await assert.rejects(eddy.tune({ space: { lr: [1] }, objective: 'fit' as never }), { message: 'Expected a function for objective but received "fit" of type string' });
    await assert.rejects(eddy.tune({ space: { lr: [1] }, objective, signal: {} as never }), { message: 'Expected an AbortSignal for signal but received an object' });
    await assert.rejects(eddy.tune({ space: { lr: [1] }, objective, onTrialEnd: 1 as never }), { message: 'Expected a function for onTrialEnd but received 1 of type number' });
  });

  it('picks the better learning rate for a small model trained with fit', async () => {
    // y = 3x − 1 + noise: a Linear layer fits it; 1e-4 barely moves in 20 epochs, 0.1 converges.
    const g = new eddy.Generator(1);
    const x = g.uniform(new Float32Array(64), -1, 1);
    const noise = g.normal(new Float32Array(64), 0, 0.01);
    const data = { x: eddy.tensor(x, [64, 1]), y: eddy.tensor(x.map((v, i) => 3 * v - 1 + noise[i]), [64, 1]) };
    const train = async (lr: number, generator: eddy.Generator): Promise<number> => {
      const model = eddy.sequential([new eddy.Linear({ inFeatures: 1, outFeatures: 1, generator })]);
      await model.fit(data, { epochs: 20, batchSize: 16, loss: 'mse', optimizer: new eddy.optim.SGD(model.parameters(), { lr }), generator });
      return (await model.evaluate(data, { loss: 'mse' })).loss;
    };
    const result = await eddy.tune({ space: { lr: [1e-4, 0.1] }, objective: (p, { generator }) => train(p.lr, generator), seed: 5 });
    assert.strictEqual(result.best.params.lr, 0.1);
    assert.ok(result.best.score < 0.01, `best loss ${result.best.score}`);
    assert.ok(result.trials[1].score > 1, `worse loss ${result.trials[1].score}`);
    // Reproducible: the same seed trains the same models.
    const again = await eddy.tune({ space: { lr: [1e-4, 0.1] }, objective: (p, { generator }) => train(p.lr, generator), seed: 5 });
    assert.deepStrictEqual(again.trials.map((t) => t.score), result.trials.map((t) => t.score));
  });
});
