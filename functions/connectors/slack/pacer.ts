/**
 * One message per second per channel, in this process. chat.postMessage's special tier allows "about
 * one message per second per channel" with short bursts (research §6, api.slack.com/docs/rate-limits);
 * beyond that Slack answers 429. Deliveries to one channel about different incidents run in parallel
 * (the lane serialises only receiver × incident), so without pacing a burst of incidents earns 429s
 * and burns attempts. The pacer hands out one slot per interval per channel: a delivery whose slot is
 * near waits for it; one whose slot is further off than `maxWaitMs` is not sent at all but fails
 * rate-limited with the wait as its Retry-After, so the queue brings it back instead of holding a worker.
 * A 429 from Slack pushes the channel's next slot to the time Slack named.
 *
 * Other instances of the Function App have their own pacers; Slack's 429 (with Retry-After) is then
 * the backstop, and the pipeline honours it.
 */
import { KitError } from '../../core/errors.js';

export interface ChannelPacer {
  /** waits for the channel's next slot; throws rate-limited when that is more than maxWaitMs away */
  take(key: string, what: string, signal?: AbortSignal): Promise<void>;
  /** Slack asked for `ms` of quiet on this channel */
  holdOff(key: string, ms: number): void;
}

export interface ChannelPacerOptions {
  /** time between two messages to one channel; default 1000 ms */
  intervalMs?: number;
  /** the longest a delivery waits for its slot before it is re-queued instead; default 15 s */
  maxWaitMs?: number;
  now?: () => number;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

export const SLACK_CHANNEL_INTERVAL_MS = 1000;
export const SLACK_MAX_PACING_WAIT_MS = 15_000;
/** forget channels whose slot is long past once this many are remembered */
const PRUNE_AT = 1000;

const realSleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    if (ms <= 0) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      signal?.removeEventListener('abort', abort);
      resolve();
    }
    function abort() {
      clearTimeout(timer);
      reject(new KitError('slack: cancelled while waiting for the channel\'s next message slot', { kind: 'retryable' }));
    }
    signal?.addEventListener('abort', abort, { once: true });
  });

export function createChannelPacer(options: ChannelPacerOptions = {}): ChannelPacer {
  const intervalMs = options.intervalMs ?? SLACK_CHANNEL_INTERVAL_MS;
  const maxWaitMs = options.maxWaitMs ?? SLACK_MAX_PACING_WAIT_MS;
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? realSleep;
  const next = new Map<string, number>();

  const prune = (at: number) => {
    if (next.size < PRUNE_AT) return;
    for (const [k, t] of next) if (t < at) next.delete(k);
  };

  return {
    async take(key, what, signal) {
      const at = now();
      const slot = Math.max(at, next.get(key) ?? 0);
      const wait = slot - at;
      if (wait > maxWaitMs) {
        throw new KitError(`slack: ${what} already has messages queued in this process for the next ${wait} ms (one per ${intervalMs} ms); retry in ${wait} ms`, {
          kind: 'rate-limited',
          retryAfterMs: wait,
        });
      }
      // the slot is taken before the wait, so concurrent deliveries line up instead of all waking at once
      prune(at);
      next.set(key, slot + intervalMs);
      await sleep(wait, signal);
    },
    holdOff(key, ms) {
      const until = now() + Math.max(0, ms);
      if ((next.get(key) ?? 0) < until) next.set(key, until);
    },
  };
}

/** the process's pacer, shared by every Slack receiver: two receivers on one channel share its limit */
export const processPacer: ChannelPacer = createChannelPacer();
