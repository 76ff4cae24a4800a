/**
 * What a 2xx from a webhook receiver means. The status decides: any 2xx is "accepted", and a receiver
 * that refuses answers 4xx/5xx, which the transport classifies (429/5xx/timeouts/resets retryable,
 * 401/403 auth, other 4xx terminal). One exception, because a JSON API can answer 200 and say in the
 * body that it did not take the request (the `{"ok": false, "error": …}` convention of Slack's Web
 * API, `{"success": false, "reason": …}` in many home-grown and low-code handlers): a body that starts
 * with a JSON object whose `ok` or `success` is literally `false` is a refusal, terminal, since nothing
 * says a retry would fare better. Anything else in a 2xx body — nothing, "OK", `{}`, an execution id,
 * HTML — is success.
 */
import type { ResponseCheck } from '../http/client.js';
import { successThatFailed } from '../http/checks.js';

/**
 * The first JSON object of a body, parsed, when the body starts with one; a receiver (or a proxy
 * in front of it) may put a newline and more after it.
 */
export function leadingJsonObject(text: string): Record<string, unknown> | null {
  const start = text.search(/\S/);
  if (start === -1 || text[start] !== '{') return null;
  let depth = 0;
  let inString = false;
  for (let i = start; i < text.length; i++) {
    const ch = text[i];
    if (inString) {
      if (ch === '\\') i++;
      else if (ch === '"') inString = false;
      continue;
    }
    if (ch === '"') inString = true;
    else if (ch === '{' || ch === '[') depth++;
    else if (ch === '}' || ch === ']') {
      depth--;
      if (depth === 0) {
        try {
          const value = JSON.parse(text.slice(start, i + 1)) as unknown;
          return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
        } catch {
          return null;
        }
      }
    }
  }
  return null;
}

export const webhookResponseCheck: ResponseCheck = (res, ctx) => {
  const body = leadingJsonObject(res.text);
  if (!body) return;
  const refused = body.success === false ? 'success' : body.ok === false ? 'ok' : null;
  if (refused) throw successThatFailed(res, ctx, 'terminal', `the receiver answered "${refused}": false`);
};
