/**
 * The comment back on the Sentinel incident: what the kit sent and where the tickets are, so an
 * analyst sees it next to the incident. ARM `IncidentComments_CreateOrUpdate` is a PUT on a
 * caller-chosen comment id, so deriving that id from the step's idempotency key makes a retried
 * comment overwrite itself instead of adding a second one.
 */
import { SecurityInsights } from '@azure/arm-securityinsight';
import type { TokenCredential } from '@azure/identity';
import { KitError, isKitError } from '../../core/errors.js';
import { bodyExcerpt, checkEndpointUrl, classifyStatus, DEFAULT_RATE_LIMIT_DELAY_MS, parseRetryAfter } from '../http/index.js';
import { fitComment } from './comment-message.js';

export { acknowledgementMessage, commentIdFor, commentMessage, SENTINEL_COMMENT_MAX_CHARS, type CommentOutcome } from './comment-message.js';

/** Newest stable Microsoft.SecurityInsights version (azure-rest-api-specs, package-2025-09-01). */
export const SENTINEL_API_VERSION = '2025-09-01';
export const ARM_ENDPOINT = 'https://management.azure.com';

// the SDK's own policy name (core-rest-pipeline bearerTokenAuthenticationPolicyName)
const SDK_BEARER_POLICY = 'bearerTokenAuthenticationPolicy';

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
      { message: fitComment(options.message) },
      { abortSignal: options.signal, requestOptions: { timeout: options.timeoutMs ?? 30_000 } },
    );
  } catch (err) {
    throw classify(err, id.incidentId);
  }
}
