/**
 * Running test workers under Open MPI's mpirun: loopback only, bounded in
 * time, the whole process group killed when the bound passes. Tests skip
 * (with a message saying what to install) when mpirun is missing.
 */
import { execFileSync, spawn } from 'child_process';
import * as path from 'path';

function findMpirun(): string | null {
  try {
    return execFileSync('sh', ['-c', 'command -v mpirun'], { encoding: 'utf8' }).trim() || null;
  } catch {
    return null;
  }
}

export const MPIRUN = findMpirun();

/**
 * Flags for a single-machine job in a container, as root:
 * --allow-run-as-root (Open MPI refuses root otherwise); --oversubscribe
 * (more ranks than cores); --bind-to none (the cores are shared);
 * shared memory and self transports only, and the runtime's own channel on
 * loopback; single-copy off because containers often forbid
 * process_vm_readv (CMA), which the shared-memory transport uses by default.
 */
export const MPIRUN_FLAGS = [
  '--allow-run-as-root',
  '--oversubscribe',
  '--bind-to', 'none',
  '--mca', 'btl', 'self,vader',
  '--mca', 'btl_vader_single_copy_mechanism', 'none',
  '--mca', 'oob_tcp_if_include', 'lo',
];

export interface MpiResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  seconds: number;
}

export const WORKERS = path.join(__dirname, 'workers');

/** Runs `node workers/<script>.js args…` on `np` ranks; resolves when mpirun exits or after `timeoutSeconds` (then the job is killed). */
export function mpirun(np: number, script: string, args: string[], timeoutSeconds: number): Promise<MpiResult> {
  if (!MPIRUN) throw new Error('mpirun is not installed');
  const started = performance.now();
  const child = spawn(MPIRUN, [...MPIRUN_FLAGS, '-np', String(np), process.execPath, path.join(WORKERS, `${script}.js`), ...args], {
    detached: true,
  });
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

/** `describe` for tests that need mpirun: without it, one visibly skipped test says why. */
export function describeWithMpi(title: string, body: () => void): void {
  if (MPIRUN) {
    describe(title, body);
    return;
  }
  describe(title, () => {
    it('needs mpirun (install Open MPI: apt-get install -y openmpi-bin libopenmpi-dev)', function () {
      console.log('    distributed tests skipped: mpirun not found (apt-get install -y openmpi-bin libopenmpi-dev)');
      this.skip();
    });
  });
}
