/**
 * Per-target checks of a 2xx: some targets say "failed" with a success status, and taking that as
 * delivered loses the message without a trace. Each check turns such an answer into the same
 * classified KitError a non-2xx would have produced (Alertmanager's checkJSONResponseError does
 * this for the JSON error bodies of its integrations).
 *
 * When the per-kind modules of issue 8 exist, each check moves next to its kind; the helpers stay here.
 */
import { KitError, type KitErrorKind } from '../../core/errors.js';
import type { ResponseCheck, ResponseCheckContext } from './client.js';
import { bodyExcerpt, classifyStatus, DEFAULT_RATE_LIMIT_DELAY_MS, parseRetryAfter, type SendResponse } from './send.js';

/** The KitError for a 2xx that is an error: same wording as the transport's, with a redacted excerpt. */
export function successThatFailed(
  res: SendResponse,
  ctx: ResponseCheckContext,
  kind: Extract<KitErrorKind, 'retryable' | 'rate-limited' | 'auth' | 'terminal'>,
  what: string,
  options: { retryAfterMs?: number; statusCode?: number } = {},
): KitError {
  const excerpt = bodyExcerpt(res.text, ctx.secrets);
  const said = excerpt ? `: ${excerpt}` : '';
  const retry = kind === 'rate-limited' ? `; retry in ${options.retryAfterMs ?? DEFAULT_RATE_LIMIT_DELAY_MS} ms` : '';
  return new KitError(`${ctx.target}: HTTP ${res.status} on ${ctx.method} ${ctx.url} but ${what}${retry}${said}`, {
    kind,
    statusCode: options.statusCode ?? res.status,
    ...(kind === 'rate-limited' ? { retryAfterMs: options.retryAfterMs ?? DEFAULT_RATE_LIMIT_DELAY_MS } : {}),
    ...(kind === 'retryable' && options.retryAfterMs !== undefined ? { retryAfterMs: options.retryAfterMs } : {}),
  });
}

/**
 * Slack incoming webhook: success is exactly the text `ok` (docs.slack.dev, "Sending messages using
 * incoming webhooks"). Its errors come as 4xx with a text code (invalid_payload, channel_is_archived…),
 * which the transport classifies; a 200 with anything else (a proxy's login page) did not reach Slack.
 */
export const slackWebhookCheck: ResponseCheck = (res, ctx) => {
  if (res.text.trim() === 'ok') return;
  throw successThatFailed(res, ctx, 'terminal', 'the answer is not Slack\'s "ok"');
};

/** Slack Web API error codes that mean the token is wrong, gone or not allowed to do this. */
const SLACK_AUTH_ERRORS = new Set([
  'invalid_auth',
  'not_authed',
  'token_revoked',
  'token_expired',
  'account_inactive',
  'no_permission',
  'missing_scope',
  'not_allowed_token_type',
  'ekm_access_denied',
  'team_access_not_granted',
]);
/** Slack's own trouble: worth another try. */
const SLACK_TRANSIENT_ERRORS = new Set(['internal_error', 'fatal_error', 'service_unavailable', 'request_timeout']);
const SLACK_ERROR_CODE = /^[a-z0-9_]{1,64}$/;

/**
 * Slack Web API (chat.postMessage, chat.update): every answer is JSON `{ok: boolean, error?}`, and
 * errors arrive as HTTP 200 with `ok:false` (api.slack.com/web "Evaluating responses"), except rate
 * limits, which are 429 with Retry-After and reach the transport. A `ratelimited` in a 200 is
 * honoured all the same. Codes: auth for token problems, retryable for Slack's own failures,
 * terminal for the rest (channel_not_found, is_archived, not_in_channel, msg_too_long, invalid_blocks…).
 */
export const slackWebApiCheck: ResponseCheck = (res, ctx) => {
  let body: unknown;
  try {
    body = JSON.parse(res.text);
  } catch {
    throw successThatFailed(res, ctx, 'terminal', 'the answer is not Slack Web API JSON');
  }
  const ok = typeof body === 'object' && body !== null ? (body as { ok?: unknown }).ok : undefined;
  if (ok === true) return;
  if (ok !== false) throw successThatFailed(res, ctx, 'terminal', 'the answer has no "ok" field');
  const raw = (body as { error?: unknown }).error;
  // the code is Slack's enum; anything else is not echoed (it would be unvetted text in a log line)
  const code = typeof raw === 'string' && SLACK_ERROR_CODE.test(raw) ? raw : 'unknown_error';
  const what = `Slack says ok:false (${code})`;
  if (code === 'ratelimited' || code === 'rate_limited') {
    const retryAfterMs = parseRetryAfter(res.headers, ctx.now) ?? DEFAULT_RATE_LIMIT_DELAY_MS;
    throw successThatFailed(res, ctx, 'rate-limited', what, { retryAfterMs });
  }
  if (SLACK_AUTH_ERRORS.has(code)) throw successThatFailed(res, ctx, 'auth', `${what}: check the receiver's token and its scopes`);
  if (SLACK_TRANSIENT_ERRORS.has(code)) throw successThatFailed(res, ctx, 'retryable', what);
  throw successThatFailed(res, ctx, 'terminal', what);
};

const TEAMS_WRAPPED_STATUS = /Microsoft Teams endpoint returned HTTP error (\d{3})/i;
const TEAMS_DELIVERY_FAILED = /Webhook message delivery failed/i;

/**
 * Teams: a Workflows webhook ("When a Teams webhook request is received") answers 202, accepted by
 * the flow but not yet posted; nothing can be asked later, so 202 (and the 200 of a flow that
 * answers itself) is "sent". The retiring Office 365 connector URLs answer 200 with the real
 * outcome in the text, e.g. "Webhook message delivery failed with error: Microsoft Teams endpoint
 * returned HTTP error 429 with ContextId …" (MicrosoftDocs/msteams-docs #1810, #7425: a design
 * choice, not a bug), so that text is classified by the status it names.
 */
export const teamsWorkflowsCheck: ResponseCheck = (res, ctx) => {
  if (!TEAMS_DELIVERY_FAILED.test(res.text)) return;
  const wrapped = TEAMS_WRAPPED_STATUS.exec(res.text);
  const status = wrapped ? Number(wrapped[1]) : undefined;
  const what = `Teams says delivery failed${status === undefined ? '' : ` (HTTP ${status})`}`;
  const kind = status === undefined ? 'retryable' : classifyStatus(status);
  if (kind === 'ok') return;
  // the connector gives no Retry-After; Microsoft's answer on #7576 was "nearly 10-15 seconds"
  if (kind === 'rate-limited') throw successThatFailed(res, ctx, kind, what, { retryAfterMs: parseRetryAfter(res.headers, ctx.now) ?? 15_000, statusCode: status });
  throw successThatFailed(res, ctx, kind, what, status === undefined ? {} : { statusCode: status });
};
