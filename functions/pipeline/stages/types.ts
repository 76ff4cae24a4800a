/**
 * What every delivery stage shares: the dependencies processDelivery runs on, and one `Try` — one step being
 * delivered on one attempt — with the ledger entry and outcome shapes built from it.
 */
import type { ReceiverConfig } from '../../config/schema.js';
import type { DeliveryOutcome, DeliveryStep, TicketRef } from '../../core/delivery.js';
import { silentLogger, type LogFields, type Logger } from '../../core/log.js';
import type { Connector } from '../../connectors/types.js';
import type { RenderedMessage } from '../../render/types.js';
import type { LedgerEntry, QueuedDelivery, StateStores } from '../../state/ports.js';

export interface DeliveryDeps {
  stores: Pick<StateStores, 'ledger' | 'leases' | 'tickets' | 'queue'>;
  receivers: Record<string, ReceiverConfig>;
  render: (step: DeliveryStep, ticket: TicketRef | null) => RenderedMessage;
  connectorFor: (receiverName: string, receiver: ReceiverConfig) => Connector;
  /** called after a successful delivery (comment back on the Sentinel incident); its failure never undoes the delivery */
  afterDelivered?: (step: DeliveryStep, outcome: DeliveryOutcome) => Promise<void>;
  now?: () => number;
  log?: Logger;
  maxAttempts?: number;
  leaseMs?: number;
  /** fallback delay for retryable errors without Retry-After */
  backoffMs?: (attempt: number) => number;
}

export const DEFAULT_MAX_ATTEMPTS = 5;

/** One step on one attempt, as every stage sees it. */
export interface Try {
  /** the queue message as received (re-queued unchanged but for its attempt) */
  message: QueuedDelivery;
  step: DeliveryStep;
  /** this try's number: the message's attempt plus the host's own retries of it (see attemptOf) */
  attempt: number;
  now: () => number;
  log: Logger;
  /** what every log line about this try carries */
  fields: LogFields;
}

export function tryOf(message: QueuedDelivery, attempt: number, deps: Pick<DeliveryDeps, 'now' | 'log'>): Try {
  const { step } = message;
  return {
    message,
    step,
    attempt,
    now: deps.now ?? Date.now,
    log: deps.log ?? silentLogger,
    fields: { incidentKey: step.incidentKey, playbook: step.playbook, receiver: step.receiver, idempotencyKey: step.idempotencyKey, attempt },
  };
}

export function outcomeOf(t: Try, patch: Partial<DeliveryOutcome>): DeliveryOutcome {
  return {
    idempotencyKey: t.step.idempotencyKey,
    incidentKey: t.step.incidentKey,
    receiver: t.step.receiver,
    kind: t.step.kind,
    action: 'failed',
    ticket: null,
    outbox: null,
    attempt: t.attempt,
    error: null,
    ...patch,
  };
}

/** the step's ledger entry at this try, with what the stage knows */
export function entryFor(t: Try, patch: Partial<LedgerEntry>): LedgerEntry {
  return {
    idempotencyKey: t.step.idempotencyKey,
    status: 'pending',
    incidentKey: t.step.incidentKey,
    receiver: t.step.receiver,
    playbook: t.step.playbook,
    action: null,
    ticketId: null,
    outbox: null,
    attempts: t.attempt,
    error: null,
    updatedAt: new Date(t.now()).toISOString(),
    ...patch,
  };
}
