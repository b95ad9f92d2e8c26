/**
 * Eddy's error hierarchy. Every error a user can cause is an `EddyError`
 * with a stable `code`, so callers can branch on `err.code` (or
 * `instanceof`) rather than on message text.
 */
export class EddyError extends Error {
  readonly code: string;

  constructor(message: string, code = 'ERR_EDDY', options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** A tensor or argument has the wrong shape, rank or size. */
export class ShapeError extends EddyError {
  constructor(message: string) {
    super(message, 'ERR_EDDY_SHAPE');
  }
}

/** An argument or option has the wrong type or value. */
export class ValidationError extends EddyError {
  constructor(message: string) {
    super(message, 'ERR_EDDY_VALIDATION');
  }
}

/** A file or serialized object is malformed or untrusted input is invalid. */
export class FormatError extends EddyError {
  constructor(message: string) {
    super(message, 'ERR_EDDY_FORMAT');
  }
}

/** The native module could not be loaded; the message says why and what to do. */
export class NativeLoadError extends EddyError {
  constructor(message: string, cause?: unknown) {
    super(message, 'ERR_EDDY_NATIVE_LOAD', { cause });
  }
}

/** A queue is full: the request was refused at once rather than left to wait (try again later). */
export class OverloadedError extends EddyError {
  constructor(message: string) {
    super(message, 'ERR_EDDY_OVERLOADED');
  }
}

/**
 * Native code ran out of memory, address space or threads. The process
 * stays usable: a caller may retry with smaller inputs or after freeing
 * memory (zeroing gradients first after a failed backward, which may have
 * accumulated part of them).
 */
export class ResourceError extends EddyError {
  constructor(message: string) {
    super(message, 'ERR_EDDY_RESOURCE');
  }
}

/**
 * A distributed collective or MPI itself failed. `code` says which:
 * ERR_EDDY_MPI_UNAVAILABLE (no usable MPI, or not initialized),
 * ERR_EDDY_DISTRIBUTED_TIMEOUT (a collective outlived its timeout: a rank
 * died or stalled), ERR_EDDY_DISTRIBUTED_MISMATCH (ranks disagree on the
 * model), ERR_EDDY_MPI (an error reported by MPI).
 */
export class DistributedError extends EddyError {
  constructor(message: string, code = 'ERR_EDDY_MPI', cause?: unknown) {
    super(message, code, { cause });
  }
}
