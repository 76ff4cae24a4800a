/**
 * The ticket engine's ordering on its own, with an in-memory target: no HTTP, so what these tests prove
 * is the engine's (store first, search before create, persist at once, settle delay, one comment per
 * marker, transition by name, reopen only on reactivation), whatever a target does.
 */
import { describe, expect, it } from 'vitest';
import { commentMarker, createTicketConnector, type TicketContext, type TicketTarget, type TransitionOutcome } from '../../../functions/connectors/tickets/engine.js';
import type { DeliveryRequest } from '../../../functions/connectors/types.js';
import type { ReceiverOf } from '../../../functions/config/schema.js';
import type { DeliveryStep, TicketRef } from '../../../functions/core/delivery.js';
import { KitError } from '../../../functions/core/errors.js';
import { makeStep } from '../../fixtures/incident.js';
import { renderedJira } from '../../fixtures/rendered.js';

interface MemTicket {
  ref: TicketRef;
  comments: string[];
}

function memoryTarget(options: { settleMs?: number; reopen?: boolean; transitionCarriesComment?: boolean } = {}) {
  const tickets: MemTicket[] = [];
  const calls: string[] = [];
  const faults: Partial<Record<'create' | 'find' | 'comment', () => Error>> = {};
  let foreign: TicketRef | null = null;
  const seenCreatedHere: Array<string | undefined> = [];
  const byRef = (t: TicketRef) => tickets.find((x) => x.ref.id === t.id)!;
  const move = async (t: TicketRef, ctx: TicketContext, to: TicketRef['state']): Promise<TransitionOutcome> => {
    const m = byRef(t);
    if (m.ref.state === to) return 'already-there';
    m.ref = { ...m.ref, state: to };
    if (options.transitionCarriesComment === false) return 'moved';
    m.comments.push(ctx.marker.idempotencyKey);
    return 'moved-with-comment';
  };
  const target: TicketTarget = {
    name: 'mem',
    noun: 'ticket',
    label: 'Memory',
    settleMs: options.settleMs ?? 30_000,
    async find(ctx) {
      calls.push('find');
      seenCreatedHere.push(ctx.createdHere?.id);
      if (faults.find) throw faults.find();
      if (foreign) return foreign;
      return tickets.find((t) => t.ref.incidentKey === ctx.request.step.incidentKey)?.ref ?? null;
    },
    async create(ctx) {
      calls.push('create');
      const ref: TicketRef = { receiver: 'mem', incidentKey: ctx.request.step.incidentKey, id: String(tickets.length + 1), key: null, url: null, state: 'open' };
      tickets.push({ ref, comments: [] });
      const fault = faults.create;
      if (fault) {
        delete faults.create;
        throw fault(); // the ticket exists, the answer is lost
      }
      return ref;
    },
    async hasComment(t, ctx) {
      calls.push('hasComment');
      return byRef(t).comments.includes(ctx.marker.idempotencyKey);
    },
    async comment(t, ctx) {
      calls.push('comment');
      byRef(t).comments.push(ctx.marker.idempotencyKey);
      const fault = faults.comment;
      if (fault) {
        delete faults.comment;
        throw fault();
      }
    },
    async transition(t, ctx) {
      calls.push('transition');
      return move(t, ctx, 'resolved');
    },
    ...(options.reopen
      ? {
          async reopen(t: TicketRef, ctx: TicketContext) {
            calls.push('reopen');
            return move(t, ctx, 'open');
          },
        }
      : {}),
  };
  return {
    target,
    tickets,
    calls,
    faults,
    seenCreatedHere,
    returnForeign: (t: TicketRef) => (foreign = t),
  };
}

const receiver: ReceiverOf<'jira'> = { kind: 'jira', baseUrl: undefined, email: 'env:E', apiToken: 'env:T', project: 'SOC', issueType: 'Task', doneTransition: 'Done', labels: [] };

function step(action: 'upsert' | 'resolve', overrides: Partial<DeliveryStep> = {}): DeliveryStep {
  return makeStep({ receiver: 'mem', kind: 'jira', stepType: 'ticket', ticketAction: action, template: 'ticket', ...overrides });
}
const request = (s: DeliveryStep, existingTicket: TicketRef | null = null): DeliveryRequest => ({ step: s, receiverName: 'mem', receiver, rendered: renderedJira(s.incident), existingTicket });
const reactivated = { kind: 'status' as const, from: 'Closed', to: 'Active', id: 'status:active#2' };
const lateActive = { kind: 'status' as const, from: 'New', to: 'Active', id: 'status:active#1' };

