/**
 * Eddy's error hierarchy. Every error a user can cause is an `EddyError`
 * with a stable `code`, so callers can branch on `err.code` (or
 * `instanceof`) rather than on message text.
 */
/** The base of Eddy's errors. */
export class EddyError extends Error {
  /** Stable machine-readable code, `ERR_EDDY_*` (e.g. `ERR_EDDY_SHAPE`). */
  readonly code: string;

  /**
   * @param message - What was expected and what arrived.
   * @param code - The stable code, `ERR_EDDY_*`.
   * @param options - `cause`: the error that led to this one.
   */
  constructor(message: string, code = 'ERR_EDDY', options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** A tensor or argument has the wrong shape, rank or size. */
export class ShapeError extends EddyError {
  /**
   * @param message - What was expected and what arrived.
   */
  constructor(message: string) {
    super(message, 'ERR_EDDY_SHAPE');
  }
}

/** An argument or option has the wrong type or value. */
export class ValidationError extends EddyError {
  /**
   * @param message - What was expected and what arrived.
   */
  constructor(message: string) {
    super(message, 'ERR_EDDY_VALIDATION');
  }
}

/** An options object has a key the function does not know (a typo, or another library's spelling). */
export class UnknownOptionError extends ValidationError {
  /** The unknown key. */
  readonly key: string;
  /** The closest known key, when one is close. */
  readonly suggestion: string | undefined;

  /**
   * @param message - The message, naming the key and the known ones.
   * @param key - The unknown key.
   * @param suggestion - The closest known key, if any.
   */
  constructor(message: string, key: string, suggestion: string | undefined) {
    super(message);
    this.key = key;
    this.suggestion = suggestion;
  }
}

/** A file or serialized object is malformed or untrusted input is invalid. */
export class FormatError extends EddyError {
  /**
   * @param message - What is malformed and where.
   */
  constructor(message: string) {
    super(message, 'ERR_EDDY_FORMAT');
  }
}

/** The native module could not be loaded; the message says why and what to do. */
export class NativeLoadError extends EddyError {
  /**
   * @param message - Why the module could not be loaded and what to do.
   * @param cause - The loader's error.
   */
  constructor(message: string, cause?: unknown) {
    super(message, 'ERR_EDDY_NATIVE_LOAD', { cause });
  }
}

/** A queue is full: the request was refused at once rather than left to wait (try again later). */
export class OverloadedError extends EddyError {
  /**
   * @param message - Which queue is full.
   */
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
  /**
   * @param message - What ran out.
   */
  constructor(message: string) {
    super(message, 'ERR_EDDY_RESOURCE');
  }
}

/** Training or a search was stopped through its AbortSignal (`name` is 'AbortError', as for DOM aborts). */
export class AbortError extends EddyError {
  /**
   * @param message - What was aborted.
   */
  constructor(message = 'Training was aborted') {
    super(message, 'ERR_EDDY_ABORTED');
  }
}

/** A loss or gradient is NaN or infinite and `onNonFinite` is 'error'. */
export class NonFiniteError extends EddyError {
  /**
   * @param message - Which value was not finite, and where.
   */
  constructor(message: string) {
    super(message, 'ERR_EDDY_NON_FINITE');
  }
}

/**
 * Malformed content in a file source: a FormatError that names the file and
 * the 1-based line and column, in the message and as properties, so a
 * caller can point an editor at the spot.
 */
export class ParseError extends FormatError {
  /** The path the source was opened with. */
  readonly file: string;
  /** 1-based line of the problem. */
  readonly line: number;
  /** 1-based column: a character in the line (UTF-16 units), or for CSV the field. */
  readonly column: number;
  /** The format: 'JSON', 'CSV', 'UTF-8', 'text'. */
  readonly kind: string;
  /** What was expected and what arrived, without the position. */
  readonly detail: string;

  /**
   * `kind` names the format ('JSON', 'CSV', 'UTF-8'); `detail` says what was expected and what
   * arrived.
   * @param kind - The format.
   * @param file - The path the source was opened with.
   * @param line - 1-based line of the problem.
   * @param column - 1-based column of the problem.
   * @param detail - What was expected and what arrived.
   */
  constructor(kind: string, file: string, line: number, column: number, detail: string) {
    super(`Invalid ${kind} in ${file} at line ${line}, column ${column}: ${detail}`);
    this.file = file;
    this.line = line;
    this.column = column;
    this.kind = kind;
    this.detail = detail;
  }
}

/**
 * A file could not be opened, read or written. The operating system's error
 * is the `cause`; its code (`ENOENT`, `EACCES`, `EISDIR`, …) is also
 * `systemCode`, and the path the caller gave is `path`.
 */
export class FileError extends EddyError {
  /** The path the caller gave. */
  readonly path: string;
  /** The operating system's error code (`ENOENT`, `EACCES`, …), when there is one. */
  readonly systemCode: string | undefined;

  /**
   * @param message - What could not be done to which file, and why.
   * @param path - The path the caller gave.
   * @param cause - The operating system's error.
   */
  constructor(message: string, path: string, cause: unknown) {
    super(message, 'ERR_EDDY_FILE', { cause });
    this.path = path;
    const code = (cause as NodeJS.ErrnoException | undefined)?.code;
    this.systemCode = typeof code === 'string' ? code : undefined;
  }
}

/** True for an error from the operating system (Node's system errors carry a string `code` and a `syscall`). */
function isSystemError(err: unknown): err is NodeJS.ErrnoException {
  return err instanceof Error && typeof (err as NodeJS.ErrnoException).code === 'string' && typeof (err as NodeJS.ErrnoException).syscall === 'string';
}

/**
 * `err` as a FileError naming `path` when it is a system error (`Cannot
 * read "data.csv": no such file or directory (ENOENT)`); any other error
 * is returned as it is.
 */
export function fileError(err: unknown, path: string, action: 'read' | 'write' | 'open' = 'read'): unknown {
  if (!isSystemError(err) || err instanceof EddyError) return err;
  // Node's message reads "ENOENT: no such file or directory, open '…'": keep the middle.
  const reason = err.message.replace(/^[A-Z0-9_]+:\s*/, '').replace(/,\s*\w+(\s+'.*)?$/s, '');
  return new FileError(`Cannot ${action} ${JSON.stringify(path)}: ${reason} (${err.code})`, path, err);
}

/**
 * A native call refused its arguments with an uncoded RangeError or
 * TypeError (the TypeScript checks normally catch these first).
 */
export class NativeArgumentError extends EddyError {
  /**
   * @param message - Which argument the native call refused.
   * @param cause - The native RangeError or TypeError.
   */
  constructor(message: string, cause: unknown) {
    super(message, 'ERR_EDDY_NATIVE_ARGUMENT', { cause });
  }
}

/**
 * A distributed collective or MPI itself failed. `code` says which:
 * ERR_EDDY_MPI_UNAVAILABLE (no usable MPI, or not initialized),
 * ERR_EDDY_DISTRIBUTED_TIMEOUT (a collective outlived its timeout: a rank
 * died or stalled), ERR_EDDY_DISTRIBUTED_MISMATCH (ranks disagree on the
 * model), ERR_EDDY_DISTRIBUTED_PEER (another rank failed and said so in a
 * collective), ERR_EDDY_MPI (an error reported by MPI).
 */
export class DistributedError extends EddyError {
  /**
   * @param message - Which collective failed, and why.
   * @param code - One of the codes above.
   * @param cause - MPI's error.
   */
  constructor(message: string, code = 'ERR_EDDY_MPI', cause?: unknown) {
    super(message, code, { cause });
  }
}
