/**
 * CPU time per thread of this process, for the distributed benchmark: on a
 * machine with as many ranks as cores, every millisecond a rank spends
 * outside its kernel thread is taken from the other rank, so the benchmark
 * reports where each rank's CPU went, not only the wall time.
 * Linux only (`/proc/self/task/<tid>/schedstat`, nanoseconds on the CPU);
 * elsewhere the snapshots are empty and every figure is 0.
 */
import * as fs from 'fs';

/** Nanoseconds each thread of this process has run, by thread id, the threads' names, and the process's minor page faults. */
export interface CpuSnapshot {
  ns: Map<number, number>;
  names: Map<number, string>;
  faults: number;
}

export function cpuSnapshot(): CpuSnapshot {
  const ns = new Map<number, number>();
  const names = new Map<number, string>();
  let tasks: string[] = [];
  let faults = 0;
  try {
    tasks = fs.readdirSync('/proc/self/task');
    faults = minorFaults();
  } catch {
    return { ns, names, faults };
  }
  for (const t of tasks) {
    try {
      ns.set(Number(t), Number(fs.readFileSync(`/proc/self/task/${t}/schedstat`, 'utf8').split(' ')[0]));
      names.set(Number(t), fs.readFileSync(`/proc/self/task/${t}/comm`, 'utf8').trim());
    } catch {
      // the thread ended between the listing and the read
    }
  }
  return { ns, names, faults };
}

/**
 * Milliseconds of CPU per step between two snapshots, by role: `js` the
 * JavaScript thread (the process's first), `mpi` the communication thread
 * (named eddy-mpi), `v8` the threads that existed before MPI started (V8's
 * platform workers: garbage collection and compilation), `openmpi` the
 * threads MPI_Init started (Open MPI's progress and PMIx threads), and
 * `kernel` every thread that appeared later: libuv's workers, which run the
 * native training calls (with one thread per rank, the kernels run on
 * them). `startup` and `afterInit` are the thread ids before and after
 * `init`. `faults` counts the process's minor page faults per step: each
 * is a trap into the kernel (costly in a virtual machine) to map a fresh
 * page of a new large allocation.
 */
export function cpuPerStep(before: CpuSnapshot, after: CpuSnapshot, steps: number, startup: ReadonlySet<number>, afterInit: ReadonlySet<number>): Record<'js' | 'kernel' | 'mpi' | 'v8' | 'openmpi' | 'faults', number> {
  const out = { js: 0, kernel: 0, mpi: 0, v8: 0, openmpi: 0, faults: (after.faults - before.faults) / steps };
  for (const [tid, ns] of after.ns) {
    const ms = (ns - (before.ns.get(tid) ?? 0)) / 1e6 / steps;
    if (tid === process.pid) out.js += ms;
    else if (after.names.get(tid) === 'eddy-mpi') out.mpi += ms;
    else if (startup.has(tid)) out.v8 += ms;
    else if (afterInit.has(tid)) out.openmpi += ms;
    else out.kernel += ms;
  }
  return out;
}

/** The process's minor page faults so far (throws where /proc is missing). */
function minorFaults(): number {
  // Field 10 of stat, counted after the name (which may hold spaces) closes.
  return Number(fs.readFileSync('/proc/self/stat', 'utf8').split(') ')[1].split(' ')[7]);
}

/** The JavaScript thread's nanoseconds on the CPU and the process's minor page faults: two reads, cheap enough for every step. */
export function cpuOfMain(): { ns: number; faults: number } {
  try {
    return { ns: Number(fs.readFileSync(`/proc/self/task/${process.pid}/schedstat`, 'utf8').split(' ')[0]), faults: minorFaults() };
  } catch {
    return { ns: 0, faults: 0 };
  }
}
