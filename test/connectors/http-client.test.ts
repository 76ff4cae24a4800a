/**
 * Target clients against loopback servers: each auth strategy as the server sees it, the
 * User-Agent, abort, keep-alive, the per-target checks of a 2xx, and that no secret reaches an
 * error or a log line.
 */
import { readFileSync } from 'node:fs';
import { inspect } from 'node:util';
import type { AccessToken, GetTokenOptions, TokenCredential } from '@azure/identity';
import { describe, expect, it } from 'vitest';
import {
  acsHmacAuth,
  basicAuth,
  bearerAuth,
  createTargetClient,
  entraTokenAuth,
  ENTRA_REFRESH_WINDOW_MS,
  KIT_USER_AGENT,
  slackWebApiCheck,
  slackWebhookCheck,
  teamsWorkflowsCheck,
  webhookUrlAuth,
  type HttpPolicy,
  type TargetClientOptions,
} from '../../functions/connectors/http/index.js';
import { createTeamsConnector } from '../../functions/connectors/teams/teams.js';
import { KitError } from '../../functions/core/errors.js';
import { makeStep } from '../fixtures/incident.js';
import { renderedTeams } from '../fixtures/rendered.js';
import { failure, useFakeServers } from '../helpers/errors.js';
import {
  createFakeAcs,
  createFakeJira,
  createFakeSlack,
  createFakeTeams,
  failTimes,
  hang,
  rateLimited,
  reply,
  reset,
  serverError,
  type FakeHandler,
} from '../helpers/fake-server.js';

const serve = useFakeServers();

const NOW = Date.UTC(2026, 2, 14, 9, 30, 0);
const PACKAGE_VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

/** Everything an error can show when logged: message, stack, inspect() and the whole cause chain. */
function everythingShown(err: unknown): string {
  const parts: string[] = [inspect(err, { depth: 6 })];
  for (let e: unknown = err, i = 0; e instanceof Error && i < 6; e = (e as { cause?: unknown }).cause, i++) {
    parts.push(e.message, e.stack ?? '');
  }
  return parts.join('\n');
}

function expectNoneOf(text: string, secrets: string[]): void {
  for (const s of secrets) expect(text, `leaked ${s.slice(0, 6)}…`).not.toContain(s);
}

/** A client on a loopback server with a log sink. */
async function clientOn(handler: FakeHandler, options: Partial<TargetClientOptions> & Pick<TargetClientOptions, 'auth'>) {
  const server = await serve(handler);
  const lines: string[] = [];
  const client = createTargetClient({ target: 'acme', baseUrl: server.url, log: (l) => lines.push(l), ...options });
  return { server, client, lines };
}

describe('User-Agent', () => {
  it('every request says sentinel-playbook-kit/<package.json version>', async () => {
    const { server, client } = await clientOn(() => reply(204), { auth: bearerAuth('tok-123456') });
    await client.send({ method: 'GET', path: '/a' });
    await client.send({ method: 'POST', path: '/b', json: { x: 1 } });
    expect(KIT_USER_AGENT).toBe(`sentinel-playbook-kit/${PACKAGE_VERSION}`);
    expect(server.requests.map((r) => r.headers['user-agent'])).toEqual([KIT_USER_AGENT, KIT_USER_AGENT]);
  });

  it('a caller that sets its own keeps it', async () => {
    const { server, client } = await clientOn(() => reply(204), { auth: bearerAuth('tok-123456') });
    await client.send({ method: 'GET', headers: { 'User-Agent': 'custom/1' } });
    expect(server.requests[0]?.headers['user-agent']).toBe('custom/1');
  });
});

