/**
 * The one exactly-once ticket engine. Every ticket target (Jira today; ServiceNow, Azure DevOps,
 * Zendesk, Freshservice, PagerDuty next) supplies a few small functions on its own API; the engine owns
 * the order of the calls, the comment markers, the memory of what it created and the settle delay.
 *
 * The order, and why each step is there:
 *  1. The kit's ticket store (`request.existingTicket`, ledger first) is the primary record: when it
 *     knows the ticket, the target is not searched at all.
 *  2. Otherwise the target is searched by the incident's external id before anything is created: the
 *     store write may have been lost (a crash between the target's answer and our write).
 *  3. Create. The reference is handed to `onTicketCreated` the moment the target answers, before any
 *     other call of the same delivery, so a later call failing cannot lose it.
 *  4. A create that failed after it may have been sent (`retryable`: 5xx, timeout, reset) is in doubt:
 *     its retry is delayed by at least the target's `settleMs`, so a target whose search index lags
 *     (Jira: seconds to minutes) can see the ticket before the retry searches for it.
 *  5. Every comment carries a marker (the step's idempotency key) the target can look for, and every try
 *     looks for it first: any try may be a redelivery in disguise, so one read buys "never a second comment".
 *  6. Resolve transitions by the target's configured name. A ticket already in that state gets the
 *     changes as a comment (once), never an error; reordered or repeated closes stay harmless.
 *  7. An update that reactivates the incident (status moved away from Closed) reopens a resolved ticket
 *     when the target can; a target that cannot (or is not configured to) gets the changes as a comment.
 *
 * Every call is one attempt; failures are classified KitErrors and the pipeline re-queues the step.
 * Target mappings: docs/CONNECTORS.md, "Ticket targets".
 */
import type { TicketRef } from '../../core/delivery.js';
import { KitError } from '../../core/errors.js';
import { operationsFor, type Connector, type DeliveryRequest, type DeliveryResult, type PayloadInput } from '../types.js';
import { commentMarker, type CommentMarker } from './marker.js';

export { commentMarker, type CommentMarker };

export interface TicketContext {
  request: DeliveryRequest;
  marker: CommentMarker;
  /**
   * The ticket this engine created for this incident in this process, if any. A target whose search
   * lags may use it to make search read-after-write (Jira: `reconcileIssues`); it is a hint, never proof.
   */
  createdHere: TicketRef | undefined;
}

/**
 * What a transition did. `moved-with-comment`: the target took the comment in the same call (Jira's
 * transition `update.comment`), so the engine adds none. `moved`: the state changed but the comment is
 * still to be added. `already-there`: the ticket was in that state already (a repeated close, or a retry
 * after a transition whose answer was lost); the changes still go on as a comment, once.
 */
export type TransitionOutcome = 'moved-with-comment' | 'moved' | 'already-there';

export interface TicketTarget {
  /** connector name for messages ("jira") */
  name: string;
  /** what the target calls a ticket ("issue", "incident", "work item") and what its index is called */
  noun: string;
  label: string;
  /** how long after an in-doubt create the retry must wait (search index lag); 0 for read-after-write targets */
  settleMs: number;
  /**
   * The incident's ticket, searched by its external id, or null. Must verify that what came back really
   * is this incident's ticket (a ServiceNow query with an unknown field returns every row).
   */
  find(ctx: TicketContext): Promise<TicketRef | null>;
  /** one create call; throws a classified KitError */
  create(ctx: TicketContext): Promise<TicketRef>;
  /** whether a comment with this marker is on the ticket already */
  hasComment(ticket: TicketRef, ctx: TicketContext): Promise<boolean>;
  /** add the rendered changes as a comment carrying the marker */
  comment(ticket: TicketRef, ctx: TicketContext): Promise<void>;
  /** move the ticket to the configured done state, looked up by name */
  transition(ticket: TicketRef, ctx: TicketContext): Promise<TransitionOutcome>;
  /** move a resolved ticket back to an open state; absent when the target cannot or is not configured to */
  reopen?(ticket: TicketRef, ctx: TicketContext): Promise<TransitionOutcome>;
}

export interface TicketConnectorOptions {
  /** connector name for messages before the target is opened ("jira") */
  name: string;
  receiverName: string;
  /** builds the target for one delivery (resolves secrets then, so a missing one fails before any request) */
  open(request: DeliveryRequest): TicketTarget;
  /** persist a ticket the moment the target created it; its failure never fails the delivery */
  onTicketCreated?: (ticket: TicketRef) => Promise<void>;
}

/** How many created tickets one process remembers for `createdHere`. */
const REMEMBERED_CREATES = 1000;

