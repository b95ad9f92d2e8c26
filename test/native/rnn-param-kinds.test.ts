import * as assert from 'assert';
import { binding, RNN_PARAM_KINDS } from '../../lib/native';

describe('recurrent parameter table', () => {
  it('is declared the same on both sides of the binding', () => {
    // The native table (native/recurrent.h) drives parsing and copying of
    // every recurrent call; the TypeScript one drives the layers' parameter
    // lists and the call's types. They must name the same kinds in the same order.
    assert.deepStrictEqual(binding.rnnParamKinds.map((k) => ({ ...k })), RNN_PARAM_KINDS.map((k) => ({ ...k })));
  });
});
