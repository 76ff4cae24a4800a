/**
 * The ticket contract: what every ticket target (engine + target functions) must do against its loopback
 * fake. A target joins by giving a harness (`MakeTicketHarness`): a connector on its fake, a way to make
 * the fake fail one kind of call (before or after it acted), and a view of the fake's tickets.
 *
 *   ticketTargetContract('jira', makeJiraHarness)
 *
 * The faults are the ones that turn naive clients into duplicate makers: an answer lost after the target
 * acted, a redelivered step, a ticket changed behind the kit's back, a lagging search index.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Connector, DeliveryRequest } from '../../../functions/connectors/types.js';
import type { DeliveryStep, TicketRef } from '../../../functions/core/delivery.js';
import type { Change } from '../../../functions/core/model.js';
import { KitError } from '../../../functions/core/errors.js';
import { makeIncident, makeStep } from '../../fixtures/incident.js';
import { rateLimited, reset, resetMidBody, serverError, type FakeResult } from '../../helpers/fake-server.js';

/** the kinds of call a harness can make fail; each target maps them to its own endpoints */
export type TicketCall = 'find' | 'create' | 'comment' | 'transition';

export interface TicketHarness {
  receiverName: string;
  kind: DeliveryStep['kind'];
  /** whether this target (as configured in this harness) reopens a resolved ticket on reactivation */
  reopens: boolean;
  /** how long the fake's search lags behind a create (0: read-after-write) */
  searchLagMs: number;
  /** a connector on the fake; each call is a new process (no memory of earlier creates) */
  connector(options?: { onTicketCreated?: (t: TicketRef) => Promise<void> }): Connector;
  /** a connector whose credentials the fake refuses */
  connectorWithWrongCredentials(): Connector;
  /** the secret that the wrong-credentials connector sends (it must appear in no error) */
  wrongSecret: string;
  request(step: DeliveryStep, existingTicket: TicketRef | null): DeliveryRequest;
  /** the next `times` (default 1) calls of this kind fail; `after`: the fake acts first, then fails */
  fail(call: TicketCall, failure: FakeResult, options?: { when?: 'before' | 'after'; times?: number }): void;
  /** the fake's tickets for an incident, oldest first */
  tickets(incidentKey: string): Array<{ state: 'open' | 'resolved'; comments: number }>;
  /** requests the fake has received so far */
  requestCount(): number;
  /** the fake's clock (search lag); the queue's visibility delay is modelled by moving it */
  advance(ms: number): void;
  close(): Promise<void>;
}

export type MakeTicketHarness = () => Promise<TicketHarness>;

const KEY = 'contract-4711';
const reactivation: Change = { kind: 'status', from: 'Closed', to: 'Active', id: 'status:active#2' };