/** The incident was closed and is open again: the one update that should reopen a resolved ticket. */
export function isReactivation(request: DeliveryRequest): boolean {
  return request.step.changes.some((c) => c.kind === 'status' && c.from === 'Closed' && c.to !== null && c.to !== 'Closed');
}

/** A create that may have reached the target must not be retried before its search can see the result. */
export function settleBeforeRetry(err: unknown, target: Pick<TicketTarget, 'noun' | 'label' | 'settleMs'>): unknown {
  if (!(err instanceof KitError) || err.kind !== 'retryable' || target.settleMs <= 0) return err;
  return new KitError(`${err.message} (the ${target.noun} may exist already; retry after ${target.label}'s search index settles)`, {
    kind: err.kind,
    statusCode: err.statusCode,
    cause: err.cause,
    retryAfterMs: Math.max(err.retryAfterMs ?? 0, target.settleMs),
  });
}

export function createTicketConnector(options: TicketConnectorOptions): Connector {
  const { receiverName } = options;
  const createdHere = new Map<string, TicketRef>();

  function remember(ticket: TicketRef): void {
    createdHere.delete(ticket.incidentKey);
    if (createdHere.size >= REMEMBERED_CREATES) createdHere.delete(createdHere.keys().next().value as string);
    createdHere.set(ticket.incidentKey, ticket);
  }

  return {
    async execute(request: DeliveryRequest): Promise<DeliveryResult> {
      const { step } = request;
      if (step.stepType !== 'ticket') {
        throw new KitError(`${options.name}: receiver ${receiverName} only takes ticket steps, got a ${step.stepType} step`, { kind: 'validation' });
      }
      const target = options.open(request);
      const ctx: TicketContext = { request, marker: commentMarker(step.idempotencyKey), createdHere: createdHere.get(step.incidentKey) };

      async function find(): Promise<TicketRef | null> {
        const found = await target.find(ctx);
        if (found && (found.incidentKey !== step.incidentKey || found.receiver !== receiverName)) {
          throw new KitError(`${target.name}: search returned a ${target.noun} of another incident or receiver`, { kind: 'terminal' });
        }
        return found;
      }

      async function create(): Promise<TicketRef> {
        let ticket: TicketRef;
        try {
          ticket = await target.create(ctx);
        } catch (err) {
          throw settleBeforeRetry(err, target);
        }
        remember(ticket);
        ctx.createdHere = ticket;
        // The target has the ticket now: failing this delivery over our own bookkeeping would create it
        // again. The pipeline stores the returned ticket again (with retries) once the delivery completes.
        await options.onTicketCreated?.(ticket).catch(() => undefined);
        return ticket;
      }

      async function commentOnce(ticket: TicketRef): Promise<void> {
        if (await target.hasComment(ticket, ctx)) return;
        await target.comment(ticket, ctx);
      }

      async function update(ticket: TicketRef): Promise<TicketRef> {
        if (ticket.state === 'resolved' && target.reopen && isReactivation(request)) {
          const outcome = await target.reopen(ticket, ctx);
          if (outcome !== 'moved-with-comment') await commentOnce(ticket);
          return { ...ticket, state: 'open' };
        }
        await commentOnce(ticket);
        return ticket;
      }

      async function resolve(ticket: TicketRef): Promise<TicketRef> {
        const outcome = await target.transition(ticket, ctx);
        if (outcome !== 'moved-with-comment') await commentOnce(ticket);
        return { ...ticket, state: 'resolved' };
      }

      let ticket = request.existingTicket ?? (await find());
      let action: DeliveryResult['action'] = 'updated';
      for (const op of operationsFor(step, ticket)) {
        if (op === 'create') {
          ticket = await create();
          action = 'created';
        } else if (op === 'update' && ticket) {
          ticket = await update(ticket);
          action = 'updated';
        } else if (op === 'resolve' && ticket) {
          ticket = await resolve(ticket);
          action = 'resolved';
        } else {
          throw new KitError(`${target.name}: cannot ${op} without a ticket`, { kind: 'validation' });
        }
      }
      return { action, ticket, outbox: null };
    },
  };
}

/**
 * What a target hands its request builder for this delivery: the step and rendered message from the
 * engine's context, the receiver, and the operation on a ticket (null before a create).
 */
export function payloadInputFor<R>(ctx: TicketContext, receiverName: string, receiver: R, ticket: TicketRef | null, operation: PayloadInput['operation']): PayloadInput<R> {
  return { step: ctx.request.step, receiverName, receiver, rendered: ctx.request.rendered, operation, ticket };
}
