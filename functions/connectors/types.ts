/**
 * The one small interface every target implements (in the spirit of Alertmanager's notify.Notifier),
 * plus the pure payload builders each target folder exports: each returns the API call as data
 * (OutboundRequest), so the outbox writes exactly what the real connector sends.
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

/**
 * A request body as data, serialised once, where it leaves the kit (`serialiseBody` in request.ts for
 * an outbox file or `spk render`, the HTTP client for a live call): JSON for JSON APIs, text for what is
 * already a document (an RFC 5322 message, TwiML, SMS text, form data).
 */
export type RequestBody = { json: unknown } | { text: string };

/**
 * Where the request's credential goes when the credential travels in the body (PagerDuty's routing_key)
 * rather than in a header an auth policy adds. The builder never sees the secret: the field is absent
 * from `body.json`; a live sender puts the resolved secret there (request.ts `withCredential`), the
 * outbox and `spk render` put `standIn`. Either way the field comes first in the object.
 */
export interface CredentialSlot {
  /** a top-level field of the JSON body */
  in: 'json';
  field: string;
  /** the receiver field holding the secret reference (env:NAME) the live sender resolves */
  from: string;
  /** what the outbox writes in the field instead: plainly not a credential, and still a valid value */
  standIn: string;
}

/**
 * What a payload builder returns: one API call as data. `path` is relative to the receiver's endpoint
 * (Jira baseUrl, ServiceNow instanceUrl, the ADO organization URL, …) and is the documented path of the
 * call, e.g. POST /rest/api/3/issue; '' means the endpoint itself (a Teams or Slack webhook URL). A ticket
 * the builder does not know yet (spk render before a create) appears as the documented template, e.g.
 * /rest/api/3/issue/{issueIdOrKey}/comment. Email, SMS and voice are messages, not yet HTTP calls: their
 * path is '' and their body the message text a sender wraps (ACS emails:send, Twilio Messages/Calls).
 */
export interface OutboundRequest {
  /** the outbox file format (extension) this request is written as */
  format: OutboxFormat;
  method: 'POST' | 'PUT' | 'PATCH';
  path: string;
  /** headers the call needs that are not secrets (auth is added by the client's auth policy) */
  headers: Record<string, string>;
  /** Content-Type the target gets */
  contentType: string;
  body: RequestBody;
  /** names of fields that were cut to the target's limits (logged as warnings) */
  truncated: string[];
  /** present when a credential travels in the body (PagerDuty) */
  credential?: CredentialSlot;
}

export type PayloadBuilder<R = ReceiverConfig> = (input: PayloadInput<R>) => OutboundRequest;

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
  /** makes the step's calls on the target (a send, or a ticket's create/update/resolve) */
  execute(request: DeliveryRequest): Promise<DeliveryResult>;
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
