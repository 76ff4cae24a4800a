import { describe, expect, it } from 'vitest';
import { toKitError } from '../../functions/state/azure/errors.js';
import { KitError } from '../../functions/core/errors.js';

function restError(statusCode: number | undefined, code: string, message: string): Error {
  return Object.assign(new Error(message), { name: 'RestError', statusCode, code, details: { errorCode: code } });
}

describe('storage errors', () => {
  it('map to the KitError kind that tells the caller what to do next, keeping the cause', () => {
    const cases: Array<[number | undefined, string, KitError['kind']]> = [
      [412, 'UpdateConditionNotSatisfied', 'conflict'],
      [409, 'EntityAlreadyExists', 'conflict'],
      [401, 'InvalidAuthenticationInfo', 'auth'],
      [403, 'AuthorizationPermissionMismatch', 'auth'],
      [429, 'TooManyRequests', 'rate-limited'],
      [503, 'ServerBusy', 'retryable'],
      [500, 'OperationTimedOut', 'retryable'],
      [408, 'RequestTimeout', 'retryable'],
      [undefined, 'ECONNREFUSED', 'retryable'],
      [400, 'PropertyValueTooLarge', 'terminal'],
      [404, 'TableNotFound', 'terminal'],
    ];
    for (const [status, code, kind] of cases) {
      const cause = restError(status, code, 'service said no');
      const error = toKitError('read snapshot 1 from table snapshots', cause);
      expect(error.kind, code).toBe(kind);
      expect(error.statusCode, code).toBe(status);
      expect(error.cause, code).toBe(cause);
      expect(error.message, code).toContain(code);
      expect(error.message, code).toMatch(/^read snapshot 1 from table snapshots failed: /);
    }
  });

  it('build the message from status and code only, so request details cannot leak', () => {
    const error = toKitError(
      'enqueue delivery x',
      restError(403, 'AuthenticationFailed', 'Signature did not match. sig=c2VjcmV0&AccountKey=Eby8vdM02x'),
    );
    expect(error.message).toBe('enqueue delivery x failed: 403 AuthenticationFailed');
  });

  it('treat a missing credential as an auth problem', () => {
    const missing = Object.assign(new Error('ManagedIdentityCredential: no endpoint'), { name: 'CredentialUnavailableError' });
    expect(toKitError('create table snapshots', missing).kind).toBe('auth');
  });

  it('pass a KitError through unchanged', () => {
    const original = new KitError('x', { kind: 'validation' });
    expect(toKitError('anything', original)).toBe(original);
  });
});
