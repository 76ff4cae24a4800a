import { afterEach, describe, expect, it } from 'vitest';
import { failure, useFakeServers } from '../helpers/errors.js';
import fc from 'fast-check';
import {
  backoffMs,
  checkEndpointUrl,
  classifyStatus,
  DEFAULT_RATE_LIMIT_DELAY_MS,
  parseRetryAfter,
  send,
} from '../../functions/connectors/http/index.js';
import { KitError } from '../../functions/core/errors.js';
import {
  failTimes,
  failWithProbability,
  hang,
  rateLimited,
  reply,
  reset,
  seededRandom,
  serverError,
  stallBody,
  startFakeServer,
  type FakeHandler,
  type FakeServer,
} from '../helpers/fake-server.js';

const serve = useFakeServers();

const NOW = Date.UTC(2026, 10, 26, 9, 36, 0);

describe('classifyStatus', () => {
  it.each([
    [200, 'ok'],
    [201, 'ok'],
    [202, 'ok'],
    [204, 'ok'],
    [429, 'rate-limited'],
    [408, 'retryable'],
    [500, 'retryable'],
    [502, 'retryable'],
    [503, 'retryable'],
    [504, 'retryable'],
    [501, 'terminal'],
    [505, 'terminal'],
    [401, 'auth'],
    [403, 'auth'],
    [400, 'terminal'],
    [404, 'terminal'],
    [409, 'terminal'],
    [413, 'terminal'],
    [302, 'terminal'],
  ])('HTTP %i → %s', (status, kind) => {
    expect(classifyStatus(status)).toBe(kind);
  });
});

describe('parseRetryAfter', () => {
  it('reads delta-seconds, including the fractional form Graph sends', () => {
    expect(parseRetryAfter(new Headers({ 'Retry-After': '120' }), NOW)).toBe(120_000);
    expect(parseRetryAfter(new Headers({ 'retry-after': '2.128' }), NOW)).toBe(2128);
    expect(parseRetryAfter({ 'Retry-After': '0' }, NOW)).toBe(0);
  });

  it('reads an HTTP-date relative to now, and a past date as 0', () => {
    const later = new Date(NOW + 45_000).toUTCString();
    expect(parseRetryAfter(new Headers({ 'retry-after': later }), NOW)).toBe(45_000);
    const earlier = new Date(NOW - 45_000).toUTCString();
    expect(parseRetryAfter(new Headers({ 'retry-after': earlier }), NOW)).toBe(0);
  });

  it('reads X-RateLimit-Reset as epoch seconds, epoch ms or ISO 8601 (Jira)', () => {
    expect(parseRetryAfter(new Headers({ 'x-ratelimit-reset': String(NOW / 1000 + 30) }), NOW)).toBe(30_000);
    expect(parseRetryAfter(new Headers({ 'x-ratelimit-reset': String(NOW + 7_000) }), NOW)).toBe(7_000);
    expect(parseRetryAfter(new Headers({ 'X-RateLimit-Reset': new Date(NOW + 90_000).toISOString() }), NOW)).toBe(90_000);
  });

  it('prefers Retry-After over X-RateLimit-Reset and reads the Azure ms headers', () => {
    const both = new Headers({ 'retry-after': '5', 'x-ratelimit-reset': new Date(NOW + 90_000).toISOString() });
    expect(parseRetryAfter(both, NOW)).toBe(5_000);
    expect(parseRetryAfter(new Headers({ 'x-ms-retry-after-ms': '1500' }), NOW)).toBe(1500);
  });

  it('says nothing when nothing usable is there', () => {
    expect(parseRetryAfter(new Headers(), NOW)).toBeUndefined();
    expect(parseRetryAfter(new Headers({ 'retry-after': 'soon' }), NOW)).toBeUndefined();
  });
});

describe('backoffMs (full jitter)', () => {
  it('stays within [0, min(cap, base·2^(attempt-1)))', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 60 }), fc.double({ min: 0, max: 0.999999, noNaN: true }), (attempt, r) => {
        const ms = backoffMs(attempt, { baseMs: 500, capMs: 30_000, random: () => r });
        const ceiling = Math.min(30_000, 500 * 2 ** (attempt - 1));
        return ms >= 0 && ms < ceiling;
      }),
    );
  });

  it('grows with the attempt until the cap', () => {
    const top = () => 0.999999;
    expect(backoffMs(1, { baseMs: 1000, capMs: 10_000, random: top })).toBe(999);
    expect(backoffMs(3, { baseMs: 1000, capMs: 10_000, random: top })).toBe(3999);
    expect(backoffMs(20, { baseMs: 1000, capMs: 10_000, random: top })).toBe(9999);
    expect(backoffMs(5, { random: () => 0 })).toBe(0);
  });
});

