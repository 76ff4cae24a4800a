/**
 * The comment back on the Sentinel incident: what the kit sent and where the tickets are, so an
 * analyst sees it next to the incident. ARM `IncidentComments_CreateOrUpdate` is a PUT on a
 * caller-chosen comment id, so deriving that id from the step's idempotency key makes a retried
 * comment overwrite itself instead of adding a second one.
 */
import { createHash } from 'node:crypto';
import { SecurityInsights } from '@azure/arm-securityinsight';
import type { TokenCredential } from '@azure/identity';
import type { DeliveryOutcome, TicketRef } from '../../core/delivery.js';
import { KitError, isKitError } from '../../core/errors.js';
import type { Incident } from '../../core/model.js';
import { bodyExcerpt, checkEndpointUrl, classifyStatus, DEFAULT_RATE_LIMIT_DELAY_MS, parseRetryAfter } from '../http/index.js';

/** Sentinel's documented maximum comment length. */
export const SENTINEL_COMMENT_MAX_CHARS = 30_000;
/** Newest stable Microsoft.SecurityInsights version (azure-rest-api-specs, package-2025-09-01). */
export const SENTINEL_API_VERSION = '2025-09-01';
export const ARM_ENDPOINT = 'https://management.azure.com';

// the SDK's own policy name (core-rest-pipeline bearerTokenAuthenticationPolicyName)
const SDK_BEARER_POLICY = 'bearerTokenAuthenticationPolicy';
/** UUID namespace of the kit's comment ids (RFC 9562 name-based, v5). */
const COMMENT_ID_NAMESPACE = '5d0f4b7e-2c1a-4e8b-9f36-0a7c1e52d9b4';

export interface IncidentArmId {
  subscriptionId: string;
  resourceGroup: string;
  workspaceName: string;
  incidentId: string;
}

const ARM_ID =
  /^\/subscriptions\/([^/]+)\/resourceGroups\/([^/]+)\/providers\/Microsoft\.OperationalInsights\/workspaces\/([^/]+)\/providers\/Microsoft\.SecurityInsights\/incidents\/([^/]+)\/?$/i;

export function parseIncidentArmId(armId: string): IncidentArmId {
  const m = ARM_ID.exec(armId.trim());
  if (!m) {
    throw new KitError(
      'incidentArmId is not a Sentinel incident resource id (/subscriptions/…/resourceGroups/…/providers/Microsoft.OperationalInsights/workspaces/…/providers/Microsoft.SecurityInsights/incidents/…)',
      { kind: 'validation', where: { field: 'incidentArmId' } },
    );
  }
  const [, subscriptionId, resourceGroup, workspaceName, incidentId] = m as unknown as [string, string, string, string, string];
  return { subscriptionId, resourceGroup, workspaceName, incidentId };
}