describe('auth strategies as the server sees them', () => {
  it('basic: Authorization: Basic base64(user:secret), accepted by the fake Jira', async () => {
    const jira = createFakeJira({ project: 'SOC', email: 'bot@contoso.com', apiToken: 'ATATT3xFfGF0-jira-token' });
    const { server, client } = await clientOn(jira.handler, { target: 'jira', auth: basicAuth('bot@contoso.com', 'ATATT3xFfGF0-jira-token') });
    const res = await client.send({ method: 'POST', path: '/rest/api/3/search/jql', json: { jql: 'project = "SOC" AND labels = "sentinel-1"', maxResults: 1 } });
    expect(res.json<{ issues: unknown[] }>().issues).toEqual([]);
    expect(server.requests[0]?.headers.authorization).toBe(`Basic ${Buffer.from('bot@contoso.com:ATATT3xFfGF0-jira-token').toString('base64')}`);
  });

  it('basic with the wrong secret → auth, and the secret is nowhere in the error', async () => {
    const jira = createFakeJira({ project: 'SOC', email: 'bot@contoso.com', apiToken: 'right-token-value' });
    const { client, lines } = await clientOn(jira.handler, { target: 'jira', auth: basicAuth('bot@contoso.com', 'wrong-token-value') });
    const err = await failure(client.send({ method: 'GET', path: '/rest/api/3/issue/SOC-1' }));
    expect(err).toMatchObject({ kind: 'auth', statusCode: 401 });
    const basic = Buffer.from('bot@contoso.com:wrong-token-value').toString('base64');
    expectNoneOf(everythingShown(err) + lines.join('\n'), ['wrong-token-value', basic]);
  });

  it('bearer: Authorization: Bearer <token>, accepted by the fake Slack Web API', async () => {
    const slack = createFakeSlack({ botToken: 'xoxb-1111-2222-abcdefabcdef' });
    const { server, client } = await clientOn(slack.handler, { target: 'slack', auth: bearerAuth('xoxb-1111-2222-abcdefabcdef'), check: slackWebApiCheck });
    const res = await client.send({ method: 'POST', path: '/api/chat.postMessage', json: { channel: 'C0123456789', text: 'hello' } });
    expect(res.json<{ ok: boolean; ts: string }>()).toMatchObject({ ok: true, ts: expect.any(String) });
    expect(server.requests[0]?.headers.authorization).toBe('Bearer xoxb-1111-2222-abcdefabcdef');
    expect(server.requests[0]?.headers['content-type']).toBe('application/json');
    expect(slack.posted).toHaveLength(1);
  });

  it('URL-is-the-secret: nothing is added; the URL is kept out of errors and logs', async () => {
    const slack = createFakeSlack();
    const server = await serve(slack.handler);
    const lines: string[] = [];
    const secretSegment = slack.webhookPath.split('/').at(-1)!;
    const wrong = `${server.url}/services/T00000000/B00000000/YYYYYYYYYYYYYYYYYYYYYYYY`;
    const make = (url: string) =>
      createTargetClient({ target: 'slack', baseUrl: url, auth: webhookUrlAuth(), check: slackWebhookCheck, log: (l) => lines.push(l) });

    await make(`${server.url}${slack.webhookPath}`).send({ method: 'POST', json: { text: 'hello' } });
    expect(server.requests[0]?.headers.authorization).toBeUndefined();
    expect(server.requests[0]?.path).toBe(slack.webhookPath);
    expect(slack.posted).toEqual([{ text: 'hello' }]);

    const err = await failure(make(wrong).send({ method: 'POST', json: { text: 'hello' } }));
    expect(err).toMatchObject({ kind: 'terminal', statusCode: 404 });
    expect(err.message).toContain(`${server.url}/services/…`);
    expectNoneOf(everythingShown(err) + lines.join('\n'), [secretSegment, 'YYYYYYYYYYYYYYYYYYYYYYYY', 'T00000000/B00000000']);
    expect(lines).toHaveLength(2);
  });

  it('a webhook client cannot add a path to its URL (it would garble the credential)', async () => {
    const client = createTargetClient({ target: 'teams', baseUrl: 'https://example.logic.azure.com/workflows/x/triggers/manual/paths/invoke?sig=abcdefgh', auth: webhookUrlAuth() });
    await expect(client.send({ method: 'POST', path: '/more', body: '{}' })).rejects.toMatchObject({ kind: 'validation' });
  });
});

