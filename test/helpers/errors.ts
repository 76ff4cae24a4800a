import { afterEach, expect } from 'vitest';
import { KitError } from '../../functions/core/errors.js';
import { startFakeServer, type FakeHandler, type FakeServer } from './fake-server.js';

/** the KitError a promise rejects with (fails the test if it resolves or rejects with anything else) */
export async function failure(p: Promise<unknown>): Promise<KitError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(KitError);
  return err as KitError;
}

/** the validation KitError `fn` throws (fails the test otherwise) */
export function validationError(fn: () => unknown): KitError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(KitError);
    const err = e as KitError;
    expect(err.kind).toBe('validation');
    expect(err.statusCode).toBe(400);
    return err;
  }
  throw new Error('expected a validation error');
}

/** loopback fake servers started by a test and closed after it */
export function useFakeServers(): (handler: FakeHandler) => Promise<FakeServer> {
  const servers: FakeServer[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.close()));
  });
  return async (handler) => {
    const s = await startFakeServer(handler);
    servers.push(s);
    return s;
  };
}
