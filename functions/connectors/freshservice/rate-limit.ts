/**
 * A per-receiver budget of calls a minute, kept in this process, in front of Freshservice's own per-account
 * limits (per minute, by plan, separately for create/update and list calls). Freshservice answers a call over
 * its limit with 429 and Retry-After; spending the budget on our side first keeps one busy incident from
 * starving every other integration of the account.
 *
 * Like the rest of the kit it never sleeps: a call over the budget is not sent and fails `rate-limited` with
 * the wait until the oldest call of the window is a minute old, and the pipeline re-queues the step for then.
 * A 429 from Freshservice closes the budget until its Retry-After has passed, so the deliveries that follow
 * in this process wait too instead of each collecting its own 429.
 */
import { KitError } from '../../core/errors.js';
import type { HttpPolicy } from '../http/index.js';

/** Starter's list limit, the lowest per-endpoint limit of any plan (accounts created after 2020-09-01). */
export const FRESHSERVICE_DEFAULT_RATE_LIMIT_PER_MINUTE = 40;
const WINDOW_MS = 60_000;

export interface MinuteBudget {
  readonly limit: number;
  /** the policy to put in the receiver's target client; one budget serves every delivery of the receiver */
  policy: HttpPolicy;
  /** calls counted in the current window (tests, diagnostics) */
  used(): number;
}

export function minuteBudget(limit: number, now: () => number = Date.now): MinuteBudget {
  if (!Number.isInteger(limit) || limit < 1) throw new KitError(`freshservice: rateLimitPerMinute must be a whole number of at least 1, got ${limit}`, { kind: 'config' });
  const sent: number[] = [];
  let closedUntil = 0;
  const prune = (at: number) => {
    while (sent.length > 0 && sent[0]! <= at - WINDOW_MS) sent.shift();
  };
  const refuse = (target: string, waitMs: number, why: string) =>
    new KitError(`${target}: ${why}; not sent, retry in ${waitMs} ms`, { kind: 'rate-limited', retryAfterMs: waitMs });

  const policy: HttpPolicy = {
    name: 'rate-limit',
    async sendRequest(request, next) {
      const at = now();
      if (at < closedUntil) throw refuse(request.target, closedUntil - at, 'Freshservice asked this receiver to wait (HTTP 429)');
      prune(at);
      if (sent.length >= limit) throw refuse(request.target, sent[0]! + WINDOW_MS - at, `this receiver's budget of ${limit} calls a minute is spent`);
      sent.push(at);
      try {
        return await next(request);
      } catch (err) {
        if (err instanceof KitError && err.kind === 'rate-limited' && err.retryAfterMs !== undefined) closedUntil = Math.max(closedUntil, now() + err.retryAfterMs);
        throw err;
      }
    },
  };
  return {
    limit,
    policy,
    used() {
      prune(now());
      return sent.length;
    },
  };
}
