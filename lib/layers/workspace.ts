/**
 * Recycles the workspaces of recurrent training calls. A workspace is
 * tens of megabytes that the forward pass overwrites completely; a fresh
 * Float32Array would be zero-filled and page-faulted on every step, so one
 * freed by a finished backward is handed to the next forward of the same
 * size instead. Idle workspaces are capped in number and bytes (least
 * recently freed go first), so batches of ever-changing lengths do not pile
 * them up. Workspaces of graphs that never run backward are simply
 * garbage-collected.
 */

/** Most idle workspaces kept. */
const MAX_IDLE = 4;
/** Most bytes of idle workspaces kept. */
const MAX_IDLE_BYTES = 256 * 1024 * 1024;

/** Idle workspaces, least recently freed first. */
const idle: Float32Array[] = [];
let idleBytes = 0;

export function acquireWorkspace(size: number): Float32Array {
  for (let i = idle.length - 1; i >= 0; i--) {
    if (idle[i].length === size) {
      const [ws] = idle.splice(i, 1);
      idleBytes -= ws.byteLength;
      return ws;
    }
  }
  return new Float32Array(size);
}

export function releaseWorkspace(ws: Float32Array): void {
  if (ws.byteLength > MAX_IDLE_BYTES) return;
  idle.push(ws);
  idleBytes += ws.byteLength;
  while (idle.length > MAX_IDLE || idleBytes > MAX_IDLE_BYTES) idleBytes -= idle.shift()!.byteLength;
}

/** Drops every idle workspace (their memory goes back to the garbage collector). */
export function clearWorkspaces(): void {
  idle.length = 0;
  idleBytes = 0;
}

/** Bytes held by idle workspaces. */
export function idleWorkspaceBytes(): number {
  return idleBytes;
}
