// Kubernetes API errors: one error type carrying a metav1.Status, and a constructor per reason.
// Handlers throw StatusError; one place in the server turns it into the HTTP response.

export interface StatusCause {
  reason?: string;
  message?: string;
  field?: string;
}

export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  uid?: string;
  causes?: StatusCause[];
  retryAfterSeconds?: number;
}

export interface Status {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, unknown>;
  status: 'Success' | 'Failure';
  message?: string;
  reason?: string;
  details?: StatusDetails;
  code: number;
}

export class StatusError extends Error {
  readonly status: Status;
  constructor(code: number, reason: string, message: string, details?: StatusDetails) {
    super(message);
    this.name = 'StatusError';
    this.status = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code };
    if (details) this.status.details = details;
  }
  get code(): number {
    return this.status.code;
  }
  get reason(): string {
    return this.status.reason ?? '';
  }
}

/** What a resource is called in messages: `pods`, `deployments.apps`. */
export interface GroupResource {
  group: string;
  resource: string;
}

const qualified = (gr: GroupResource): string => (gr.group ? `${gr.resource}.${gr.group}` : gr.resource);

export function notFound(gr: GroupResource, name: string): StatusError {
  return new StatusError(404, 'NotFound', `${qualified(gr)} "${name}" not found`, { name, group: gr.group, kind: gr.resource });
}

export function alreadyExists(gr: GroupResource, name: string): StatusError {
  return new StatusError(409, 'AlreadyExists', `${qualified(gr)} "${name}" already exists`, { name, group: gr.group, kind: gr.resource });
}

export function conflict(gr: GroupResource, name: string, why: string): StatusError {
  return new StatusError(409, 'Conflict', `Operation cannot be fulfilled on ${qualified(gr)} "${name}": ${why}`, { name, group: gr.group, kind: gr.resource });
}

/** Field errors in the upstream wording: `spec.containers[0].image: Required value`. */
export interface FieldError {
  type: 'FieldValueRequired' | 'FieldValueInvalid' | 'FieldValueNotSupported' | 'FieldValueDuplicate' | 'FieldValueForbidden' | 'FieldValueTooLong' | 'FieldValueTypeInvalid' | 'FieldValueTooMany';
  field: string;
  detail: string;
}

export function invalid(kind: string, group: string, name: string, errors: FieldError[]): StatusError {
  const summary = errors.map((e) => `${e.field}: ${e.detail}`);
  const body = summary.length === 1 ? summary[0] : `[${summary.join(', ')}]`;
  return new StatusError(422, 'Invalid', `${kind}${group ? `.${group}` : ''} "${name}" is invalid: ${body}`, {
    name,
    group,
    kind,
    causes: errors.map((e) => ({ reason: e.type, message: e.detail, field: e.field })),
  });
}

export const badRequest = (message: string): StatusError => new StatusError(400, 'BadRequest', message);
export const unauthorized = (message = 'Unauthorized'): StatusError => new StatusError(401, 'Unauthorized', message);
export const forbidden = (message: string): StatusError => new StatusError(403, 'Forbidden', message);
export const methodNotAllowed = (message: string): StatusError => new StatusError(405, 'MethodNotAllowed', message);
export const notAcceptable = (message: string): StatusError => new StatusError(406, 'NotAcceptable', message);
export const unsupportedMediaType = (message: string): StatusError => new StatusError(415, 'UnsupportedMediaType', message);
export const tooLarge = (message = 'the request is too large'): StatusError => new StatusError(413, 'RequestEntityTooLarge', message);
export const gone = (message: string): StatusError => new StatusError(410, 'Gone', message);
export const expired = (message: string): StatusError => new StatusError(410, 'Expired', message);
export const tooManyRequests = (message: string, retryAfterSeconds = 1): StatusError => new StatusError(429, 'TooManyRequests', message, { retryAfterSeconds });
export const internalError = (message: string): StatusError => new StatusError(500, 'InternalError', `Internal error occurred: ${message}`);
export const serviceUnavailable = (message: string): StatusError => new StatusError(503, 'ServiceUnavailable', message);

export function successStatus(details?: StatusDetails): Status {
  const s: Status = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 200 };
  if (details) s.details = details;
  return s;
}
