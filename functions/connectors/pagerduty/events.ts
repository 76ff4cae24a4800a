/**
 * The Events API v2 side of the live target: one client that posts the payload builder's events
 * (`POST /v2/enqueue`) with the routing key filled into its credential slot.
 *
 * Answers (PagerDuty/api-schema reference/events-v2/openapiv3.json, "API Response Codes & Retry Logic"):
 *  - 202 `{"status":"success","message":"Event processed","dedup_key":"…"}`: accepted. Anything else with a
 *    2xx (a proxy's page) may not have reached PagerDuty; every event the kit sends is idempotent by its
 *    dedup_key, so it is retryable.
 *  - 400 invalid event: terminal, except a refused routing key ("Invalid routing key", "Length of
 *    'routing_key' is incorrect"): the Events API has no 401, so that 400 is the credential's `auth`.
 *  - 429 and 5xx, resets, timeouts: retryable; a 429 usually carries no Retry-After, and then the client's
 *    default delay applies.
 */
import { KitError } from '../../core/errors.js';
import { isJsonObject } from '../../core/json-object.js';
import { createTargetClient, successThatFailed, type HttpPolicy, type ResponseCheck, type TargetClient } from '../http/index.js';
import { sendArguments } from '../request.js';
import type { OutboundRequest } from '../types.js';
import { pagerdutyEventsBase } from './endpoints.js';

/** The credential is in the body (request.ts withCredential), so no header is added; the client lists the key as a secret. */
const routingKeyInBody: HttpPolicy = {
  name: 'auth:routing-key-in-body',
  sendRequest: (request, next) => next(request),
};

export const pagerdutyEventsCheck: ResponseCheck = (res, ctx) => {
  let body: unknown;
  try {
    body = JSON.parse(res.text);
  } catch {
    body = undefined;
  }
  if (isJsonObject(body) && body.status === 'success') return;
  throw successThatFailed(res, ctx, 'retryable', 'the answer is not PagerDuty\'s {"status":"success"}');
};

export interface EventsClientOptions {
  eventsUrl: string | undefined;
  field: string;
  routingKey: string;
  timeoutMs?: number;
}

export function createEventsClient(options: EventsClientOptions): TargetClient {
  return createTargetClient({
    target: 'pagerduty',
    baseUrl: pagerdutyEventsBase(options.eventsUrl),
    field: options.field,
    auth: routingKeyInBody,
    secrets: [options.routingKey],
    check: pagerdutyEventsCheck,
    ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}),
  });
}

const ROUTING_KEY_REFUSED = /routing.?key/i;

/**
 * PagerDuty's 400 for a routing key it does not know or cannot parse, as `auth`: a person has to fix the
 * key, and the pipeline flags credentials. The transport's message is already free of the key.
 */
function routingKeyRefused(err: unknown, field: string): unknown {
  if (!(err instanceof KitError) || err.statusCode !== 400 || !ROUTING_KEY_REFUSED.test(err.message)) return err;
  return new KitError(`${err.message} (the routing key in ${field} is not an Events API v2 integration key PagerDuty knows)`, {
    kind: 'auth',
    statusCode: 400,
    cause: err.cause,
    where: { field },
  });
}

/** Posts one event; resolves once PagerDuty accepted it for the expected dedup key. */
export async function sendEvent(
  client: TargetClient,
  request: OutboundRequest,
  options: { routingKey: string; dedupKey: string; field: string; signal?: AbortSignal },
): Promise<void> {
  let said: unknown;
  try {
    const res = await client.send(sendArguments(request, { credential: options.routingKey, ...(options.signal ? { signal: options.signal } : {}) }));
    said = res.json<unknown>();
  } catch (err) {
    throw routingKeyRefused(err, options.field);
  }
  const echoed = isJsonObject(said) ? said.dedup_key : undefined;
  // PagerDuty names the alert the event went to; another one would mean the kit's key was not used
  if (typeof echoed === 'string' && echoed !== options.dedupKey) {
    throw new KitError(`pagerduty: the event was accepted for dedup_key "${echoed.slice(0, 80)}", not the incident's "${options.dedupKey}"`, {
      kind: 'terminal',
    });
  }
}