/** A UUID (v5 layout) derived from the idempotency key: the same step always writes the same comment. */
export function commentIdFor(idempotencyKey: string): string {
  const ns = Buffer.from(COMMENT_ID_NAMESPACE.replace(/-/g, ''), 'hex');
  const hash = createHash('sha1').update(ns).update(idempotencyKey, 'utf8').digest();
  hash[6] = ((hash[6] ?? 0) & 0x0f) | 0x50;
  hash[8] = ((hash[8] ?? 0) & 0x3f) | 0x80;
  const hex = hash.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

/**
 * Sentinel renders comment HTML: tags are removed and what is left is entity-escaped — only the five
 * characters that open markup or end an attribute, so the comment also stays readable as raw API text.
 */
function commentText(text: string): string {
  return text
    .replace(/<[^>]*>?/g, '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

function httpsHref(url: string | null): string | null {
  if (!url) return null;
  try {
    return new URL(url).protocol === 'https:' ? url : null;
  } catch {
    return null;
  }
}

const ACTION_WORDS: Record<DeliveryOutcome['action'], string> = {
  sent: 'notified',
  created: 'ticket created',
  updated: 'ticket updated',
  resolved: 'ticket resolved',
  outbox: 'written to the outbox only (dry run: nobody was notified)',
  'skipped-duplicate': 'already delivered earlier',
  'guidance-only': 'guidance only (excluded asset: no automated action)',
  requeued: 'will be retried',
  failed: 'failed',
};

export interface CommentOutcome {
  receiver: string;
  kind: string;
  action: DeliveryOutcome['action'];
  ticket: TicketRef | null;
}

function outcomeLine(o: CommentOutcome): string {
  const what = ACTION_WORDS[o.action] ?? commentText(String(o.action));
  let ticket = '';
  if (o.ticket) {
    const label = commentText(o.ticket.key ?? o.ticket.id);
    const href = httpsHref(o.ticket.url);
    ticket = href ? `: <a href="${commentText(href)}">${label}</a>` : `: ${label}`;
  }
  return `<li>${commentText(o.receiver)} (${commentText(o.kind)}): ${what}${ticket}</li>`;
}

/**
 * The comment text: one line per receiver saying what happened, with ticket links. Everything that
 * did not come from the kit itself is stripped of HTML; the result fits SENTINEL_COMMENT_MAX_CHARS,
 * dropping trailing lines (and saying how many) when there are very many receivers.
 */
export function commentMessage(outcomes: CommentOutcome[], incident: Pick<Incident, 'key' | 'number'>): string {
  const name = incident.number !== null ? `incident ${incident.number}` : `incident ${commentText(incident.key)}`;
  const head = `<p><b>Sentinel Playbook Kit</b> — ${name}:</p><ul>`;
  const tail = '</ul>';
  if (outcomes.length === 0) return `<p><b>Sentinel Playbook Kit</b> — ${name}: nothing was delivered.</p>`;
  const lines = outcomes.map(outcomeLine);
  const reserve = '<li>… and 000000 more</li>'.length;
  let body = '';
  let used = 0;
  for (const line of lines) {
    if (head.length + body.length + line.length + tail.length + reserve > SENTINEL_COMMENT_MAX_CHARS) break;
    body += line;
    used++;
  }
  if (used < lines.length) body += `<li>… and ${lines.length - used} more</li>`;
  return head + body + tail;
}

export interface AddIncidentCommentOptions {
  incidentArmId: string;
  message: string;
  commentId: string;
  credential: TokenCredential;
  /** ARM endpoint; default https://management.azure.com. http is accepted for loopback hosts only (tests). */
  endpoint?: string;
  apiVersion?: string;
  signal?: AbortSignal;
  timeoutMs?: number;
}

type Pipeline = SecurityInsights['pipeline'];
type PipelinePolicy = Parameters<Pipeline['addPolicy']>[0];

/**
 * The SDK's bearer policy refuses any non-https URL, even with `allowInsecureConnection`. For a
 * loopback stand-in of ARM (tests) it is swapped for this one, which asks the same credential for a
 * token and sets the same header; https endpoints keep the SDK's own policy (with CAE challenges).
 */
function loopbackBearerPolicy(credential: TokenCredential, scope: string): PipelinePolicy {
  return {
    name: 'loopbackBearerTokenPolicy',
    async sendRequest(request, next) {
      const token = await credential.getToken(scope, { abortSignal: request.abortSignal });
      if (!token) throw new KitError('sentinel: the credential returned no token', { kind: 'auth' });
      request.headers.set('Authorization', `Bearer ${token.token}`);
      return next(request);
    },
  };
}

function fitMessage(message: string): string {
  if (message.length <= SENTINEL_COMMENT_MAX_CHARS) return message;
  // never leave half a tag at the cut
  return `${message.slice(0, SENTINEL_COMMENT_MAX_CHARS - 1).replace(/<[^>]*$/, '')}…`;
}

interface RestErrorLike {
  name?: string;
  message?: string;
  statusCode?: number;
  code?: string;
  response?: { headers?: { toJSON?: () => Record<string, string> } };
}

function classify(err: unknown, incidentId: string): KitError {
  if (isKitError(err)) return err;
  const e = (typeof err === 'object' && err !== null ? err : {}) as RestErrorLike;
  const what = `PUT comment on Sentinel incident ${incidentId}`;
  const detail = e.message ? bodyExcerpt(e.message) : '';
  if (typeof e.statusCode === 'number') {
    const kind = classifyStatus(e.statusCode);
    const headers = e.response?.headers?.toJSON?.() ?? {};
    const retryAfterMs = parseRetryAfter(headers);
    if (kind === 'ok') return new KitError(`sentinel: ${what} failed: ${detail}`, { kind: 'terminal', statusCode: e.statusCode });
    return new KitError(`sentinel: HTTP ${e.statusCode} on ${what}${detail ? `: ${detail}` : ''}`, {
      kind,
      statusCode: e.statusCode,
      retryAfterMs: kind === 'rate-limited' ? (retryAfterMs ?? DEFAULT_RATE_LIMIT_DELAY_MS) : retryAfterMs,
    });
  }
  if (e.name === 'AbortError') return new KitError(`sentinel: ${what} was cancelled or timed out`, { kind: 'retryable' });
  return new KitError(`sentinel: network error (${e.code ?? 'unknown'}) on ${what}`, { kind: 'retryable' });
}

/**
 * One PUT of the comment through the SecurityInsights client, with the SDK's own retries switched
 * off: like every connector call it is a single attempt, and a failure comes back as a classified
 * KitError for the pipeline to re-queue.
 */
export async function addIncidentComment(options: AddIncidentCommentOptions): Promise<void> {
  const id = parseIncidentArmId(options.incidentArmId);
  const endpoint = checkEndpointUrl(options.endpoint ?? ARM_ENDPOINT, 'endpoint').href.replace(/\/+$/, '');
  const insecure = endpoint.startsWith('http:');
  const client = new SecurityInsights(options.credential, id.subscriptionId, {
    endpoint,
    $host: endpoint,
    apiVersion: options.apiVersion ?? SENTINEL_API_VERSION,
    retryOptions: { maxRetries: 0 },
    allowInsecureConnection: insecure,
  });
  if (insecure) {
    client.pipeline.removePolicy({ name: SDK_BEARER_POLICY });
    client.pipeline.addPolicy(loopbackBearerPolicy(options.credential, `${endpoint}/.default`), { phase: 'Sign' });
  }
  try {
    await client.incidentComments.createOrUpdate(
      id.resourceGroup,
      id.workspaceName,
      id.incidentId,
      options.commentId,
      { message: fitMessage(options.message) },
      { abortSignal: options.signal, requestOptions: { timeout: options.timeoutMs ?? 30_000 } },
    );
  } catch (err) {
    throw classify(err, id.incidentId);
  }
}
