import * as assert from 'assert';
import { COMMON_DEFAULTS, checkConfig, TrainConfig } from '../../lib/cli/config';
import { loadTask, TASKS, taskHelp } from '../../lib/cli/train';

describe('eddy train dispatcher', () => {
  it('every task in the table loads with its defaults, train and evaluate, and its defaults pass the checks', async () => {
    assert.deepStrictEqual(Object.keys(TASKS), ['text', 'forecast', 'classify']);
    for (const name of Object.keys(TASKS)) {
      const task = await loadTask(name);
      assert.strictEqual(typeof task.train, 'function', name);
      assert.strictEqual(typeof task.evaluate, 'function', name);
      const c: TrainConfig = { ...COMMON_DEFAULTS, ...task.defaults, task: name };
      assert.doesNotThrow(() => checkConfig(c), name);
    }
  });

  it('the --task help lists the tasks in order', () => {
    assert.strictEqual(taskHelp(), 'text (next-character model), forecast (time series) or classify (labelled texts: CSV text,label or JSONL; default: dialogue vs narration in the bundled novel)');
  });

  it('an unknown task is refused with the --task message, also for names on Object.prototype', () => {
    for (const name of ['speech', 'constructor', '__proto__']) {
      assert.throws(() => loadTask(name), { name: 'ValidationError', message: `Expected one of text, forecast, classify for --task but received ${JSON.stringify(name)}` });
    }
  });
});
