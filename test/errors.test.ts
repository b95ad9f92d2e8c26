/**
 * The error contract: every class in lib/errors.ts has an ERR_EDDY_* code,
 * every code is listed in the README, system errors keep their cause, and
 * uncoded native errors are coded.
 */
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import * as errors from '../lib/errors';
import { NativeBinding, withCodedErrors } from '../lib/native';

const README = fs.readFileSync(path.join(__dirname, '../../README.md'), 'utf8');

describe('errors: one contract', () => {
  const classes = Object.entries(errors).filter(([, v]) => typeof v === 'function' && (v === errors.EddyError || v.prototype instanceof errors.EddyError)) as [string, new (...a: never[]) => errors.EddyError][];

  it('every error class has an ERR_EDDY_* code listed with it in the README', () => {
    const make: Record<string, () => errors.EddyError> = {
      ParseError: () => new errors.ParseError('CSV', 'f', 1, 1, 'x'),
      FileError: () => new errors.FileError('x', 'f', new Error('x')),
      NativeArgumentError: () => new errors.NativeArgumentError('x', new RangeError('x')),
      UnknownOptionError: () => new errors.UnknownOptionError('x', 'k', undefined),
    };
    for (const [name, Class] of classes.filter(([n]) => n !== 'EddyError')) {
      const err = make[name]?.() ?? new (Class as unknown as new (m: string) => errors.EddyError)('x');
      assert.match(err.code, /^ERR_EDDY_[A-Z_]+$/, name);
      assert.strictEqual(err.name, name === 'AbortError' ? 'AbortError' : name);
      assert.ok(README.includes(`| \`${name}\` | \`${err.code}\` |`), `README lists ${name} with ${err.code}`);
    }
  });

  it('fileError wraps system errors with the path and keeps the original as cause', () => {
    let raw: unknown;
    try {
      fs.readFileSync('/nonexistent/eddy');
    } catch (e) {
      raw = e;
    }
    const err = errors.fileError(raw, '/nonexistent/eddy') as errors.FileError;
    assert.ok(err instanceof errors.FileError);
    assert.deepStrictEqual([err.code, err.systemCode, err.path, err.cause], ['ERR_EDDY_FILE', 'ENOENT', '/nonexistent/eddy', raw]);
    assert.strictEqual(err.message, 'Cannot read "/nonexistent/eddy": no such file or directory (ENOENT)');
    const other = new Error('not a system error');
    assert.strictEqual(errors.fileError(other, 'x'), other);
  });

  it('uncoded RangeErrors and TypeErrors from the binding become NativeArgumentErrors, thrown or rejected', async () => {
    const raw = {
      sync: () => {
        throw new RangeError('Expected integer in range for n');
      },
      async: () => Promise.reject(new TypeError('Expected a Float32Array for x')),
      coded: () => {
        throw Object.assign(new RangeError('already coded'), { code: 'ERR_X' });
      },
      value: 3,
    } as unknown as NativeBinding;
    const b = withCodedErrors(raw) as unknown as Record<string, () => unknown>;
    assert.throws(() => b.sync(), { name: 'NativeArgumentError', code: 'ERR_EDDY_NATIVE_ARGUMENT', message: 'Expected integer in range for n (in the native sync)' });
    await assert.rejects(b.async() as Promise<unknown>, { code: 'ERR_EDDY_NATIVE_ARGUMENT', message: 'Expected a Float32Array for x (in the native async)' });
    assert.throws(() => b.coded(), { code: 'ERR_X' });
    assert.strictEqual((b as unknown as { value: number }).value, 3);
  });
});
