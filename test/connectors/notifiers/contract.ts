/**
 * The notifier contract: what every notifier connector must do against its loopback fake. A notifier
 * cannot be asked later whether a message arrived, so the one thing it must get right is the
 * classification of each answer — a wrong "sent" loses a message, a wrong "retryable" sends it twice
 * (or hammers a target that said no) — and it must never leak its credential into an error.
 *
 *   notifierContract('teams', makeTeamsHarness)
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Connector, DeliveryRequest } from '../../../functions/connectors/types.js';
import { KitError, type KitErrorKind } from '../../../functions/core/errors.js';
import { hang, rateLimited, reply, reset, resetMidBody, serverError, type FakeReply, type FakeResult } from '../../helpers/fake-server.js';

export interface NotifierHarness {
  /** a connector on the fake (short timeout: the fake's `hang` must end the call) */
  connector(): Connector;
  /** an ordinary message */
  request(): DeliveryRequest;
  /** a message whose rendered content is far over the target's size limit */
  oversizedRequest(): DeliveryRequest;
  /** the target's size limit for one request body, in bytes */
  maxBytes: number;
  /** the next `times` (default 1) requests get `result` instead of the fake's answer */
  answerNext(result: FakeResult, times?: number): void;
  /** 2xx answers that mean the delivery failed, and how each must be classified */
  successesThatFailed: Array<{ reply: FakeReply; kind: KitErrorKind; retryAfterMs?: number }>;
  /** messages the fake accepted, and the bodies of all requests it got */
  accepted(): unknown[];
  bodies(): string[];
  /** the credential (webhook URL, token); none of `secrets` may appear in any error */
  url: string;
  secrets: string[];
  close(): Promise<void>;
}

export type MakeNotifierHarness = () => Promise<NotifierHarness>;

/** everything an error carries that might be logged: message, cause chain, own properties */
function everythingIn(err: unknown): string {
  const seen: string[] = [];
  let e: unknown = err;
  for (let depth = 0; e !== undefined && e !== null && depth < 6; depth++) {
    if (e instanceof Error) seen.push(e.message, e.stack ?? '', JSON.stringify({ ...e }));
    else seen.push(String(e));
    e = e instanceof Error ? e.cause : undefined;
  }
  return seen.join('\n');
}

export function notifierContract(name: string, makeHarness: MakeNotifierHarness): void {
  describe(`notifier contract: ${name}`, () => {
    const open: NotifierHarness[] = [];
    afterEach(async () => {
      await Promise.all(open.splice(0).map((h) => h.close()));
    });
    async function setup() {
      const h = await makeHarness();
      open.push(h);
      const failure = (p: Promise<unknown>) => p.then(() => { throw new Error('expected the delivery to fail'); }, (e: unknown) => e as KitError);
      return { h, failure, deliver: () => h.connector().execute(h.request()) };
    }

    it('an ordinary message is sent once', async () => {
      const { h, deliver } = await setup();
      await expect(deliver()).resolves.toMatchObject({ action: 'sent', ticket: null });
      expect(h.accepted()).toHaveLength(1);
    });

    it('a 2xx that says the delivery failed is an error, classified as the body says', async () => {
      const { h, failure, deliver } = await setup();
      expect(h.successesThatFailed.length).toBeGreaterThan(0);
      for (const c of h.successesThatFailed) {
        h.answerNext(c.reply);
        const err = await failure(deliver());
        expect(err).toBeInstanceOf(KitError);
        expect(err.kind).toBe(c.kind);
        if (c.retryAfterMs !== undefined) expect(err.retryAfterMs).toBe(c.retryAfterMs);
      }
      expect(h.accepted()).toHaveLength(0);
    });

    it('429 is rate-limited with the Retry-After the target gave', async () => {
      const { h, failure, deliver } = await setup();
      h.answerNext(rateLimited(17));
      expect(await failure(deliver())).toMatchObject({ kind: 'rate-limited', statusCode: 429, retryAfterMs: 17_000 });
      h.answerNext(rateLimited(new Date(Date.UTC(2100, 0, 1))));
      expect((await failure(deliver())).kind).toBe('rate-limited');
    });

    it('5xx, resets, a reset mid-body and a hung connection are retryable; the retry sends', async () => {
      const { h, failure, deliver } = await setup();
      for (const answer of [serverError(500), serverError(503), reset(), resetMidBody(202), hang()]) {
        h.answerNext(answer);
        expect((await failure(deliver())).kind).toBe('retryable');
      }
      await deliver();
      expect(h.accepted()).toHaveLength(1);
    });

    it('401/403 are auth failures and other 4xx terminal: neither is retried as if transient', async () => {
      const { h, failure, deliver } = await setup();
      for (const [status, kind] of [[401, 'auth'], [403, 'auth'], [400, 'terminal'], [404, 'terminal']] as const) {
        h.answerNext(reply(status, { error: { code: 'X', message: 'no' } }));
        const err = await failure(deliver());
        expect(err.kind).toBe(kind);
        expect(err.retryAfterMs).toBeUndefined();
      }
    });

    it('an oversized message is cut to the target\'s limit and sent; a target that still refuses the size is terminal', async () => {
      const { h, failure } = await setup();
      await h.connector().execute(h.oversizedRequest());
      const body = h.bodies().at(-1)!;
      expect(Buffer.byteLength(body)).toBeLessThanOrEqual(h.maxBytes);
      expect(h.accepted()).toHaveLength(1);
      h.answerNext(reply(413, { error: { code: 'RequestEntityTooLarge', message: 'Request Entity too large' } }));
      expect(await failure(h.connector().execute(h.request()))).toMatchObject({ kind: 'terminal', statusCode: 413 });
    });

    it('no error carries the credential, even when the target echoes it back', async () => {
      const { h, failure, deliver } = await setup();
      const echoes: FakeResult[] = [
        reply(500, `upstream failed for ${h.url}`, { 'content-type': 'text/plain' }),
        reply(400, { error: { message: `bad request to ${h.url}`, secrets: h.secrets } }),
        reply(401, `unauthorised: ${h.secrets.join(' ')}`, { 'content-type': 'text/plain' }),
        reset(),
        hang(),
        ...h.successesThatFailed.map((c) => ({ ...c.reply, body: `${String(c.reply.body)} ${h.url}` })),
      ];
      for (const answer of echoes) {
        h.answerNext(answer);
        const text = everythingIn(await failure(deliver()));
        for (const secret of [h.url, ...h.secrets]) expect(text).not.toContain(secret);
      }
    });
  });
}
