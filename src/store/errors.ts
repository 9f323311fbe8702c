// Errors of the storage layer. Callers branch on the class (or `code`), never on the message.

export class StoreError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = 'StoreError';
    this.code = code;
  }
}

/** The requested revision has been compacted away. */
export class CompactedError extends StoreError {
  readonly compactRevision: number;
  constructor(compactRevision: number, requested?: number) {
    super('compacted', `required revision${requested !== undefined ? ` ${requested}` : ''} has been compacted (compact revision ${compactRevision})`);
    this.compactRevision = compactRevision;
  }
}

/** The requested revision is newer than the store's current revision. */
export class FutureRevisionError extends StoreError {
  constructor(requested: number, current: number) {
    super('future-revision', `required revision ${requested} is a future revision (current revision ${current})`);
  }
}

export class LeaseNotFoundError extends StoreError {
  constructor(id: number) {
    super('lease-not-found', `requested lease ${id} not found`);
  }
}

/** The request is malformed or too large: nothing was written. */
export class InvalidRequestError extends StoreError {
  constructor(message: string) {
    super('invalid-request', message);
  }
}

/** The data directory cannot be used: corrupted, foreign, or from an incompatible version. */
export class DataDirError extends StoreError {
  constructor(message: string) {
    super('data-dir', message);
  }
}

/** The store is closed or the backend is unreachable. */
export class UnavailableError extends StoreError {
  constructor(message: string) {
    super('unavailable', message);
  }
}

/** Limits shared by both backends (etcd's defaults are 1.5 MiB per request). */
export const MAX_KEY_BYTES = 1536 * 1024;
export const MAX_VALUE_BYTES = 1536 * 1024;
