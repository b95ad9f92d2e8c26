/**
 * The native pool's error path: a chunk that fails an allocation must not
 * end its thread (which would terminate the process) nor leave the caller
 * while other chunks still run; the caller gets a ResourceError and the
 * pool keeps working.
 */
import * as assert from 'assert';
import { ResourceError, getNumThreads, setNumThreads } from '../../lib';
import { binding } from '../../lib/native';

describe('native pool', () => {
  const initial = getNumThreads();
  after(() => setNumThreads(initial));

  for (const threads of [1, 2, 4]) {
    it(`turns a failed allocation in any chunk into a ResourceError and stays usable (${threads} threads)`, () => {
      setNumThreads(threads);
      const n = 1000;
      // The first item is in the caller's own chunk, the last in the last
      // worker's, the middle one in between.
      for (const failAt of [0, n / 2, n - 1]) {
        assert.throws(() => binding.parallelProbe(n, failAt), (err: unknown) => {
          assert.ok(err instanceof ResourceError);
          assert.strictEqual(err.code, 'ERR_EDDY_RESOURCE');
          assert.strictEqual(err.message, 'Not enough memory for the thread pool');
          return true;
        });
        // Every chunk still ran to its end before the error was reported.
        assert.strictEqual(binding.parallelProbe(n, -1), n);
      }
    });

    it(`runs every block of parallel_blocks once and reports a failed block as a ResourceError (${threads} threads)`, () => {
      setNumThreads(threads);
      const blocks = 64;
      // Calls back to back: a worker arriving late must not take a block of the next call.
      for (let i = 0; i < 200; i++) assert.strictEqual(binding.parallelBlocksProbe(blocks, -1), blocks);
      for (const failAt of [0, blocks / 2, blocks - 1]) {
        assert.throws(() => binding.parallelBlocksProbe(blocks, failAt), { name: 'ResourceError', message: 'Not enough memory for the thread pool' });
        assert.strictEqual(binding.parallelBlocksProbe(blocks, -1), blocks);
      }
    });
  }

  // A team (parallel_team) meets at a spin barrier once per step of a
  // recurrent time loop: a member that fails must release the others, and
  // a pool smaller than the team asked for must give a smaller team, never
  // a member waiting for a thread that does not exist.
  for (const threads of [1, 2, 4]) {
    it(`runs a team as large as the pool allows and releases it when a member fails (${threads} threads)`, () => {
      setNumThreads(threads);
      for (const asked of [1, 2, 8]) {
        const size = binding.teamProbe(asked, 200, -1, 0);
        assert.strictEqual(size, Math.min(asked, threads), `team asked for ${asked} members on ${threads} threads`);
      }
      // The caller's member (0) and the last one, failing before the first meeting, in the middle and before the last.
      for (const member of [0, threads - 1]) {
        for (const step of [0, 100, 199]) {
          assert.throws(() => binding.teamProbe(threads, 200, member, step), (err: unknown) => {
            assert.ok(err instanceof ResourceError, `member ${member} failing at meeting ${step}`);
            assert.strictEqual(err.message, 'Not enough memory for the thread pool');
            return true;
          });
          assert.strictEqual(binding.teamProbe(threads, 50, -1, 0), threads, 'the pool is usable afterwards');
        }
      }
    });
  }
});
