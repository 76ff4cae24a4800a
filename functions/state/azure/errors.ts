/**
 * Storage SDK failures → KitError. Messages are built from the status and the service's error code
 * only (never from request URLs or headers), so no key or token can leak into logs; the original
 * error stays available as `cause` for debugging.
 */
import { KitError, isKitError, type KitErrorKind } from '../../core/errors.js';

interface RestErrorLike {
  name: string;
  statusCode?: number;
  code?: string;
  details?: unknown;
}

export function isRestError(error: unknown): error is RestErrorLike {
  return typeof error === 'object' && error !== null && (error as { name?: unknown }).name === 'RestError';
}

export function statusOf(error: unknown): number | undefined {
  return isRestError(error) ? error.statusCode : undefined;
}

/** The service's error code (e.g. TableAlreadyExists, QueueAlreadyExists, MessageNotFound). */
export function serviceCode(error: unknown): string | undefined {
  if (!isRestError(error)) return undefined;
  const details = error.details as { errorCode?: unknown; odataError?: { code?: unknown } } | undefined;
  const fromDetails = details?.errorCode ?? details?.odataError?.code;
  if (typeof fromDetails === 'string') return fromDetails;
  return typeof error.code === 'string' ? error.code : undefined;
}

const CREDENTIAL_ERRORS = new Set(['CredentialUnavailableError', 'AuthenticationError', 'AggregateAuthenticationError']);

/** `operation` says what the kit was doing, e.g. "read snapshot 12345 from table spksnapshots". */
export function toKitError(operation: string, error: unknown): KitError {
  if (isKitError(error)) return error;
  const name = typeof error === 'object' && error !== null ? String((error as { name?: unknown }).name) : '';
  if (CREDENTIAL_ERRORS.has(name)) {
    return new KitError(`${operation}: no usable Azure credential (${name})`, { kind: 'auth', cause: error });
  }
  if (!isRestError(error)) {
    return new KitError(`${operation} failed: ${name || 'unexpected error'}`, { kind: 'retryable', cause: error });
  }
  const status = error.statusCode;
  const code = serviceCode(error);
  const label = [status, code].filter((part) => part !== undefined).join(' ') || 'network error';
  return new KitError(`${operation} failed: ${label}`, {
    kind: kindFor(status),
    ...(status !== undefined ? { statusCode: status } : {}),
    cause: error,
  });
}

function kindFor(status: number | undefined): KitErrorKind {
  // no status: the request never got an answer (refused, reset, timed out)
  if (status === undefined) return 'retryable';
  if (status === 401 || status === 403) return 'auth';
  if (status === 409 || status === 412) return 'conflict';
  if (status === 429) return 'rate-limited';
  if (status === 408 || status >= 500) return 'retryable';
  return 'terminal';
}