function setup(options: Parameters<typeof memoryTarget>[0] = {}, onTicketCreated?: (t: TicketRef) => Promise<void>) {
  const mem = memoryTarget(options);
  const connector = createTicketConnector({ name: 'mem', receiverName: 'mem', open: () => mem.target, ...(onTicketCreated ? { onTicketCreated } : {}) });
  return { ...mem, connector };
}

describe('ticket engine ordering', () => {
  it('no ticket known: searches, then creates, then stops', async () => {
    const { connector, calls, tickets } = setup();
    const result = await connector.execute(request(step('upsert')));
    expect(result).toMatchObject({ action: 'created', ticket: { id: '1', state: 'open' }, outbox: null });
    expect(calls).toEqual(['find', 'create']);
    expect(tickets).toHaveLength(1);
  });

  it('a ticket from the kit\'s store: no search, no create; looks for its marker, then comments', async () => {
    const { connector, calls, tickets } = setup();
    const first = await connector.execute(request(step('upsert')));
    calls.length = 0;
    const again = await connector.execute(request(step('upsert', { idempotencyKey: 'b'.repeat(64) }), first.ticket));
    expect(again.action).toBe('updated');
    expect(calls).toEqual(['hasComment', 'comment']);
    expect(tickets[0]!.comments).toEqual(['b'.repeat(64)]);
  });

  it('search finds the ticket: no second create, a comment instead', async () => {
    const { connector, calls, tickets } = setup();
    await connector.execute(request(step('upsert')));
    calls.length = 0;
    const again = await connector.execute(request(step('upsert', { idempotencyKey: 'c'.repeat(64) })));
    expect(again).toMatchObject({ action: 'updated', ticket: { id: '1' } });
    expect(calls).toEqual(['find', 'hasComment', 'comment']);
    expect(tickets).toHaveLength(1);
  });

  it('a search hit for another incident is refused, never commented on', async () => {
    const { connector, returnForeign, calls } = setup();
    returnForeign({ receiver: 'mem', incidentKey: 'someone-else', id: '99', key: null, url: null, state: 'open' });
    await expect(connector.execute(request(step('upsert')))).rejects.toMatchObject({ kind: 'terminal' });
    expect(calls).toEqual(['find']);
  });

  it('persists the created ticket before the next call of the same delivery, and a failing store does not fail it', async () => {
    const order: string[] = [];
    const { connector, calls } = setup({}, async (t) => {
      order.push(`stored ${t.id} after ${calls.join(',')}`);
      throw new Error('table storage down');
    });
    const result = await connector.execute(request(step('resolve')));
    expect(result).toMatchObject({ action: 'resolved', ticket: { id: '1', state: 'resolved' } });
    expect(order).toEqual(['stored 1 after find,create']);
    expect(calls).toEqual(['find', 'create', 'transition']);
  });

  it('an in-doubt create is retried no sooner than the settle delay; other failures keep their own delay', async () => {
    const { connector, faults } = setup({ settleMs: 30_000 });
    faults.create = () => new KitError('503', { kind: 'retryable', statusCode: 503, retryAfterMs: 5000 });
    await expect(connector.execute(request(step('upsert')))).rejects.toMatchObject({ kind: 'retryable', statusCode: 503, retryAfterMs: 30_000 });
    faults.create = () => new KitError('429', { kind: 'rate-limited', statusCode: 429, retryAfterMs: 9000 });
    await expect(connector.execute(request(step('upsert', { incident: makeStep().incident, incidentKey: 'other' })))).rejects.toMatchObject({ retryAfterMs: 9000 });
    const zero = setup({ settleMs: 0 });
    zero.faults.create = () => new KitError('reset', { kind: 'retryable' });
    await expect(zero.connector.execute(request(step('upsert')))).rejects.toMatchObject({ kind: 'retryable', retryAfterMs: undefined });
  });

  it('names the ticket it created in this process to the next search (read-after-write hint)', async () => {
    const { connector, seenCreatedHere } = setup();
    await connector.execute(request(step('upsert')));
    await connector.execute(request(step('upsert', { idempotencyKey: 'e'.repeat(64) })));
    expect(seenCreatedHere).toEqual([undefined, '1']);
  });

  it('a comment whose answer was lost is not added again by the retry', async () => {
    const { connector, faults, tickets } = setup();
    const first = await connector.execute(request(step('upsert')));
    faults.comment = () => new KitError('reset', { kind: 'retryable' });
    const s = step('upsert', { idempotencyKey: 'f'.repeat(64) });
    await expect(connector.execute(request(s, first.ticket))).rejects.toMatchObject({ kind: 'retryable' });
    await connector.execute(request(s, first.ticket));
    expect(tickets[0]!.comments).toEqual(['f'.repeat(64)]);
  });

  it('resolve: the transition carries the comment; a ticket already resolved gets the changes as one comment', async () => {
    const { connector, calls, tickets } = setup();
    const first = await connector.execute(request(step('upsert')));
    calls.length = 0;
    const resolved = await connector.execute(request(step('resolve'), first.ticket));
    expect(resolved).toMatchObject({ action: 'resolved', ticket: { state: 'resolved' } });
    expect(calls).toEqual(['transition']);
    const later = step('resolve', { idempotencyKey: 'd'.repeat(64) });
    await connector.execute(request(later, resolved.ticket));
    await connector.execute(request(later, resolved.ticket));
    expect(tickets[0]!.comments).toEqual(['a'.repeat(64), 'd'.repeat(64)]);
  });

  it('a target whose transition takes no comment gets the comment after it, once', async () => {
    const { connector, calls, tickets } = setup({ transitionCarriesComment: false });
    const first = await connector.execute(request(step('upsert')));
    calls.length = 0;
    await connector.execute(request(step('resolve', { idempotencyKey: 'g'.repeat(64) }), first.ticket));
    expect(calls).toEqual(['transition', 'hasComment', 'comment']);
    expect(tickets[0]!.comments).toEqual(['g'.repeat(64)]);
  });

  it('reactivation reopens a resolved ticket when the target can; a late update never does', async () => {
    const { connector, calls, tickets } = setup({ reopen: true });
    const created = await connector.execute(request(step('resolve')));
    calls.length = 0;
    const late = await connector.execute(request(step('upsert', { idempotencyKey: 'h'.repeat(64), changes: [lateActive] }), created.ticket));
    expect(late.ticket?.state).toBe('resolved');
    expect(calls).toEqual(['hasComment', 'comment']);
    calls.length = 0;
    const reopened = await connector.execute(request(step('upsert', { idempotencyKey: 'i'.repeat(64), changes: [reactivated] }), created.ticket));
    expect(reopened).toMatchObject({ action: 'updated', ticket: { state: 'open' } });
    expect(calls).toEqual(['reopen']);
    expect(tickets[0]!.ref.state).toBe('open');
    // the reopen's answer was lost and the store still says resolved: no second reopen comment
    await connector.execute(request(step('upsert', { idempotencyKey: 'i'.repeat(64), changes: [reactivated] }), created.ticket));
    expect(tickets[0]!.comments.filter((c) => c === 'i'.repeat(64))).toHaveLength(1);
  });

  it('reactivation on a target without reopen: the changes arrive as a comment, the ticket stays resolved', async () => {
    const { connector, tickets } = setup();
    const created = await connector.execute(request(step('resolve')));
    const result = await connector.execute(request(step('upsert', { idempotencyKey: 'j'.repeat(64), changes: [reactivated] }), created.ticket));
    expect(result).toMatchObject({ action: 'updated', ticket: { state: 'resolved' } });
    expect(tickets[0]!.comments).toEqual(['a'.repeat(64), 'j'.repeat(64)]);
  });

  it('refuses a notify step before opening the target', async () => {
    let opened = 0;
    const connector = createTicketConnector({ name: 'mem', receiverName: 'mem', open: () => (opened++, memoryTarget().target) });
    await expect(connector.execute(request(makeStep()))).rejects.toMatchObject({ kind: 'validation' });
    expect(opened).toBe(0);
  });

  it('the marker is the step key plus a short searchable token', () => {
    expect(commentMarker('0123456789abcdef'.repeat(4))).toEqual({ idempotencyKey: '0123456789abcdef'.repeat(4), token: '[spk:0123456789abcdef]' });
  });
});
