/**
 * The C heap's policy for large blocks (native/heap.cc), chosen when the
 * native module first loads; `runtimeInfo().heap` reports it.
 */
import { binding } from '../native';

// An EDDY_HEAP value the native side did not know leaves the policy alone;
// say so once, from the thread that chose it.
if (binding.firstLoad && binding.runtimeInfo().heap === 'unknown-setting') {
  process.emitWarning(
    `Expected retain or system for EDDY_HEAP but received ${JSON.stringify(process.env.EDDY_HEAP)}; the C heap keeps the system's policy`,
    { code: 'EDDY_HEAP' },
  );
}
