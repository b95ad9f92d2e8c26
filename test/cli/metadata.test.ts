import * as assert from 'assert';
import { readMetadata, writeMetadata } from '../../lib/cli/metadata';

describe('eddy CLI metadata keys', () => {
  it('reads the current keys and ignores other metadata', () => {
    const m = readMetadata({ task: 'forecast', inputSteps: '26', scaler: '{}', column: 'co2', 'eddy.kind': 'model', note: 'mine' });
    assert.deepStrictEqual(m, { task: 'forecast', inputSteps: '26', scaler: '{}', column: 'co2' });
  });

  it('reads checkpoints written with the earlier keys cli_config and cli_history', () => {
    assert.deepStrictEqual(readMetadata({ task: 'text', cli_config: '{"a":1}', cli_history: '{"b":2}' }), { task: 'text', trainConfig: '{"a":1}', trainHistory: '{"b":2}' });
  });

  it('prefers the current key when a file has both spellings', () => {
    assert.deepStrictEqual(readMetadata({ trainConfig: 'new', cli_config: 'old' }), { trainConfig: 'new' });
  });

  it('reads own keys only, not inherited ones', () => {
    assert.deepStrictEqual(readMetadata(Object.create({ task: 'text', cli_config: '{}' }) as Record<string, string>), {});
  });

  it('writes the current keys and leaves out undefined fields', () => {
    assert.deepStrictEqual(writeMetadata({ task: 'classify', labels: '[]', maxLength: '200', scaler: undefined }), { task: 'classify', labels: '[]', maxLength: '200' });
    assert.deepStrictEqual(Object.keys(writeMetadata({ trainHistory: 'h', trainConfig: 'c' })), ['trainConfig', 'trainHistory']);
  });
});
