/**
 * The Slack Web API calls the connector makes, each one attempt on a target client whose check is the
 * shared slackWebApiCheck (errors arrive as HTTP 200 with `ok:false`; 429 with Retry-After reaches the
 * transport). A failure keeps the check's classification and also carries Slack's error code, so the
 * connector can tell "that message is gone" (post a new one) from "try again".
 */
import { KitError } from '../../core/errors.js';
import { isJsonObject } from '../../core/json-object.js';
import { slackWebApiCheck, type ResponseCheck, type TargetClient } from '../http/index.js';
import { sendArguments } from '../request.js';
import type { OutboundRequest } from '../types.js';
import { SLACK_CHANNEL_ID, SLACK_TS, type SlackMessageRef } from './message-ref.js';
import { SLACK_METADATA_EVENT } from './payload.js';

const SLACK_ERROR_CODE = /^[a-z0-9_]{1,64}$/;

/** A classified Slack failure with the `error` code Slack gave (a code from Slack's enum, never free text). */
export class SlackApiError extends KitError {
  readonly slackCode: string;
  constructor(from: KitError, slackCode: string) {
    super(from.message, {
      kind: from.kind,
      ...(from.statusCode !== undefined ? { statusCode: from.statusCode } : {}),
      ...(from.retryAfterMs !== undefined ? { retryAfterMs: from.retryAfterMs } : {}),
      ...(from.cause !== undefined ? { cause: from.cause } : {}),
    });
    this.slackCode = slackCode;
  }
}

export function slackCodeOf(err: unknown): string | null {
  return err instanceof SlackApiError ? err.slackCode : null;
}

function okFalseCode(text: string): string | null {
  try {
    const body = JSON.parse(text) as unknown;
    if (isJsonObject(body) && body.ok === false && typeof body.error === 'string' && SLACK_ERROR_CODE.test(body.error)) return body.error;
  } catch {
    // not JSON: the shared check words that error
  }
  return null;
}

/** slackWebApiCheck, plus Slack's error code on the error it throws */
export const slackWebApiCodeCheck: ResponseCheck = (res, ctx) => {
  try {
    slackWebApiCheck(res, ctx);
  } catch (err) {
    const code = err instanceof KitError ? okFalseCode(res.text) : null;
    throw code && err instanceof KitError ? new SlackApiError(err, code) : err;
  }
};

/** A message the kit posted earlier, found again by its metadata. */
export interface FoundMessage extends SlackMessageRef {
  /** the step that posted it (chat.update leaves the metadata it was posted with) */
  idempotencyKey: string | null;
}

export interface IncidentMatch {
  incidentKey: string;
  receiver: string;
}

/** Slack's `oldest` / `latest`: epoch seconds with six decimals */
export function slackTimestamp(ms: number): string {
  return `${Math.floor(Math.max(0, ms) / 1000)}.000000`;
}

/** how many messages one lookup reads (Slack clamps it to 15 for the apps its 2025 limits cover) */
const LOOKUP_LIMIT = 100;

function kitMessage(m: unknown, match: IncidentMatch): string | null | undefined {
  if (!isJsonObject(m) || !isJsonObject(m.metadata) || m.metadata.event_type !== SLACK_METADATA_EVENT) return undefined;
  const p = m.metadata.event_payload;
  if (!isJsonObject(p) || p.incident_key !== match.incidentKey || p.receiver !== match.receiver) return undefined;
  return typeof p.idempotency_key === 'string' ? p.idempotency_key : null;
}

export function createSlackWebApi(client: TargetClient) {
  async function call(request: OutboundRequest, signal: AbortSignal | undefined): Promise<Record<string, unknown>> {
    const res = await client.send(sendArguments(request, signal ? { signal } : {}));
    const body = res.json<unknown>();
    return isJsonObject(body) ? body : {};
  }

  async function read(path: string, params: Record<string, string>, signal: AbortSignal | undefined): Promise<Record<string, unknown>> {
    const res = await client.send({ method: 'GET', path: `${path}?${new URLSearchParams(params).toString()}`, ...(signal ? { signal } : {}) });
    const body = res.json<unknown>();
    return isJsonObject(body) ? body : {};
  }

  return {
    /** chat.postMessage; the message as Slack names it, or null if the answer did not say (it was posted all the same) */
    async post(request: OutboundRequest, signal?: AbortSignal): Promise<SlackMessageRef | null> {
      const body = await call(request, signal);
      const { channel, ts } = body;
      return typeof channel === 'string' && SLACK_CHANNEL_ID.test(channel) && typeof ts === 'string' && SLACK_TS.test(ts) ? { channel, ts } : null;
    },

    async update(request: OutboundRequest, signal?: AbortSignal): Promise<void> {
      await call(request, signal);
    },

    /**
     * The incident's top-level message in `channel` posted since `oldestMs`, by its metadata: the oldest
     * of one page of conversations.history (newest first), or null.
     */
    async findIncidentMessage(channel: string, match: IncidentMatch, oldestMs: number, signal?: AbortSignal): Promise<FoundMessage | null> {
      const body = await read('/conversations.history', { channel, oldest: slackTimestamp(oldestMs), limit: String(LOOKUP_LIMIT), include_all_metadata: 'true' }, signal);
      let found: FoundMessage | null = null;
      for (const m of Array.isArray(body.messages) ? body.messages : []) {
        const key = kitMessage(m, match);
        if (key === undefined || !isJsonObject(m) || typeof m.ts !== 'string' || !SLACK_TS.test(m.ts)) continue;
        if (typeof m.thread_ts === 'string' && m.thread_ts !== m.ts) continue; // a reply broadcast to the channel
        found = { channel, ts: m.ts, idempotencyKey: key };
      }
      return found;
    },

    /** whether the thread under `parent` already holds this step's reply (posted since `oldestMs`) */
    async hasReply(parent: SlackMessageRef, match: IncidentMatch, idempotencyKey: string, oldestMs: number, signal?: AbortSignal): Promise<boolean> {
      let body: Record<string, unknown>;
      try {
        body = await read('/conversations.replies', { channel: parent.channel, ts: parent.ts, oldest: slackTimestamp(oldestMs), limit: String(LOOKUP_LIMIT), include_all_metadata: 'true' }, signal);
      } catch (err) {
        // the parent is gone, so no reply of ours is there; the reply itself then finds that out
        if (slackCodeOf(err) === 'thread_not_found' || slackCodeOf(err) === 'message_not_found') return false;
        throw err;
      }
      return (Array.isArray(body.messages) ? body.messages : []).some((m) => isJsonObject(m) && m.ts !== parent.ts && kitMessage(m, match) === idempotencyKey);
    },
  };
}

export type SlackWebApi = ReturnType<typeof createSlackWebApi>;