export function ticketTargetContract(name: string, makeHarness: MakeTicketHarness): void {
  describe(`ticket target contract: ${name}`, () => {
    const open: TicketHarness[] = [];
    afterEach(async () => {
      await Promise.all(open.splice(0).map((h) => h.close()));
    });

    async function setup() {
      const h = await makeHarness();
      open.push(h);
      const step = (action: 'upsert' | 'resolve', idempotencyKey: string, changes?: Change[]): DeliveryStep => {
        const incident = makeIncident({ key: KEY });
        return makeStep({
          incident,
          incidentKey: KEY,
          receiver: h.receiverName,
          kind: h.kind,
          stepType: 'ticket',
          ticketAction: action,
          template: 'ticket',
          idempotencyKey: idempotencyKey.repeat(64 / idempotencyKey.length),
          ...(changes ? { changes } : {}),
        });
      };
      const deliver = (c: Connector, s: DeliveryStep, ticket: TicketRef | null = null) => c.execute(h.request(s, ticket));
      const failure = (p: Promise<unknown>) => p.then(() => { throw new Error('expected the delivery to fail'); }, (e: unknown) => e as KitError);
      return { h, step, deliver, failure };
    }

    it('response lost after create: the retry, after the delay the error asks for, makes no second ticket', async () => {
      for (const lost of [reset(), serverError(502), resetMidBody(201)]) {
        const { h, step, deliver, failure } = await setup();
        h.fail('create', lost, { when: 'after' });
        const err = await failure(deliver(h.connector(), step('upsert', 'a')));
        expect(err).toBeInstanceOf(KitError);
        expect(err.kind).toBe('retryable');
        expect(h.tickets(KEY)).toHaveLength(1);
        // another process retries once the queue hands the step back
        h.advance(err.retryAfterMs ?? 0);
        const retry = await deliver(h.connector(), step('upsert', 'a'));
        expect(retry.action).toBe('updated');
        expect(h.tickets(KEY)).toHaveLength(1);
      }
    });

    it('lagging search index: an in-doubt create waits out the lag, and the same process finds its own ticket at once', async () => {
      const { h, step, deliver, failure } = await setup();
      const one = h.connector();
      await deliver(one, step('upsert', 'a'));
      // the same process, store write lost: it remembers what it created
      await deliver(one, step('upsert', 'b'));
      expect(h.tickets(KEY)).toHaveLength(1);

      const other = await setup();
      other.h.fail('create', reset(), { when: 'after' });
      const err = await other.failure(other.deliver(other.h.connector(), other.step('upsert', 'a')));
      expect(err.retryAfterMs ?? 0).toBeGreaterThanOrEqual(other.h.searchLagMs);
      other.h.advance(err.retryAfterMs ?? 0);
      await other.deliver(other.h.connector(), other.step('upsert', 'a'));
      expect(other.h.tickets(KEY)).toHaveLength(1);
    });

    it('comment redelivered (answer lost, or the whole step again): one comment', async () => {
      for (const lost of [reset(), resetMidBody(201)]) {
        const { h, step, deliver, failure } = await setup();
        const created = await deliver(h.connector(), step('upsert', 'a'));
        const before = h.tickets(KEY)[0]!.comments;
        h.fail('comment', lost, { when: 'after' });
        expect((await failure(deliver(h.connector(), step('upsert', 'b'), created.ticket))).kind).toBe('retryable');
        await deliver(h.connector(), step('upsert', 'b'), created.ticket);
        await deliver(h.connector(), step('upsert', 'b'), created.ticket);
        expect(h.tickets(KEY)[0]!.comments).toBe(before + 1);
      }
    });

    it('ticket already resolved: a late close or update arrives as one comment, no error, still resolved', async () => {
      const { h, step, deliver } = await setup();
      const resolved = await deliver(h.connector(), step('resolve', 'a'));
      expect(resolved).toMatchObject({ action: 'resolved', ticket: { state: 'resolved' } });
      const comments = h.tickets(KEY)[0]!.comments;
      // the kit still thinks it is open (store lost the resolve): the transition is not there, the changes are
      const again = await deliver(h.connector(), step('resolve', 'b'), { ...resolved.ticket!, state: 'open' });
      expect(again.action).toBe('resolved');
      await deliver(h.connector(), step('resolve', 'b'), resolved.ticket);
      const late = await deliver(h.connector(), step('upsert', 'c'), resolved.ticket);
      expect(late.action).toBe('updated');
      expect(h.tickets(KEY)).toEqual([{ state: 'resolved', comments: comments + 2 }]);
    });

    it('incident reopened: the ticket is reopened (or, by design, gets a comment), once', async () => {
      const { h, step, deliver } = await setup();
      const resolved = await deliver(h.connector(), step('resolve', 'a'));
      const comments = h.tickets(KEY)[0]!.comments;
      const reopened = await deliver(h.connector(), step('upsert', 'b', [reactivation]), resolved.ticket);
      // the answer was lost and the store still says resolved: the redelivery changes nothing more
      await deliver(h.connector(), step('upsert', 'b', [reactivation]), resolved.ticket);
      expect(reopened.action).toBe('updated');
      expect(reopened.ticket?.state).toBe(h.reopens ? 'open' : 'resolved');
      expect(h.tickets(KEY)).toEqual([{ state: h.reopens ? 'open' : 'resolved', comments: comments + 1 }]);
    });

    it('429 with Retry-After: rate-limited with that delay, nothing created; the retry creates one ticket', async () => {
      const { h, step, deliver, failure } = await setup();
      h.fail('create', rateLimited(7));
      const err = await failure(deliver(h.connector(), step('upsert', 'a')));
      expect(err).toMatchObject({ kind: 'rate-limited', statusCode: 429, retryAfterMs: 7000 });
      expect(h.tickets(KEY)).toHaveLength(0);
      h.advance(7000);
      expect((await deliver(h.connector(), step('upsert', 'a'))).action).toBe('created');
      expect(h.tickets(KEY)).toHaveLength(1);
    });

    it('5xx: retryable, and the retry completes with one ticket', async () => {
      for (const call of ['find', 'create'] as const) {
        const { h, step, deliver, failure } = await setup();
        h.fail(call, serverError(503));
        expect((await failure(deliver(h.connector(), step('upsert', 'a')))).kind).toBe('retryable');
        h.advance(300_000);
        await deliver(h.connector(), step('upsert', 'a'));
        expect(h.tickets(KEY)).toHaveLength(1);
      }
    });

    it('connection reset mid-body on a read: retryable, nothing created', async () => {
      const { h, step, deliver, failure } = await setup();
      h.fail('find', resetMidBody(200));
      expect((await failure(deliver(h.connector(), step('upsert', 'a')))).kind).toBe('retryable');
      expect(h.tickets(KEY)).toHaveLength(0);
    });

    it('a failed transition is retryable and the retry resolves with one comment', async () => {
      const { h, step, deliver, failure } = await setup();
      const created = await deliver(h.connector(), step('upsert', 'a'));
      const comments = h.tickets(KEY)[0]!.comments;
      h.fail('transition', reset(), { when: 'after' });
      expect((await failure(deliver(h.connector(), step('resolve', 'b'), created.ticket))).kind).toBe('retryable');
      await deliver(h.connector(), step('resolve', 'b'), created.ticket);
      expect(h.tickets(KEY)).toEqual([{ state: 'resolved', comments: comments + 1 }]);
    });

    it('auth failure: classified auth, one request, no delay that reads as transient, no secret in the error', async () => {
      const { h, step, deliver, failure } = await setup();
      const before = h.requestCount();
      const err = await failure(deliver(h.connectorWithWrongCredentials(), step('upsert', 'a')));
      expect(err.kind).toBe('auth');
      expect(err.retryAfterMs).toBeUndefined();
      expect(h.requestCount() - before).toBe(1);
      expect(`${err.message} ${String(err.cause)}`).not.toContain(h.wrongSecret);
      expect(h.tickets(KEY)).toHaveLength(0);
    });
  });
}