describe('acsHmacAuth (Azure Communication Services access key)', () => {
  const accessKey = Buffer.from('an ACS access key of sixty-four bytes, as the portal makes them!!').toString('base64');

  async function acsClient(key: string, clock = () => NOW) {
    const acs = createFakeAcs({ accessKey, now: () => NOW });
    const { server, client, lines } = await clientOn(acs.handler, { target: 'acs', auth: acsHmacAuth(key, { now: clock }), now: clock });
    return { acs, server, client, lines };
  }

  it('a POST with a body and a query: the fake recomputes the signature and accepts it', async () => {
    const { acs, server, client } = await acsClient(accessKey);
    const res = await client.send({
      method: 'POST',
      path: '/emails:send?api-version=2023-03-31',
      json: { senderAddress: 'DoNotReply@contoso.com', content: { subject: 'Sentinel incident 123 — ünïcode' } },
    });
    expect(res.status).toBe(202);
    expect(acs.rejections).toEqual([]);
    expect(acs.accepted).toHaveLength(1);
    const req = server.requests[0]!;
    expect(req.headers['x-ms-date']).toBe(new Date(NOW).toUTCString());
    expect(req.headers.authorization).toMatch(/^HMAC-SHA256 SignedHeaders=x-ms-date;host;x-ms-content-sha256&Signature=[A-Za-z0-9+/]+=*$/);
  });

  it('a GET without a body signs the hash of the empty string', async () => {
    const { acs, server, client } = await acsClient(accessKey);
    await client.send({ method: 'GET', path: '/emails/operations/op-1?api-version=2023-03-31' });
    expect(acs.rejections).toEqual([]);
    expect(server.requests[0]?.headers['x-ms-content-sha256']).toBe('47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=');
  });

  it('each attempt is signed with its own date', async () => {
    let t = NOW;
    const { acs, server, client } = await acsClient(accessKey, () => t);
    await client.send({ method: 'GET', path: '/emails/operations/op-1?api-version=2023-03-31' });
    t += 61_000;
    await client.send({ method: 'GET', path: '/emails/operations/op-1?api-version=2023-03-31' });
    expect(acs.accepted).toHaveLength(2);
    expect(new Set(server.requests.map((r) => r.headers['x-ms-date'])).size).toBe(2);
  });

  it('a wrong key is refused (auth), and neither key nor signature shows in the error', async () => {
    const wrongKey = Buffer.from('not the key of this resource, but well-formed base64 all the same').toString('base64');
    const { acs, server, client, lines } = await acsClient(wrongKey);
    const err = await failure(client.send({ method: 'POST', path: '/sms?api-version=2021-03-07', json: { from: '+18005550100', smsRecipients: [{ to: '+14255550123' }], message: 'x' } }));
    expect(err).toMatchObject({ kind: 'auth', statusCode: 401 });
    expect(acs.rejections).toEqual(['signature does not match']);
    const sent = String(server.requests[0]?.headers.authorization);
    expectNoneOf(everythingShown(err) + lines.join('\n'), [wrongKey, sent, sent.split('Signature=')[1]!]);
  });

  it('a date outside the server\'s window is refused: the signer uses the client clock', async () => {
    const { acs, client } = await acsClient(accessKey, () => NOW - 20 * 60_000);
    await expect(client.send({ method: 'GET', path: '/emails/operations/op-1' })).rejects.toMatchObject({ kind: 'auth' });
    expect(acs.rejections[0]).toMatch(/x-ms-date/);
  });

  it('a key that is not base64 (a pasted connection string) is a config error that does not echo it', () => {
    const pasted = 'endpoint=https://contoso.communication.azure.com/;accesskey=abc';
    let err: unknown;
    try {
      acsHmacAuth(pasted);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(KitError);
    expect((err as KitError).kind).toBe('config');
    expect((err as KitError).message).not.toContain('accesskey=abc');
  });
});

/** A TokenCredential that hands out numbered tokens, on a test clock, and can be made to fail. */
class FakeCredential implements TokenCredential {
  calls: Array<{ scopes: string | string[]; options?: GetTokenOptions }> = [];
  lifetimeMs = 60 * 60_000;
  refreshAfterMs: number | undefined;
  failWith: Error | undefined;
  private n = 0;
  private release: (() => void) | undefined;
  private gate: Promise<void> | undefined;
  constructor(private readonly now: () => number) {}

  /** the next getToken waits until `open()` */
  hold(): void {
    this.gate = new Promise((resolve) => {
      this.release = resolve;
    });
  }
  open(): void {
    this.release?.();
    this.gate = undefined;
  }

  async getToken(scopes: string | string[], options?: GetTokenOptions): Promise<AccessToken | null> {
    this.calls.push({ scopes, ...(options ? { options } : {}) });
    if (this.gate) await this.gate;
    if (this.failWith) throw this.failWith;
    this.n++;
    const t = this.now();
    return {
      token: `eyJ0eXAiOiJKV1Qi.entra-token-${this.n}.c2lnbmF0dXJl`,
      expiresOnTimestamp: t + this.lifetimeMs,
      ...(this.refreshAfterMs === undefined ? {} : { refreshAfterTimestamp: t + this.refreshAfterMs }),
    };
  }
}

function namedError(name: string, message: string, extra: Record<string, unknown> = {}): Error {
  const e = new Error(message);
  e.name = name;
  Object.assign(e, extra);
  return e;
}

describe('entraTokenAuth', () => {
  const SCOPE = 'https://communication.azure.com/.default';

  async function setup(handler: FakeHandler = (req) => reply(200, { auth: req.headers.authorization })) {
    let t = NOW;
    const clock = { now: () => t, advance: (ms: number) => (t += ms) };
    const credential = new FakeCredential(clock.now);
    const { server, client, lines } = await clientOn(handler, { target: 'acs', auth: entraTokenAuth({ scope: SCOPE, credential, now: clock.now }) });
    const seen = () => server.requests.map((r) => r.headers.authorization);
    return { clock, credential, server, client, lines, seen };
  }

  it('asks for the scope once and presents the token as Bearer while it is fresh', async () => {
    const { credential, client, seen } = await setup();
    for (let i = 0; i < 3; i++) await client.send({ method: 'GET', path: '/x' });
    expect(credential.calls).toHaveLength(1);
    expect(credential.calls[0]?.scopes).toEqual([SCOPE]);
    expect(seen()).toEqual(Array(3).fill('Bearer eyJ0eXAiOiJKV1Qi.entra-token-1.c2lnbmF0dXJl'));
  });

  it('refreshes within the refresh window before expiry, not before', async () => {
    const { clock, credential, client, seen } = await setup();
    await client.send({ method: 'GET', path: '/x' });
    clock.advance(credential.lifetimeMs - ENTRA_REFRESH_WINDOW_MS - 1);
    await client.send({ method: 'GET', path: '/x' });
    expect(credential.calls).toHaveLength(1);
    clock.advance(1);
    await client.send({ method: 'GET', path: '/x' });
    expect(credential.calls).toHaveLength(2);
    expect(seen().at(-1)).toBe('Bearer eyJ0eXAiOiJKV1Qi.entra-token-2.c2lnbmF0dXJl');
  });

  it("honours the credential's earlier refreshAfterTimestamp (managed identity sets one)", async () => {
    const { clock, credential, client } = await setup();
    credential.refreshAfterMs = 10 * 60_000;
    await client.send({ method: 'GET', path: '/x' });
    clock.advance(10 * 60_000);
    await client.send({ method: 'GET', path: '/x' });
    expect(credential.calls).toHaveLength(2);
  });

  it('concurrent requests share one token request', async () => {
    const { credential, client, seen } = await setup();
    credential.hold();
    const all = Promise.all([1, 2, 3].map(() => client.send({ method: 'GET', path: '/x' })));
    await new Promise((r) => setImmediate(r));
    credential.open();
    await all;
    expect(credential.calls).toHaveLength(1);
    expect(new Set(seen())).toEqual(new Set(['Bearer eyJ0eXAiOiJKV1Qi.entra-token-1.c2lnbmF0dXJl']));
  });

  it('a failed refresh while the cached token still has time left uses the cached token', async () => {
    const { clock, credential, client, seen } = await setup();
    await client.send({ method: 'GET', path: '/x' });
    clock.advance(credential.lifetimeMs - ENTRA_REFRESH_WINDOW_MS);
    credential.failWith = namedError('AuthenticationError', 'IMDS timed out', { statusCode: 503 });
    await client.send({ method: 'GET', path: '/x' });
    expect(credential.calls).toHaveLength(2);
    expect(seen()).toEqual(Array(2).fill('Bearer eyJ0eXAiOiJKV1Qi.entra-token-1.c2lnbmF0dXJl'));
  });

  it('a 401 drops the cached token, so the retry asks again', async () => {
    const { credential, client, seen } = await setup(failTimes(1, reply(401, { error: { code: 'InvalidAuthenticationToken' } }), () => reply(200, {})));
    await expect(client.send({ method: 'GET', path: '/x' })).rejects.toMatchObject({ kind: 'auth' });
    await client.send({ method: 'GET', path: '/x' });
    expect(credential.calls).toHaveLength(2);
    expect(seen()).toEqual(['Bearer eyJ0eXAiOiJKV1Qi.entra-token-1.c2lnbmF0dXJl', 'Bearer eyJ0eXAiOiJKV1Qi.entra-token-2.c2lnbmF0dXJl']);
  });

  it('no identity → auth; the token service down → retryable; throttled → rate-limited; nothing is sent', async () => {
    const { credential, client, server } = await setup();
    credential.failWith = namedError('CredentialUnavailableError', 'ManagedIdentityCredential: no managed identity endpoint found');
    await expect(client.send({ method: 'GET', path: '/x' })).rejects.toMatchObject({ kind: 'auth', message: expect.stringContaining('could not get an Entra token for https://communication.azure.com/.default') });
    credential.failWith = namedError('AuthenticationError', 'service unavailable', { statusCode: 503 });
    await expect(client.send({ method: 'GET', path: '/x' })).rejects.toMatchObject({ kind: 'retryable', statusCode: 503 });
    credential.failWith = namedError('AuthenticationError', 'too many requests', { statusCode: 429 });
    await expect(client.send({ method: 'GET', path: '/x' })).rejects.toMatchObject({ kind: 'rate-limited' });
    credential.failWith = namedError('AuthenticationError', 'AADSTS700016: application not found', { statusCode: 400 });
    await expect(client.send({ method: 'GET', path: '/x' })).rejects.toMatchObject({ kind: 'auth' });
    expect(server.requests).toHaveLength(0);
  });

  it('passes the abort signal to the credential', async () => {
    const { credential, client } = await setup();
    const controller = new AbortController();
    await client.send({ method: 'GET', path: '/x', signal: controller.signal });
    expect(credential.calls[0]?.options?.abortSignal).toBe(controller.signal);
  });

  it('the token is never in an error or log line, also when the target echoes it', async () => {
    const { client, lines } = await setup((req) => reply(400, `bad token ${req.headers.authorization ?? ''}`));
    const err = await failure(client.send({ method: 'GET', path: '/x' }));
    expect(err.kind).toBe('terminal');
    expectNoneOf(everythingShown(err) + lines.join('\n'), ['entra-token-1', 'eyJ0eXAiOiJKV1Qi.entra-token-1.c2lnbmF0dXJl']);
    expect(err.message).toContain('[redacted]');
  });

  it('@azure/identity is only a type import in the connectors (loaded on first use, not at cold start)', () => {
    for (const file of ['auth.ts', 'client.ts', 'checks.ts', 'send.ts', 'user-agent.ts', 'index.ts']) {
      const source = readFileSync(new URL(`../../functions/connectors/http/${file}`, import.meta.url), 'utf8');
      for (const line of source.split('\n').filter((l) => /^import\b.*['"]@azure\/identity['"]/.test(l))) {
        expect(line, file).toMatch(/^import type /);
      }
    }
  });
});

describe('abort and keep-alive', () => {
  it('a caller abort mid-request → retryable "cancelled"', async () => {
    const { client } = await clientOn(() => hang(), { auth: bearerAuth('tok-123456'), timeoutMs: 30_000 });
    const controller = new AbortController();
    const pending = client.send({ method: 'GET', path: '/slow', signal: controller.signal });
    setTimeout(() => controller.abort(), 20);
    const err = await failure(pending);
    expect(err.kind).toBe('retryable');
    expect(err.message).toMatch(/cancelled/);
  });

  it('a signal already aborted sends nothing', async () => {
    const { server, client } = await clientOn(() => reply(200), { auth: bearerAuth('tok-123456') });
    const err = await failure(client.send({ method: 'GET', path: '/x', signal: AbortSignal.abort() }));
    expect(err.kind).toBe('retryable');
    expect(server.requests).toHaveLength(0);
  });

  // undici (Node's fetch) marks a connection free one setImmediate after the response completes,
  // while the body promise resolves before that. A delivery always does some work between calls, and
  // one turn of the event loop is enough (setImmediate callbacks run in order, so this is not timing).
  const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

  it('sequential requests reuse one kept-alive connection', async () => {
    const { server, client } = await clientOn(() => reply(200, { ok: true }), { auth: bearerAuth('tok-123456') });
    for (let i = 0; i < 6; i++) {
      await client.send({ method: i % 2 ? 'POST' : 'GET', path: `/r${i}`, ...(i % 2 ? { json: { i } } : {}) });
      await nextTurn();
    }
    expect(server.requests).toHaveLength(6);
    expect(server.connections).toBe(1);
  });

  it('strictly back-to-back requests share a pool of at most two kept-alive connections, not one each', async () => {
    const { server, client } = await clientOn(() => reply(200, { ok: true }), { auth: bearerAuth('tok-123456') });
    for (let i = 0; i < 10; i++) await client.send({ method: 'GET', path: `/r${i}` });
    expect(server.requests).toHaveLength(10);
    expect(server.connections).toBeLessThanOrEqual(2);
  });

  it('after a reset the next request opens a new connection and succeeds', async () => {
    const { server, client } = await clientOn(failTimes(1, reset(), () => reply(200, {})), { auth: bearerAuth('tok-123456') });
    await expect(client.send({ method: 'GET', path: '/x' })).rejects.toMatchObject({ kind: 'retryable' });
    await expect(client.send({ method: 'GET', path: '/x' })).resolves.toMatchObject({ status: 200 });
    expect(server.connections).toBe(2);
  });
});

describe('status classification through the client', () => {
  it('429 with Retry-After → rate-limited with that delay; 5xx → retryable; a timeout → retryable', async () => {
    let answer: ReturnType<typeof reply> | ReturnType<typeof hang> = rateLimited(42);
    const { client } = await clientOn(() => answer, { auth: bearerAuth('tok-123456'), timeoutMs: 150 });
    await expect(client.send({ method: 'GET' })).rejects.toMatchObject({ kind: 'rate-limited', statusCode: 429, retryAfterMs: 42_000 });
    answer = serverError(503, { 'retry-after': '5' });
    await expect(client.send({ method: 'GET' })).rejects.toMatchObject({ kind: 'retryable', statusCode: 503, retryAfterMs: 5000 });
    answer = hang();
    await expect(client.send({ method: 'GET' })).rejects.toMatchObject({ kind: 'retryable', message: expect.stringMatching(/no complete response within 150 ms/) });
  });
});

describe('Slack: a 200 that is an error', () => {
  async function webApi(handler?: FakeHandler) {
    const slack = createFakeSlack({ botToken: 'xoxb-1111-2222-abcdefabcdef' });
    const { server, client, lines } = await clientOn(handler ?? slack.handler, { target: 'slack', auth: bearerAuth('xoxb-1111-2222-abcdefabcdef'), check: slackWebApiCheck, now: () => NOW });
    return { slack, server, client, lines };
  }
  const post = (channel = 'C0123456789') => ({ method: 'POST', path: '/api/chat.postMessage', json: { channel, text: 'hi' } });

  it('channel_not_found → terminal, naming Slack\'s code', async () => {
    const { client } = await webApi();
    const err = await failure(client.send(post('C9999999999')));
    expect(err).toMatchObject({ kind: 'terminal', statusCode: 200 });
    expect(err.message).toMatch(/^slack: HTTP 200 on POST .* but Slack says ok:false \(channel_not_found\)/);
  });

  it('invalid_auth and token_revoked → auth, without the token in the message', async () => {
    for (const error of ['invalid_auth', 'token_revoked']) {
      const { client, lines } = await webApi(() => reply(200, { ok: false, error }));
      const err = await failure(client.send(post()));
      expect(err.kind).toBe('auth');
      expect(err.message).toContain(`(${error})`);
      expectNoneOf(everythingShown(err) + lines.join('\n'), ['xoxb-1111-2222-abcdefabcdef']);
    }
  });

  it('a real rate limit (429 + Retry-After) and a ratelimited inside a 200 are both rate-limited with the delay', async () => {
    const { slack, client } = await webApi();
    slack.rateLimitNext(1, 30);
    await expect(client.send(post())).rejects.toMatchObject({ kind: 'rate-limited', statusCode: 429, retryAfterMs: 30_000 });
    const inside = await webApi(() => reply(200, { ok: false, error: 'ratelimited' }, { 'retry-after': '7' }));
    await expect(inside.client.send(post())).rejects.toMatchObject({ kind: 'rate-limited', retryAfterMs: 7000 });
  });

  it("Slack's own failures → retryable; an answer that is not Web API JSON → terminal; ok:true → the response", async () => {
    await expect((await webApi(() => reply(200, { ok: false, error: 'internal_error' }))).client.send(post())).rejects.toMatchObject({ kind: 'retryable' });
    await expect((await webApi(() => reply(200, '<html>captive portal</html>'))).client.send(post())).rejects.toMatchObject({ kind: 'terminal' });
    await expect((await webApi(() => reply(200, { channel: 'C1' }))).client.send(post())).rejects.toMatchObject({ kind: 'terminal' });
    const res = await (await webApi()).client.send(post());
    expect(res.json<{ ok: boolean }>().ok).toBe(true);
  });

  it('an unvetted error code is not echoed', async () => {
    const { client } = await webApi(() => reply(200, { ok: false, error: '<script>alert(1)</script> long free text' }));
    const err = await failure(client.send(post()));
    expect(err.message).toContain('(unknown_error)');
  });

  it('incoming webhook: "ok" is sent; any other 200 body is terminal', async () => {
    const slack = createFakeSlack();
    const server = await serve(failTimes(1, reply(200, 'please log in to the proxy'), slack.handler));
    const client = createTargetClient({ target: 'slack', baseUrl: `${server.url}${slack.webhookPath}`, auth: webhookUrlAuth(), check: slackWebhookCheck });
    await expect(client.send({ method: 'POST', json: { text: 'x' } })).rejects.toMatchObject({ kind: 'terminal', statusCode: 200 });
    await expect(client.send({ method: 'POST', json: { text: 'x' } })).resolves.toMatchObject({ status: 200, text: 'ok' });
  });
});

describe('Teams: 202 is sent; a connector that wraps its failure in a 200 is not', () => {
  const wrapped = (status: number) =>
    reply(200, `Webhook message delivery failed with error: Microsoft Teams endpoint returned HTTP error ${status} with ContextId tcid=0,server=msgapi-production,cv=abc.0..`, {
      'content-type': 'text/plain; charset=utf-8',
    });

  it.each([
    [429, 'rate-limited'],
    [413, 'terminal'],
    [403, 'auth'],
    [502, 'retryable'],
  ])('a wrapped HTTP %i → %s', async (status, kind) => {
    const { client } = await clientOn(() => wrapped(status), { target: 'teams', auth: webhookUrlAuth(), check: teamsWorkflowsCheck });
    const err = await failure(client.send({ method: 'POST', body: '{}' }));
    expect(err).toMatchObject({ kind, statusCode: status });
    if (kind === 'rate-limited') expect(err.retryAfterMs).toBeGreaterThan(0);
  });

  it('"Error contacting Microsoft Teams endpoint" in a 200 → retryable; a 202 or 200 without it → sent', async () => {
    let answer = reply(200, 'Webhook message delivery failed with error: Error contacting Microsoft Teams endpoint');
    const { client } = await clientOn(() => answer, { target: 'teams', auth: webhookUrlAuth(), check: teamsWorkflowsCheck });
    await expect(client.send({ method: 'POST', body: '{}' })).rejects.toMatchObject({ kind: 'retryable' });
    answer = reply(202);
    await expect(client.send({ method: 'POST', body: '{}' })).resolves.toMatchObject({ status: 202 });
    answer = reply(200, '1');
    await expect(client.send({ method: 'POST', body: '{}' })).resolves.toMatchObject({ status: 200 });
  });

  it('the Teams connector runs the check: a wrapped 429 is re-queued, and the sig is in no error', async () => {
    const SIG = 'c2lnLXZhbHVlLWZvci10ZXN0cy0xMjM0NTY3ODkw';
    const teams = createFakeTeams({ sig: SIG });
    const server = await serve(failTimes(1, wrapped(429), teams.handler));
    const url = `${server.url}${teams.path}?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=${SIG}`;
    const receiver = { kind: 'teams' as const, webhookUrl: 'env:SOC_TEAMS_WEBHOOK' };
    const connector = createTeamsConnector({ receiverName: 'soc-teams', receiver, env: { SOC_TEAMS_WEBHOOK: url } });
    const step = makeStep();
    const request = { step, receiverName: 'soc-teams', receiver, rendered: renderedTeams(step.incident), existingTicket: null };
    const err = await failure(connector.execute(request));
    expect(err.kind).toBe('rate-limited');
    expectNoneOf(everythingShown(err), [SIG, teams.path]);
    expect(server.requests[0]?.headers['user-agent']).toBe(KIT_USER_AGENT);
  });
});

describe('secrets in no error and no log line, whatever the failure', () => {
  const SECRET = 'ATATT3xFfGF0-very-secret-token';
  const cases: Array<[string, FakeHandler]> = [
    ['400 echoing the request', (req) => reply(400, { errorMessages: [`bad ${req.headers.authorization ?? ''} at ${req.rawUrl ?? ''}`] })],
    ['401', () => reply(401, 'Client must be authenticated')],
    ['429', () => rateLimited(3)],
    ['503', () => serverError(503)],
    ['reset', () => reset()],
    ['302 to a URL with the token', () => reply(302, '', { location: `https://evil.example/?token=${SECRET}` })],
  ];

  it.each(cases)('basic auth, %s', async (_name, handler) => {
    const { client, lines } = await clientOn(handler, { target: 'jira', auth: basicAuth('bot@contoso.com', SECRET) });
    const err = await failure(client.send({ method: 'POST', path: '/rest/api/3/issue?token=abcdefghijklmnopqrstuvwxyz', json: { a: 1 } }));
    const basic = Buffer.from(`bot@contoso.com:${SECRET}`).toString('base64');
    expectNoneOf(everythingShown(err) + lines.join('\n'), [SECRET, basic, `Basic ${basic}`, 'abcdefghijklmnopqrstuvwxyz']);
    expect(lines.length).toBeGreaterThan(0);
  });

  it('a policy that throws a plain Error naming the secret becomes a redacted retryable KitError', async () => {
    const leaky: HttpPolicy = {
      name: 'leaky',
      sendRequest(request) {
        request.secrets.push(SECRET);
        throw new TypeError(`oops, could not use ${SECRET}`);
      },
    };
    const { client, lines } = await clientOn(() => reply(200), { auth: bearerAuth('tok-123456'), policies: [leaky] });
    const err = await failure(client.send({ method: 'GET' }));
    expect(err.kind).toBe('retryable');
    expectNoneOf(everythingShown(err) + lines.join('\n'), [SECRET]);
  });
});

describe('the client', () => {
  it('runs log, User-Agent, the caller\'s policies, then auth; rejects a policy twice', async () => {
    const seenByCustom: Array<string | null> = [];
    const custom: HttpPolicy = {
      name: 'custom',
      sendRequest(request, next) {
        seenByCustom.push(request.headers.get('user-agent'), request.headers.get('authorization'));
        return next(request);
      },
    };
    const { client } = await clientOn(() => reply(200), { auth: bearerAuth('tok-123456'), policies: [custom] });
    expect(client.policyNames()).toEqual(['log', 'userAgent', 'custom', 'auth:bearer']);
    await client.send({ method: 'GET' });
    expect(seenByCustom).toEqual([KIT_USER_AGENT, null]);
    expect(() => createTargetClient({ target: 'x', baseUrl: 'https://example.com', auth: bearerAuth('t'), policies: [custom, custom] })).toThrow(/twice/);
  });

  it('serialises json once with Content-Type application/json, joins paths, and refuses http off loopback', async () => {
    const server = await serve(() => reply(201, {}));
    const c = createTargetClient({ target: 'x', baseUrl: `${server.url}/base/`, auth: bearerAuth('tok-123456') });
    await c.send({ method: 'post', path: '/rest/issue?expand=x', json: { a: [1, 'ü'] } });
    const req = server.requests[0]!;
    expect(req).toMatchObject({ method: 'POST', path: '/base/rest/issue', body: '{"a":[1,"ü"]}' });
    expect(req.query.get('expand')).toBe('x');
    expect(req.headers['content-type']).toBe('application/json');
    expect(() => createTargetClient({ target: 'x', baseUrl: 'http://contoso.example', field: 'receivers.x.baseUrl', auth: bearerAuth('t') })).toThrow(/receivers\.x\.baseUrl must be an https URL/);
    await expect(c.send({ method: 'POST', body: 'x', json: {} })).rejects.toMatchObject({ kind: 'validation' });
  });
});
