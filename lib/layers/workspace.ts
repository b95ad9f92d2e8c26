/**
 * Recycles the workspaces of recurrent training calls. A workspace is
 * tens of megabytes that the forward pass overwrites completely; a fresh
 * Float32Array would be zero-filled and page-faulted on every step, so one
 * freed by a finished backward is handed to the next forward of the same
 * size instead. Workspaces of graphs that never run backward are simply
 * garbage-collected.
 */
const free = new Map<number, Float32Array[]>();
/** At most this many idle workspaces of one size are kept. */
const KEEP_PER_SIZE = 2;

export function acquireWorkspace(size: number): Float32Array {
  const list = free.get(size);
  return list?.pop() ?? new Float32Array(size);
}

export function releaseWorkspace(ws: Float32Array): void {
  let list = free.get(ws.length);
  if (!list) free.set(ws.length, (list = []));
  if (list.length < KEEP_PER_SIZE) list.push(ws);
}

/** Drops every idle workspace (memory goes back to the garbage collector). */
export function clearWorkspaces(): void {
  free.clear();
}