describe('send against a loopback server', () => {
  it('returns status, headers, text and parsed JSON for a 2xx, and sends method, headers and body', async () => {
    const s = await serve(() => reply(201, { id: '10001', key: 'SOC-1' }, { 'x-trace': 'abc' }));
    const res = await send({
      method: 'POST',
      url: `${s.url}/rest/api/3/issue?x=1`,
      headers: { 'content-type': 'application/json', authorization: 'Bearer t0k3n' },
      body: '{"a":1}',
      target: 'jira',
    });
    expect(res.status).toBe(201);
    expect(res.headers.get('x-trace')).toBe('abc');
    expect(res.json<{ key: string }>().key).toBe('SOC-1');
    const req = s.requests[0];
    expect(req).toMatchObject({ method: 'POST', path: '/rest/api/3/issue', body: '{"a":1}' });
    expect(req?.headers.authorization).toBe('Bearer t0k3n');
    expect(req?.query.get('x')).toBe('1');
  });

  it('429 with Retry-After seconds → rate-limited with that delay', async () => {
    const s = await serve(() => rateLimited(7));
    const err = await failure(send({ method: 'GET', url: s.url, target: 'jira' }));
    expect(err.kind).toBe('rate-limited');
    expect(err.statusCode).toBe(429);
    expect(err.retryAfterMs).toBe(7000);
    expect(err.message).toMatch(/^jira: rate limited/);
  });

  it('429 with Retry-After as an HTTP-date → the time until then', async () => {
    const s = await serve(() => rateLimited(new Date(NOW + 20_000)));
    const err = await failure(send({ method: 'GET', url: s.url, target: 'slack', now: () => NOW }));
    expect(err.kind).toBe('rate-limited');
    expect(err.retryAfterMs).toBe(20_000);
  });

  it('429 with only X-RateLimit-Reset (ISO 8601, as Jira sends) → the time until the reset', async () => {
    const s = await serve(() => reply(429, '', { 'x-ratelimit-reset': new Date(NOW + 12_000).toISOString() }));
    const err = await failure(send({ method: 'GET', url: s.url, target: 'jira', now: () => NOW }));
    expect(err.retryAfterMs).toBe(12_000);
  });

  it('429 with only X-RateLimit-Reset as epoch seconds', async () => {
    const s = await serve(() => reply(429, '', { 'x-ratelimit-reset': String(NOW / 1000 + 3) }));
    const err = await failure(send({ method: 'GET', url: s.url, target: 'ado', now: () => NOW }));
    expect(err.retryAfterMs).toBe(3000);
  });

  it('429 without any hint → the default delay (or the caller\'s)', async () => {
    const s = await serve(() => reply(429));
    expect((await failure(send({ method: 'GET', url: s.url, target: 'jira' }))).retryAfterMs).toBe(DEFAULT_RATE_LIMIT_DELAY_MS);
    expect((await failure(send({ method: 'GET', url: s.url, target: 'jira', defaultRetryAfterMs: 5000 }))).retryAfterMs).toBe(5000);
  });

  it('503 with Retry-After → retryable and the delay is honoured; a bare 500 → retryable without one', async () => {
    const s = await serve(failTimes(1, serverError(503, { 'retry-after': '30' }), () => serverError(500)));
    const first = await failure(send({ method: 'GET', url: s.url, target: 'jira' }));
    expect(first).toMatchObject({ kind: 'retryable', statusCode: 503, retryAfterMs: 30_000 });
    const second = await failure(send({ method: 'GET', url: s.url, target: 'jira' }));
    expect(second).toMatchObject({ kind: 'retryable', statusCode: 500, retryAfterMs: undefined });
  });

  it('408 → retryable; 401 and 403 → auth', async () => {
    let status = 408;
    const s = await serve(() => reply(status, 'nope'));
    expect((await failure(send({ method: 'GET', url: s.url, target: 't' }))).kind).toBe('retryable');
    status = 401;
    expect((await failure(send({ method: 'GET', url: s.url, target: 't' }))).kind).toBe('auth');
    status = 403;
    expect((await failure(send({ method: 'GET', url: s.url, target: 't' }))).kind).toBe('auth');
  });

  it('other 4xx → terminal with a short, single-line excerpt of the vendor error', async () => {
    const long = 'x'.repeat(5000);
    const s = await serve(() => reply(400, { errorMessages: [], errors: { project: 'valid project is required', filler: long } }));
    const err = await failure(send({ method: 'POST', url: `${s.url}/rest/api/3/issue`, body: '{}', target: 'jira' }));
    expect(err.kind).toBe('terminal');
    expect(err.statusCode).toBe(400);
    expect(err.message).toContain('valid project is required');
    expect(err.message.length).toBeLessThan(600);
    expect(err.message).not.toMatch(/\n/);
  });

  it('an echoed secret in the vendor error is redacted from the excerpt', async () => {
    const s = await serve((req) => reply(400, `bad request with header ${req.headers.authorization ?? ''}`));
    const err = await failure(
      send({ method: 'GET', url: s.url, headers: { authorization: 'Bearer sup3r-s3cret-t0ken' }, target: 'x', secrets: ['sup3r-s3cret-t0ken'] }),
    );
    expect(err.message).not.toContain('sup3r-s3cret-t0ken');
    expect(err.message).toContain('[redacted]');
  });

  it('a redirect is not followed: terminal', async () => {
    const s = await serve((req) => (req.path === '/' ? reply(302, '', { location: '/elsewhere?sig=abc' }) : reply(200, 'followed')));
    const err = await failure(send({ method: 'POST', url: s.url, body: 'x', target: 'teams' }));
    expect(err.kind).toBe('terminal');
    expect(s.requests).toHaveLength(1);
    expect(err.message).not.toContain('sig=abc');
  });

  it('a server that never answers → retryable timeout', async () => {
    const s = await serve(() => hang());
    const err = await failure(send({ method: 'GET', url: s.url, target: 'jira', timeoutMs: 150 }));
    expect(err.kind).toBe('retryable');
    expect(err.message).toMatch(/no complete response within 150 ms/);
    expect(err.cause).toBeInstanceOf(Error);
  });

  it('a body that stalls after the headers → retryable timeout', async () => {
    const s = await serve(() => stallBody(200));
    const err = await failure(send({ method: 'GET', url: s.url, target: 'jira', timeoutMs: 150 }));
    expect(err.kind).toBe('retryable');
    expect(err.message).toMatch(/no complete response/);
  });

  it('a connection reset → retryable network error with the cause', async () => {
    const s = await serve(() => reset());
    const err = await failure(send({ method: 'POST', url: s.url, body: '{}', target: 'jira' }));
    expect(err.kind).toBe('retryable');
    expect(err.message).toMatch(/^jira: network error \(/);
    expect(err.cause).toBeInstanceOf(Error);
  });

  it('a refused connection → retryable ECONNREFUSED', async () => {
    const s = await startFakeServer(() => reply(200));
    const url = s.url;
    await s.close();
    const err = await failure(send({ method: 'GET', url, target: 'jira' }));
    expect(err.kind).toBe('retryable');
    expect(err.message).toContain('ECONNREFUSED');
  });

  it('a caller abort → retryable (the pipeline re-queues it)', async () => {
    const s = await serve(() => hang());
    const controller = new AbortController();
    const pending = send({ method: 'GET', url: s.url, target: 'jira', timeoutMs: 30_000, signal: controller.signal });
    setTimeout(() => controller.abort(), 20);
    const err = await failure(pending);
    expect(err.kind).toBe('retryable');
    expect(err.message).toMatch(/cancelled/);
  });

  it('a 2xx body that is not JSON → terminal when parsed', async () => {
    const s = await serve(() => reply(200, '<html>proxy login</html>'));
    const res = await send({ method: 'GET', url: s.url, target: 'jira' });
    expect(() => res.json()).toThrow(KitError);
  });
});

describe('fake server fault helpers', () => {
  it('failTimes fails the first n requests and then passes through', async () => {
    const s = await serve(failTimes(2, serverError(502), () => reply(200, { ok: true })));
    const kinds: string[] = [];
    for (let i = 0; i < 3; i++) {
      kinds.push(await send({ method: 'GET', url: s.url, target: 't' }).then(() => 'ok', (e: KitError) => e.kind));
    }
    expect(kinds).toEqual(['retryable', 'retryable', 'ok']);
  });

  it('failWithProbability is deterministic for a seed and close to p over many draws', async () => {
    const outcomes = async (seed: number) => {
      const handler = failWithProbability(0.3, seed, serverError(503), () => reply(200));
      const out: number[] = [];
      for (let i = 0; i < 200; i++) {
        const r = await handler({ method: 'GET', path: '/', query: new URLSearchParams(), headers: {}, body: '' }, {});
        out.push('status' in r ? r.status : 0);
      }
      return out;
    };
    const a = await outcomes(42);
    expect(await outcomes(42)).toEqual(a);
    const failures = a.filter((x) => x === 503).length;
    expect(failures).toBeGreaterThan(30);
    expect(failures).toBeLessThan(90);
    expect(seededRandom(1)()).not.toBe(seededRandom(2)());
  });

  it("when: 'after' runs the handler's side effect and still fails", async () => {
    let effects = 0;
    const s = await serve(failTimes(1, serverError(503), () => {
      effects++;
      return reply(201);
    }, { when: 'after' }));
    const err = await failure(send({ method: 'POST', url: s.url, body: '{}', target: 't' }));
    expect(err.kind).toBe('retryable');
    expect(effects).toBe(1);
  });
});

describe('checkEndpointUrl', () => {
  it('accepts https anywhere and http only on loopback', () => {
    expect(checkEndpointUrl('https://contoso.atlassian.net', 'baseUrl').host).toBe('contoso.atlassian.net');
    expect(checkEndpointUrl('http://127.0.0.1:8080', 'baseUrl').port).toBe('8080');
    expect(checkEndpointUrl('http://[::1]:8080', 'baseUrl').port).toBe('8080');
    expect(() => checkEndpointUrl('http://contoso.atlassian.net', 'receivers.jira.baseUrl')).toThrow(/must be an https URL/);
    expect(() => checkEndpointUrl('not a url', 'x')).toThrow(KitError);
  });
});
