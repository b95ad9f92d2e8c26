/**
 * The C heap's policy for large blocks (native/heap.cc), chosen when the
 * native module first loads; `runtimeInfo().heap` reports it.
 */
import { binding } from '../native';

// An EDDY_HEAP value the native side did not know leaves the policy alone;
// say so once, from the thread that chose it.
const asked = process.env.EDDY_HEAP;
if (binding.firstLoad && asked && asked !== 'retain' && asked !== 'system' && binding.runtimeInfo().heap === 'unknown-setting') {
  process.emitWarning(
    `Expected retain or system for EDDY_HEAP but received ${JSON.stringify(asked)}; the C heap keeps the system's policy`,
    { code: 'EDDY_HEAP' },
  );
}
