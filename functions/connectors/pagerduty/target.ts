/**
 * PagerDuty as a ticket target: the small functions the ticket engine (`../tickets/engine.ts`) calls. The
 * "ticket" is the alert behind the dedup key `sentinel-<key>` (payload.ts pagerdutyDedupKey): the
 * TicketRef's id is that key, whatever the kit's store holds, so every event names the incident's alert.
 *
 * Events API only (routingKey):
 *  find        null: the Events API cannot be read. Nothing is lost: a trigger with the same dedup_key is
 *              deduplicated into the open alert, so a create repeated after a lost answer or a lost store
 *              write raises no second alert.
 *  create      trigger (the builder's create event)
 *  hasComment  false: nothing to read a marker from
 *  comment     the builder's update event into the open alert (trigger, deduplicated, or acknowledge when
 *              Defender Experts took the incident). Never to an alert the kit knows is resolved, nor for a
 *              step that resolves: a trigger there would raise a new alert and page again, so such
 *              changes cannot reach PagerDuty without the REST API.
 *  transition  resolve → moved-with-comment (the event has no room for the changes; resolving a resolved
 *              alert is accepted and changes nothing)
 *  reopen      (reopen: true, the default) trigger again: PagerDuty cannot reopen a resolved incident, so
 *              it raises a new one under the same dedup key and pages
 *
 * With the REST API (apiToken, fromEmail, serviceId; rest.ts), the incident is looked up by its key and:
 *  find        the incident, open or resolved (events are processed asynchronously: one a trigger raised
 *              seconds ago may not be listed yet, and then the create is simply repeated, deduplicated)
 *  hasComment  a note carrying the step's marker token
 *  comment     the update event (as above, unless the incident is resolved), then the note
 *  transition  already resolved → already-there; else resolve → moved, and the engine adds the note
 * An incident not listed yet gets the event only; its note follows with the step's next delivery, if any.
 */
import type { TicketRef } from '../../core/delivery.js';
import { KitError } from '../../core/errors.js';
import { resolveSecret } from '../secrets.js';
import { isReactivation, payloadInputFor, type TicketContext, type TicketTarget, type TransitionOutcome } from '../tickets/engine.js';
import type { Operation, PayloadInput } from '../types.js';
import { createEventsClient, sendEvent } from './events.js';
import { buildPagerdutyPayload, pagerdutyDedupKey } from './payload.js';
import { createRest, pagerdutyNoteRequest, type PagerdutyIncident, type PagerdutyRest } from './rest.js';
import type { PagerdutyReceiver } from './schema.js';

/**
 * With the REST API, how long an in-doubt create's retry waits, so that the lookup lists the incident
 * the first trigger raised and the retry adds a note instead of triggering again. PagerDuty documents no
 * processing time for events ("asynchronous"); seconds are usual. Without the REST API nothing can be
 * read, and a missed alert only costs a deduplicated trigger: 0.
 */
export const PAGERDUTY_REST_SETTLE_MS = 30_000;

export interface PagerdutyTargetOptions {
  receiverName: string;
  receiver: PagerdutyReceiver;
  env?: Record<string, string | undefined>;
  fetchTimeoutMs?: number;
}

interface RestSide {
  api: PagerdutyRest;
  fromEmail: string;
}

function openRest(options: PagerdutyTargetOptions, prefix: string, env: Record<string, string | undefined>): RestSide | null {
  const { receiver } = options;
  const apiToken = resolveSecret(receiver.apiToken, env, `${prefix}.apiToken`);
  if (apiToken === undefined) return null;
  const missing = (['fromEmail', 'serviceId'] as const).filter((f) => receiver[f] === undefined);
  if (receiver.fromEmail === undefined || receiver.serviceId === undefined) {
    throw new KitError(`${prefix}.apiToken needs ${missing.map((f) => `${prefix}.${f}`).join(' and ')} as well`, {
      kind: 'config',
      where: { field: `${prefix}.${missing[0]}` },
    });
  }
  const api = createRest({
    apiUrl: receiver.apiUrl,
    field: `${prefix}.apiUrl`,
    apiToken,
    serviceId: receiver.serviceId,
    ...(options.fetchTimeoutMs ? { timeoutMs: options.fetchTimeoutMs } : {}),
  });
  return { api, fromEmail: receiver.fromEmail };
}

