/**
 * A payload builder's OutboundRequest (types.ts) is data; this is where it turns into bytes, once:
 *
 *  - the outbox file and `spk render` print `outboxBody(request)`: the one serialisation below, with a
 *    body credential (PagerDuty's routing_key) holding its stand-in;
 *  - a live connector hands `sendArguments(request)` to `client.send`, which serialises the JSON itself
 *    (JSON.stringify, as here), so what the target gets is byte for byte what the outbox shows.
 *
 * Builders measure a body once for their size limits with `jsonBytes`, the same serialisation.
 */
import type { TicketRef } from '../core/delivery.js';
import { KitError } from '../core/errors.js';
import { isJsonObject } from '../core/json-object.js';
import type { TargetRequest } from './http/client.js';
import type { OutboundRequest, RequestBody } from './types.js';

/** JSON as targets and outbox files get it: compact, no indentation (what the HTTP client sends). */
export function serialiseJson(value: unknown): string {
  const text = JSON.stringify(value) as string | undefined;
  if (text === undefined) throw new KitError('a request body must be JSON data', { kind: 'validation' });
  return text;
}

/** The one serialisation of a request body: JSON compact, text as it is. */
export function serialiseBody(body: RequestBody): string {
  return 'json' in body ? serialiseJson(body.json) : body.text;
}

/** UTF-8 bytes of JSON data as it will be sent: a builder's size check. */
export function jsonBytes(value: unknown): number {
  return Buffer.byteLength(serialiseJson(value), 'utf8');
}

/**
 * The body with `value` in the request's credential slot, as the object's first field (where the API
 * documents it); the body itself when the request has no slot.
 */
export function withCredential(request: OutboundRequest, value: string): RequestBody {
  const slot = request.credential;
  if (!slot) return request.body;
  if (!('json' in request.body) || !isJsonObject(request.body.json)) {
    throw new KitError(`request: the credential field "${slot.field}" needs a JSON object body`, { kind: 'validation' });
  }
  const { [slot.field]: _absent, ...rest } = request.body.json;
  return { json: { [slot.field]: value, ...rest } };
}

/** What an outbox file holds and `spk render` prints: the serialised body, a body credential replaced by its stand-in. */
export function outboxBody(request: OutboundRequest): string {
  return serialiseBody(request.credential ? withCredential(request, request.credential.standIn) : request.body);
}

export interface SendOptions {
  /** the resolved secret for the request's credential slot; required when it has one */
  credential?: string;
  signal?: AbortSignal;
}

/**
 * `client.send` arguments for one request: the method, the path (none for '' — the endpoint itself),
 * the headers with the Content-Type, and JSON as data (the client serialises it) or text as the body.
 */
export function sendArguments(request: OutboundRequest, options: SendOptions = {}): TargetRequest {
  let body = request.body;
  if (request.credential) {
    if (options.credential === undefined) {
      throw new KitError(`request: ${request.method} ${request.path || '(endpoint)'} needs the credential from "${request.credential.from}"`, {
        kind: 'config',
        where: { field: request.credential.from },
      });
    }
    body = withCredential(request, options.credential);
  }
  return {
    method: request.method,
    ...(request.path === '' ? {} : { path: request.path }),
    headers: { ...request.headers, 'content-type': request.contentType },
    ...('json' in body ? { json: body.json } : { body: body.text }),
    ...(options.signal ? { signal: options.signal } : {}),
  };
}

/**
 * The path segment that names a ticket: percent-encoded, or the API's documented template (e.g.
 * "{sys_id}") when no ticket is known yet (`spk render` of an update before any create).
 */
export function ticketSegment(ticket: TicketRef | null, template: string, value: (ticket: TicketRef) => string = (t) => t.id): string {
  return ticket ? encodeURIComponent(value(ticket)) : template;
}
