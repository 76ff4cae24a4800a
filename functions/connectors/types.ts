/**
 * The one small interface every target implements (in the spirit of Alertmanager's notify.Notifier),
 * plus the pure payload builders each target folder exports so the outbox writes exactly what the
 * real connector would send.
 */
import type { ReceiverConfig } from '../config/schema.js';
import type { KindFormat } from './kinds.js';
import type { DeliveryStep, TicketRef } from '../core/delivery.js';
import type { RenderedMessage } from '../render/types.js';

export type Operation = 'send' | 'create' | 'update' | 'resolve';

/**
 * Every kind of file the kit writes into an outbox folder: each kind's own format (the registry), and
 * the CLI's record of a delivery that failed ('failed.json': what was meant to go where, and the error).
 */
export type OutboxFormat = KindFormat | 'failed.json';

export interface PayloadInput<R = ReceiverConfig> {
  step: DeliveryStep;
  receiverName: string;
  receiver: R;
  rendered: RenderedMessage;
  operation: Operation;
  /** the ticket this update/resolve is about; null on create and for notifiers */
  ticket: TicketRef | null;
}

export interface OutboundPayload {
  format: OutboxFormat;
  /** Content-Type the target gets */
  contentType: string;
  /** the exact body the target gets (JSON text, form-encoded text, RFC 5322 message, TwiML) */
  body: string;
  /** names of fields that were cut to the target's limits (logged as warnings) */
  truncated: string[];
}

export type PayloadBuilder<R = ReceiverConfig> = (input: PayloadInput<R>) => OutboundPayload;

export interface DeliveryRequest {
  step: DeliveryStep;
  receiverName: string;
  receiver: ReceiverConfig;
  rendered: RenderedMessage;
  /** from the kit's ticket store (ledger first, invariant 3); null when the kit knows of none */
  existingTicket: TicketRef | null;
  /** 1 on the first try; a connector may look for the effect of an earlier try before acting again */
  attempt?: number;
  signal?: AbortSignal;
}

export interface DeliveryResult {
  action: 'sent' | 'created' | 'updated' | 'resolved' | 'outbox';
  ticket: TicketRef | null;
  /** outbox file written (last one when a delivery makes more than one call) */
  outbox: string | null;
}

export interface Connector {
  deliver(request: DeliveryRequest): Promise<DeliveryResult>;
}

/**
 * Which API operations a step turns into. A resolve with no known ticket first creates one, so the
 * target holds a record of what happened (a connector that can search finds an existing one first).
 */
export function operationsFor(step: DeliveryStep, existing: TicketRef | null): Operation[] {
  if (step.stepType === 'notify') return ['send'];
  if (step.ticketAction === 'resolve' && !step.guidanceOnly) return existing ? ['resolve'] : ['create', 'resolve'];
  return existing ? ['update'] : ['create'];
}