/** Builds the target for one delivery; secrets are resolved here, so a missing one fails before any request. */
export function openPagerdutyTarget(options: PagerdutyTargetOptions): TicketTarget {
  const { receiverName, receiver } = options;
  const env = options.env ?? process.env;
  const prefix = `receivers.${receiverName}`;
  const resolvedKey = resolveSecret(receiver.routingKey, env, `${prefix}.routingKey`);
  if (resolvedKey === undefined) {
    throw new KitError(`${prefix}.routingKey is not set: this receiver delivers to the outbox, not to PagerDuty`, {
      kind: 'config',
      where: { field: `${prefix}.routingKey` },
    });
  }
  const routingKey: string = resolvedKey;
  const rest = openRest(options, prefix, env);
  // absent only where a receiver was built by hand rather than parsed: the schema's default
  const reopen = receiver.reopen !== false;
  if (!reopen && !rest) {
    throw new KitError(`${prefix}.reopen: false needs ${prefix}.apiToken: without the REST API a reactivation could reach PagerDuty only by triggering again`, {
      kind: 'config',
      where: { field: `${prefix}.reopen` },
    });
  }
  const events = createEventsClient({
    eventsUrl: receiver.eventsUrl,
    field: `${prefix}.eventsUrl`,
    routingKey,
    ...(options.fetchTimeoutMs ? { timeoutMs: options.fetchTimeoutMs } : {}),
  });

  // one target per delivery: the incident looked up once serves find, hasComment, comment and transition
  let known: PagerdutyIncident | null | undefined;
  async function incident(ctx: TicketContext): Promise<PagerdutyIncident | null> {
    if (!rest) return null;
    if (known === undefined) known = await rest.api.lookup(pagerdutyDedupKey(ctx.request.step.incidentKey), ctx.request.signal);
    return known;
  }

  const ref = (ctx: TicketContext, state: TicketRef['state'], found: PagerdutyIncident | null): TicketRef => ({
    receiver: receiverName,
    incidentKey: ctx.request.step.incidentKey,
    id: pagerdutyDedupKey(ctx.request.step.incidentKey),
    key: found?.id ?? null,
    url: found?.url ?? null,
    state,
  });

  const input = (ctx: TicketContext, operation: Operation, ticket: TicketRef | null): PayloadInput<PagerdutyReceiver> =>
    payloadInputFor(ctx, receiverName, receiver, ticket, operation);

  async function event(ctx: TicketContext, operation: Operation, ticket: TicketRef | null): Promise<void> {
    await sendEvent(events, buildPagerdutyPayload(input(ctx, operation, ticket)), {
      routingKey,
      dedupKey: pagerdutyDedupKey(ctx.request.step.incidentKey),
      field: `${prefix}.routingKey`,
      ...(ctx.request.signal ? { signal: ctx.request.signal } : {}),
    });
  }

  async function note(ctx: TicketContext, found: PagerdutyIncident, ticket: TicketRef): Promise<void> {
    if (!rest) return;
    await rest.api.addNote(pagerdutyNoteRequest(input(ctx, 'update', ticket), found.id, rest.fromEmail, ctx.marker.token), ctx.request.signal);
  }

  const resolvesHere = (ctx: TicketContext) => ctx.request.step.ticketAction === 'resolve' && !ctx.request.step.guidanceOnly;

  async function retrigger(ctx: TicketContext, ticket: TicketRef): Promise<TransitionOutcome> {
    await event(ctx, 'create', ticket);
    // the new incident is PagerDuty's to raise; nothing of the old one applies any more
    known = undefined;
    return 'moved-with-comment';
  }

  return {
    name: 'pagerduty',
    noun: 'alert',
    label: 'PagerDuty',
    settleMs: rest ? PAGERDUTY_REST_SETTLE_MS : 0,

    async find(ctx) {
      const found = await incident(ctx);
      return found ? ref(ctx, found.status === 'resolved' ? 'resolved' : 'open', found) : null;
    },

    async create(ctx) {
      await event(ctx, 'create', null);
      known = undefined;
      return ref(ctx, 'open', null);
    },

    async hasComment(ticket, ctx) {
      const found = await incident(ctx);
      return found !== null && rest !== null && (await rest.api.hasNote(found, ctx.marker.token, ctx.request.signal));
    },

    async comment(ticket, ctx) {
      const found = await incident(ctx);
      const resolved = found ? found.status === 'resolved' : ticket.state === 'resolved';
      // resolved in PagerDuty while the kit's store still says open: a reactivation pages again, as reopen would
      if (resolved && found && reopen && isReactivation(ctx.request)) {
        await retrigger(ctx, ticket);
        return;
      }
      if (!resolved && !resolvesHere(ctx)) await event(ctx, 'update', ticket);
      if (found) await note(ctx, found, ticket);
    },

    async transition(ticket, ctx) {
      const found = await incident(ctx);
      if (found?.status === 'resolved') return 'already-there';
      await event(ctx, 'resolve', ticket);
      if (!found) return 'moved-with-comment';
      known = { ...found, status: 'resolved' };
      return 'moved';
    },

    ...(reopen ? { reopen: (ticket: TicketRef, ctx: TicketContext) => retrigger(ctx, ticket) } : {}),
  };
}
