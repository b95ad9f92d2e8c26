/**
 * Starting an Open MPI job on this machine for benchmarks and tests:
 * loopback only, bounded in time, the whole process group killed when the
 * bound passes.
 */
import { execFileSync, spawn } from 'child_process';

/** The mpirun on PATH, or null. */
export function findMpirun(): string | null {
  try {
    return execFileSync('sh', ['-c', 'command -v mpirun'], { encoding: 'utf8' }).trim() || null;
  } catch {
    return null;
  }
}

/**
 * Flags for a single-machine job in a container, as root:
 * --allow-run-as-root (Open MPI refuses root otherwise); --oversubscribe
 * (more ranks than cores); --bind-to none (the cores are shared with other
 * work); the shared-memory and self transports only (nothing leaves the
 * machine); single-copy off, because containers often forbid
 * process_vm_readv (CMA), which the shared-memory transport uses by default.
 */
export const LOCAL_MPIRUN_FLAGS: readonly string[] = [
  '--allow-run-as-root',
  '--oversubscribe',
  '--bind-to', 'none',
  '--mca', 'btl', 'self,vader',
  '--mca', 'btl_vader_single_copy_mechanism', 'none',
];

export interface MpiResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  seconds: number;
}

/**
 * Runs `node script args…` on `np` local ranks; resolves when mpirun exits, or after `timeoutSeconds` once the job is killed.
 * `bind` replaces `--bind-to none` (e.g. `core`: each rank on a core of its own, Open MPI's default for 2 ranks).
 */
export function runLocalJob(mpirun: string, np: number, script: string, args: readonly string[], timeoutSeconds: number, bind = 'none'): Promise<MpiResult> {
  const started = performance.now();
  const flags = LOCAL_MPIRUN_FLAGS.map((f, i) => (i > 0 && LOCAL_MPIRUN_FLAGS[i - 1] === '--bind-to' ? bind : f));
  const child = spawn(mpirun, [...flags, '-np', String(np), process.execPath, script, ...args], { detached: true });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const timer = setTimeout(() => {
    try {
      process.kill(-(child.pid as number), 'SIGKILL');
    } catch {
      // already gone
    }
  }, timeoutSeconds * 1000);
  return new Promise((resolve) => {
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, seconds: (performance.now() - started) / 1000 });
    });
  });
}
