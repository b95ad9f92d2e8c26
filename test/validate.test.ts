/**
 * The options contract: checkOptions refuses unknown keys and suggests the
 * closest known one; closestKey's rules; quote cuts long values.
 */
import * as assert from 'assert';
import * as eddy from '../lib';
import { checkGenerator, checkOptions, closestKey, optionKeys, quote } from '../lib/validate';

describe('validate: the options contract', () => {
  it('closestKey finds case and underscore variants, aliases and near misses, and nothing for unrelated keys', () => {
    const fit = ['epochs', 'batchSize', 'validationSplit', 'callbacks', 'lr'];
    assert.strictEqual(closestKey('batch_size', fit), 'batchSize');
    assert.strictEqual(closestKey('BATCHSIZE', fit), 'batchSize');
    assert.strictEqual(closestKey('epoch', fit), 'epochs');
    assert.strictEqual(closestKey('learning_rate', fit), 'lr');
    assert.strictEqual(closestKey('learningRate', fit), 'lr');
    assert.strictEqual(closestKey('nb_epoch', fit), 'epochs');
    assert.strictEqual(closestKey('calbacks', fit), 'callbacks');
    assert.strictEqual(closestKey('shuffle', fit), undefined);
    // Two letters may not be two edits away from everything.
    assert.strictEqual(closestKey('ab', ['lr']), undefined);
  });

  it('checkOptions accepts known keys and undefined, and names an unknown key with a hint', () => {
    const known = optionKeys<{ numLayers?: number; hiddenSize: number }>({ numLayers: true, hiddenSize: true });
    assert.deepStrictEqual(known, ['numLayers', 'hiddenSize']);
    assert.deepStrictEqual(checkOptions('options', undefined, known), {});
    assert.deepStrictEqual(checkOptions('options', { hiddenSize: 3 }, known), { hiddenSize: 3 });
    assert.throws(() => checkOptions('options', { hiddenSize: 3, numlayers: 2 } as never, known), {
      name: 'UnknownOptionError',
      code: 'ERR_EDDY_VALIDATION',
      key: 'numlayers',
      suggestion: 'numLayers',
      message: 'Expected a known option for options.numlayers but received 2 of type number; did you mean numLayers?',
    });
    assert.throws(() => checkOptions('options', { 'odd key': 1 } as never, known), {
      message: 'Expected a known option for options["odd key"] but received 1 of type number; known options are numLayers, hiddenSize',
    });
    // An unknown key is refused even when its value is undefined: the caller still misspelled it.
    assert.throws(() => checkOptions('options', { hidenSize: undefined } as never, known), eddy.UnknownOptionError);
    assert.throws(() => checkOptions('options', 'x' as never, known), { message: 'Expected an options object for options but received "x" of type string' });
  });

  it('checkGenerator defaults to the global generator and refuses other values', () => {
    const g = new eddy.Generator(1);
    assert.strictEqual(checkGenerator('generator', g), g);
    assert.ok(checkGenerator('generator', undefined) instanceof eddy.Generator);
    assert.throws(() => checkGenerator('generator', Math.random), { message: 'Expected an eddy Generator for generator but received a function' });
  });

  it('quote keeps short strings and cuts long ones with their length', () => {
    assert.strictEqual(quote('abc'), '"abc"');
    assert.strictEqual(quote('x'.repeat(100), 10), '"xxxxxxxxxx…" (100 characters)');
    assert.strictEqual(quote(undefined), 'undefined');
  });
});
