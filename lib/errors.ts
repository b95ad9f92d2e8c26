/**
 * Eddy's error hierarchy. Every error a user can cause is an `EddyError`
 * with a stable `code`, so callers can branch on `err.code` (or
 * `instanceof`) rather than on message text.
 */
/** The base of Eddy's errors. */
export class EddyError extends Error {
  /** Stable machine-readable code, `ERR_EDDY_*` (e.g. `ERR_EDDY_SHAPE`). */
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
