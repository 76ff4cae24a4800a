/**
 * The optional REST API side (receiver `apiToken`): the Events API cannot be read, so when a REST key is
 * configured the target finds the incident an event raised and adds the changes as notes there.
 *
 *  lookup  GET  /incidents?incident_key=<dedup_key>&service_ids[]=<serviceId>&date_range=all&sort_by=created_at:desc
 *          (date_range=all: the list otherwise covers one month). PagerDuty also matches the key against
 *          the alerts of grouped incidents, which carry no incident_key of their own: only an incident of
 *          the receiver's service whose own incident_key is the dedup key counts, an open one first.
 *  notes   GET  /incidents/{id}/notes, looking for the step's marker token; POST the same path with the
 *          `From` header (an account key acts as that user) — at most 2000 notes per incident.
 *
 * Auth is `Authorization: Token token=<key>`; 401/403 are the transport's `auth`.
 */
import { KitError } from '../../core/errors.js';
import { isJsonObject } from '../../core/json-object.js';
import type { Incident } from '../../core/model.js';
import { describeChange } from '../../render/context.js';
import { createTargetClient, type HttpPolicy, type TargetClient } from '../http/index.js';
import type { OutboundRequest, PayloadInput } from '../types.js';
import { limitField } from '../truncate.js';
import { PAGERDUTY_API_URL, PAGERDUTY_REST_ACCEPT } from './endpoints.js';
import type { PagerdutyReceiver } from './schema.js';

/**
 * The REST reference gives no limit for a note's content; notes are read by people on a phone, so the
 * kit keeps them to this (the marker always survives the cut).
 */
export const PAGERDUTY_MAX_NOTE_CHARS = 10_000;

export interface PagerdutyIncident {
  id: string;
  status: 'triggered' | 'acknowledged' | 'resolved';
  url: string | null;
}

function tokenAuth(token: string): HttpPolicy {
  const value = `Token token=${token}`;
  return {
    name: 'auth:pagerduty-token',
    sendRequest(request, next) {
      request.headers.set('authorization', value);
      request.secrets.push(token, value);
      return next(request);
    },
  };
}

export interface RestOptions {
  apiUrl: string | undefined;
  field: string;
  apiToken: string;
  serviceId: string;
  timeoutMs?: number;
}

export interface PagerdutyRest {
  /** the incident the dedup key's alert is on (an open one before a resolved one), or null */
  lookup(dedupKey: string, signal: AbortSignal | undefined): Promise<PagerdutyIncident | null>;
  hasNote(incident: PagerdutyIncident, token: string, signal: AbortSignal | undefined): Promise<boolean>;
  addNote(request: OutboundRequest, signal: AbortSignal | undefined): Promise<void>;
}

const STATUSES = new Set(['triggered', 'acknowledged', 'resolved']);

export function createRest(options: RestOptions): PagerdutyRest {
  const client: TargetClient = createTargetClient({
    target: 'pagerduty',
    baseUrl: options.apiUrl ?? PAGERDUTY_API_URL,
    field: options.field,
    auth: tokenAuth(options.apiToken),
    ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}),
  });
  const accept = { accept: PAGERDUTY_REST_ACCEPT };
  const withSignal = (signal: AbortSignal | undefined) => (signal ? { signal } : {});

  return {
    async lookup(dedupKey, signal) {
      const query = new URLSearchParams([
        ['incident_key', dedupKey],
        ['service_ids[]', options.serviceId],
        ['date_range', 'all'],
        ['sort_by', 'created_at:desc'],
        ['limit', '25'],
      ]);
      const res = await client.send({ method: 'GET', path: `/incidents?${query}`, headers: accept, ...withSignal(signal) });
      const list = res.json<{ incidents?: unknown }>().incidents;
      if (!Array.isArray(list)) throw new KitError('pagerduty: GET /incidents answered without an incidents list', { kind: 'terminal', statusCode: res.status });
      const mine = list
        .filter(isJsonObject)
        .filter((i) => i.incident_key === dedupKey && isJsonObject(i.service) && i.service.id === options.serviceId)
        .filter((i): i is typeof i & { id: string; status: PagerdutyIncident['status'] } => typeof i.id === 'string' && STATUSES.has(i.status as string));
      const hit = mine.find((i) => i.status !== 'resolved') ?? mine[0];
      if (!hit) return null;
      return { id: hit.id, status: hit.status, url: typeof hit.html_url === 'string' ? hit.html_url : null };
    },

    async hasNote(incident, token, signal) {
      const res = await client.send({ method: 'GET', path: `/incidents/${encodeURIComponent(incident.id)}/notes`, headers: accept, ...withSignal(signal) });
      const notes = res.json<{ notes?: unknown }>().notes;
      if (!Array.isArray(notes)) throw new KitError('pagerduty: GET …/notes answered without a notes list', { kind: 'terminal', statusCode: res.status });
      return notes.some((n) => isJsonObject(n) && typeof n.content === 'string' && n.content.includes(token));
    },

    async addNote(request, signal) {
      await client.send({
        method: request.method,
        path: request.path,
        headers: { ...request.headers, 'content-type': request.contentType },
        ...('json' in request.body ? { json: request.body.json } : { body: request.body.text }),
        ...withSignal(signal),
      });
    },
  };
}

const isHttp = (u: string | null): u is string => typeof u === 'string' && /^https?:\/\//i.test(u);

function linkLines(incident: Incident): string[] {
  const out: string[] = [];
  if (isHttp(incident.links.defender)) out.push(`Microsoft Defender: ${incident.links.defender}`);
  if (isHttp(incident.links.sentinel)) out.push(`Microsoft Sentinel: ${incident.links.sentinel}`);
  return out;
}

/**
 * POST /incidents/{id}/notes: the step's summary, one line per change, the links, then the marker token
 * the next try looks for. Notes are plain text in PagerDuty; attacker text only has to fit.
 */
export function pagerdutyNoteRequest(input: PayloadInput<PagerdutyReceiver>, incidentId: string, fromEmail: string, token: string): OutboundRequest {
  const { step } = input;
  const truncated: string[] = [];
  const summary = typeof input.rendered.parts.summary === 'string' ? input.rendered.parts.summary.replace(/\s+/g, ' ').trim() : '';
  const lines = [
    summary || `Microsoft Sentinel incident ${step.incidentKey}`,
    ...step.changes.map((c) => `- ${describeChange(c)}`),
    ...(step.guidanceOnly ? ['Manual action required: an excluded device, user or group is involved; the kit automated nothing.'] : []),
    ...linkLines(step.incident),
  ];
  const room = PAGERDUTY_MAX_NOTE_CHARS - token.length - 2;
  const text = limitField('note', lines.join('\n'), room, truncated, { unit: 'utf16' });
  return {
    format: 'pagerduty.json',
    method: 'POST',
    path: `/incidents/${encodeURIComponent(incidentId)}/notes`,
    headers: { accept: PAGERDUTY_REST_ACCEPT, from: fromEmail },
    contentType: 'application/json',
    body: { json: { note: { content: `${text}\n\n${token}` } } },
    truncated,
  };
}
