/**
 * A loopback Slack that keeps state like the real one: an incoming webhook (answers the text `ok`) and
 * the Web API methods the connector uses — chat.postMessage, chat.update, conversations.history and
 * conversations.replies — over one store of channels, messages, threads and message metadata.
 *
 * What it checks comes from Slack's published Web API spec (slackapi/slack-api-specs
 * web-api/slack_web_openapi_v2.json, MIT, copied here as the argument lists, the required fields of
 * each success answer and the error codes), and from the documented behaviour in the kit's research
 * notes: errors are HTTP 200 `{ok:false,error}`, rate limits HTTP 429 with Retry-After; text over
 * 40,000 characters is refused here as msg_too_long; Block Kit's limits (50 blocks, header 150,
 * section 3,000, 10 fields of 2,000) are invalid_blocks; block text over 12,000 characters in all is
 * msg_blocks_too_long (observed, slackapi/bolt-js#2509). Where Slack documents nothing the fake
 * chooses, and says so: a body over `maxBodyBytes` is HTTP 413, a thread_ts that names no message is
 * thread_not_found.
 */
import type { Incident } from '../../../functions/core/model.js';
import type { RenderedMessage } from '../../../functions/render/types.js';
import { makeIncident } from '../../fixtures/incident.js';
import { reply, type FakeHandler, type FakeReply, type RecordedRequest } from '../../helpers/fake-server.js';

/** chat.postMessage arguments in the spec (formData), plus `metadata` (message metadata, added to the API in 2022) */
const POST_MESSAGE_ARGS = new Set([
  'as_user', 'attachments', 'blocks', 'channel', 'icon_emoji', 'icon_url', 'link_names', 'mrkdwn', 'parse',
  'reply_broadcast', 'text', 'thread_ts', 'unfurl_links', 'unfurl_media', 'username', 'metadata',
]);
/** chat.update arguments in the spec, plus `metadata` */
const UPDATE_ARGS = new Set(['as_user', 'attachments', 'blocks', 'channel', 'link_names', 'parse', 'text', 'ts', 'metadata']);
const HISTORY_ARGS = new Set(['channel', 'latest', 'oldest', 'inclusive', 'limit', 'cursor', 'include_all_metadata']);
const REPLIES_ARGS = new Set(['channel', 'ts', 'latest', 'oldest', 'inclusive', 'limit', 'cursor', 'include_all_metadata']);
/** defs_ts in the spec */
const TS = /^\d{10}\.\d{6}$/;

export const FAKE_SLACK_WEBHOOK_PATH = '/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX';
export const FAKE_SLACK_BOT_ID = 'B0FAKEB0T1';

export interface FakeSlackMessage {
  channel: string;
  ts: string;
  text: string;
  blocks: unknown[];
  thread_ts?: string;
  metadata?: { event_type: string; event_payload: Record<string, unknown> };
  bot_id: string;
  /** times chat.update changed it */
  edits: number;
}

export interface FakeSlackOptions {
  botToken: string;
  /** channel ids the bot is a member of */
  channels?: string[];
  /** channels that exist but the bot is not in */
  notMemberOf?: string[];
  /** bot scopes; without channels:history (groups:history for G…) the reads answer missing_scope */
  scopes?: string[];
  /** a chat.postMessage to a channel sooner than this after the last one there gets 429 (Retry-After 1) */
  minPostIntervalMs?: number;
  /** the workspace forbids edits after a while: chat.update answers edit_window_closed */
  editWindowClosed?: boolean;
  /** conversations.history / replies return at most this many (Slack's 2025 limits for some apps: 15) */
  maxReadLimit?: number;
  maxBodyBytes?: number;
  now?: () => number;
}

export interface FakeSlack {
  handler: FakeHandler;
  webhookPath: string;
  /** every message posted through the Web API (top-level and replies), in order */
  messages: FakeSlackMessage[];
  /** bodies the webhook accepted */
  webhookMessages: unknown[];
  topLevel(channel: string): FakeSlackMessage[];
  replies(channel: string, ts: string): FakeSlackMessage[];
  /** someone deletes a message in Slack */
  deleteMessage(channel: string, ts: string): void;
  /** a message put there without the API: the bot's own (`bot: true`) or a person's (to fill the channel) */
  addMessage(message: { channel: string; text: string; bot?: boolean; thread_ts?: string; metadata?: FakeSlackMessage['metadata'] }): FakeSlackMessage;
  revokeToken(): void;
  /** why each refused request was refused, for failure messages */
  rejections: string[];
  /** the Web API methods called, in order, e.g. "chat.postMessage" */
  calls: string[];
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

function textOf(obj: unknown): string | null {
  return isObject(obj) && typeof obj.text === 'string' ? obj.text : null;
}

/** Block Kit as Slack checks it; returns the error code and the block text counted toward the total */
function checkBlocks(blocks: unknown): { error: string | null; chars: number } {
  if (!Array.isArray(blocks)) return { error: 'invalid_blocks_format', chars: 0 };
  if (blocks.length > 50) return { error: 'invalid_blocks', chars: 0 };
  let chars = 0;
  const text = (obj: unknown, max: number, plainOnly = false): boolean => {
    const t = textOf(obj);
    if (t === null || t.trim() === '' || t.length > max) return false;
    if (plainOnly && (obj as Json).type !== 'plain_text') return false;
    if ((obj as Json).type !== 'plain_text' && (obj as Json).type !== 'mrkdwn') return false;
    chars += t.length;
    return true;
  };
  for (const b of blocks) {
    if (!isObject(b) || typeof b.type !== 'string') return { error: 'invalid_blocks', chars };
    switch (b.type) {
      case 'header':
        if (!text(b.text, 150, true)) return { error: 'invalid_blocks', chars };
        break;
      case 'section': {
        if (b.text === undefined && b.fields === undefined) return { error: 'invalid_blocks', chars };
        if (b.text !== undefined && !text(b.text, 3000)) return { error: 'invalid_blocks', chars };
        if (b.fields !== undefined) {
          if (!Array.isArray(b.fields) || b.fields.length === 0 || b.fields.length > 10) return { error: 'invalid_blocks', chars };
          if (!b.fields.every((f) => text(f, 2000))) return { error: 'invalid_blocks', chars };
        }
        break;
      }
      case 'context':
        if (!Array.isArray(b.elements) || b.elements.length === 0 || b.elements.length > 10) return { error: 'invalid_blocks', chars };
        if (!b.elements.every((e) => text(e, 2000))) return { error: 'invalid_blocks', chars };
        break;
      case 'actions':
        if (!Array.isArray(b.elements) || b.elements.length === 0) return { error: 'invalid_blocks', chars };
        for (const e of b.elements) {
          if (!isObject(e) || e.type !== 'button') return { error: 'invalid_blocks', chars };
          const label = textOf(e.text);
          if (label === null || label === '' || label.length > 75) return { error: 'invalid_blocks', chars };
          if (e.url !== undefined && (typeof e.url !== 'string' || e.url.length > 3000 || !/^https?:\/\//.test(e.url))) return { error: 'invalid_blocks', chars };
        }
        break;
      case 'divider':
        break;
      default:
        return { error: 'invalid_blocks', chars };
    }
  }
  return { error: chars > 12_000 ? 'msg_blocks_too_long' : null, chars };
}

export function createFakeSlack(options: FakeSlackOptions): FakeSlack {
  const now = options.now ?? Date.now;
  const members = new Set(options.channels ?? ['C0123456789']);
  const outsiders = new Set(options.notMemberOf ?? []);
  const scopes = new Set(options.scopes ?? ['chat:write', 'channels:history', 'groups:history']);
  const maxBodyBytes = options.maxBodyBytes ?? 64 * 1024;
  const messages: FakeSlackMessage[] = [];
  const webhookMessages: unknown[] = [];
  const rejections: string[] = [];
  const calls: string[] = [];
  const lastPost = new Map<string, number>();
  let revoked = false;
  let seq = 0;

  // the answers a step produced instead of its result, told apart from parsed arguments
  const refusals = new WeakSet<object>();
  const refusal = (r: FakeReply): FakeReply => {
    refusals.add(r);
    return r;
  };
  const isRefusal = (x: object): x is FakeReply => refusals.has(x);
  const refuse = (error: string, why: string, extra: Json = {}): FakeReply => {
    rejections.push(`${error}: ${why}`);
    return refusal(reply(200, { ok: false, error, ...extra }));
  };
  const nextTs = () => {
    seq++;
    return `${Math.floor(now() / 1000)}.${String(seq).padStart(6, '0')}`;
  };
  const find = (channel: string, ts: string) => messages.find((m) => m.channel === channel && m.ts === ts);
  const topLevel = (channel: string) => messages.filter((m) => m.channel === channel && m.thread_ts === undefined);
  const replies = (channel: string, ts: string) => messages.filter((m) => m.channel === channel && m.thread_ts === ts);
  const shown = (m: FakeSlackMessage, withMetadata: boolean): Json => ({
    type: 'message',
    ...(m.bot_id ? { subtype: 'bot_message', bot_id: m.bot_id } : { user: 'U0HUMAN001' }),
    text: m.text,
    ts: m.ts,
    ...(m.blocks.length ? { blocks: m.blocks } : {}),
    ...(m.thread_ts ? { thread_ts: m.thread_ts } : replies(m.channel, m.ts).length ? { thread_ts: m.ts, reply_count: replies(m.channel, m.ts).length } : {}),
    ...(withMetadata && m.metadata ? { metadata: m.metadata } : {}),
  });

  function authorise(req: RecordedRequest): FakeReply | null {
    const auth = req.headers.authorization;
    if (!auth) return refuse('not_authed', 'no Authorization header');
    if (auth !== `Bearer ${options.botToken}`) return refuse('invalid_auth', 'not the bot token');
    if (revoked) return refuse('token_revoked', 'the token was revoked');
    return null;
  }

  function jsonBody(req: RecordedRequest, allowed: Set<string>): Json | FakeReply {
    if (!/^application\/json\b/i.test(req.headers['content-type'] ?? '')) return refuse('invalid_form_data', `content-type ${req.headers['content-type']}`);
    if (Buffer.byteLength(req.body) > maxBodyBytes) {
      rejections.push(`413: ${Buffer.byteLength(req.body)} bytes`);
      return refusal(reply(413, 'Request Entity Too Large', { 'content-type': 'text/plain' }));
    }
    let body: unknown;
    try {
      body = JSON.parse(req.body);
    } catch {
      return refuse('invalid_json', 'body is not JSON');
    }
    if (!isObject(body)) return refuse('json_not_object', 'body is not an object');
    const unknown = Object.keys(body).filter((k) => !allowed.has(k));
    if (unknown.length) return refuse('invalid_arg_name', `unknown arguments ${unknown.join(', ')}`);
    return body;
  }

  function checkContent(body: Json): FakeReply | null {
    if (body.text !== undefined && typeof body.text !== 'string') return refuse('invalid_arguments', 'text is not a string');
    if (typeof body.text !== 'string' && body.blocks === undefined) return refuse('no_text', 'neither text nor blocks');
    if (typeof body.text === 'string' && body.text.length > 40_000) return refuse('msg_too_long', `text of ${body.text.length}`);
    if (body.blocks !== undefined) {
      const { error, chars } = checkBlocks(body.blocks);
      if (error) return refuse(error, `blocks (${chars} characters of text)`);
    }
    for (const flag of ['unfurl_links', 'unfurl_media', 'mrkdwn', 'reply_broadcast']) {
      if (body[flag] !== undefined && typeof body[flag] !== 'boolean') return refuse('invalid_arguments', `${flag} is not a boolean`);
    }
    if (body.metadata !== undefined) {
      const m = body.metadata;
      if (!isObject(m) || typeof m.event_type !== 'string' || !/^[a-z0-9_]+$/.test(m.event_type) || !isObject(m.event_payload)) {
        return refuse('invalid_metadata_format', 'metadata needs event_type (snake case) and an event_payload object');
      }
    }
    return null;
  }

  function channelError(channel: unknown): FakeReply | null {
    if (typeof channel !== 'string' || channel === '') return refuse('channel_not_found', 'no channel');
    if (outsiders.has(channel)) return refuse('not_in_channel', `${channel}: the bot is not a member`);
    if (!members.has(channel)) return refuse('channel_not_found', `${channel} does not exist`);
    return null;
  }

  function postMessage(req: RecordedRequest): FakeReply {
    const body = jsonBody(req, POST_MESSAGE_ARGS);
    if (isRefusal(body)) return body;
    const b = body;
    const bad = channelError(b.channel) ?? checkContent(b);
    if (bad) return bad;
    const channel = b.channel as string;
    if (options.minPostIntervalMs !== undefined) {
      const last = lastPost.get(channel);
      if (last !== undefined && now() - last < options.minPostIntervalMs) {
        rejections.push(`429: ${channel} posted ${now() - last} ms after the last post`);
        return reply(429, { ok: false, error: 'ratelimited' }, { 'retry-after': '1' });
      }
      lastPost.set(channel, now());
    }
    if (b.thread_ts !== undefined) {
      if (typeof b.thread_ts !== 'string' || !TS.test(b.thread_ts)) return refuse('invalid_thread_ts', 'thread_ts is not a ts');
      const parent = find(channel, b.thread_ts);
      if (!parent) return refuse('thread_not_found', `no message ${b.thread_ts}`);
      if (parent.thread_ts !== undefined) return refuse('invalid_thread_ts', 'thread_ts names a reply, not its parent');
    }
    const m: FakeSlackMessage = {
      channel,
      ts: nextTs(),
      text: typeof b.text === 'string' ? b.text : '',
      blocks: Array.isArray(b.blocks) ? b.blocks : [],
      ...(typeof b.thread_ts === 'string' ? { thread_ts: b.thread_ts } : {}),
      ...(isObject(b.metadata) ? { metadata: b.metadata as FakeSlackMessage['metadata'] } : {}),
      bot_id: FAKE_SLACK_BOT_ID,
      edits: 0,
    };
    messages.push(m);
    return reply(200, { ok: true, channel, ts: m.ts, message: { ...shown(m, false), ...(m.metadata ? { metadata: m.metadata } : {}) } });
  }

  function update(req: RecordedRequest): FakeReply {
    const body = jsonBody(req, UPDATE_ARGS);
    if (isRefusal(body)) return body;
    const b = body;
    const bad = channelError(b.channel) ?? checkContent(b);
    if (bad) return bad;
    if (typeof b.ts !== 'string' || !TS.test(b.ts)) return refuse('message_not_found', 'no ts');
    const m = find(b.channel as string, b.ts);
    if (!m) return refuse('message_not_found', `no message ${b.ts}`);
    if (m.bot_id !== FAKE_SLACK_BOT_ID) return refuse('cant_update_message', 'not the bot\'s message');
    if (options.editWindowClosed) return refuse('edit_window_closed', 'the workspace edit window has passed');
    if (typeof b.text === 'string') m.text = b.text;
    // as Slack documents for blocks: an argument left out keeps what the message had
    if (Array.isArray(b.blocks)) m.blocks = b.blocks;
    if (isObject(b.metadata)) m.metadata = b.metadata as FakeSlackMessage['metadata'];
    m.edits++;
    return reply(200, { ok: true, channel: m.channel, ts: m.ts, text: m.text, message: { text: m.text, ...(m.blocks.length ? { blocks: m.blocks } : {}) } });
  }

  function readArgs(req: RecordedRequest, allowed: Set<string>): Json | FakeReply {
    if (req.body !== '') return refuse('invalid_arguments', 'a GET with a body');
    const unknown = [...req.query.keys()].filter((k) => !allowed.has(k));
    if (unknown.length) return refuse('invalid_arg_name', `unknown arguments ${unknown.join(', ')}`);
    const channel = req.query.get('channel') ?? '';
    const bad = channelError(channel);
    if (bad) return bad;
    const needed = channel.startsWith('G') ? 'groups:history' : 'channels:history';
    if (!scopes.has(needed)) return refuse('missing_scope', `needs ${needed}`, { needed, provided: [...scopes].join(',') });
    for (const k of ['oldest', 'latest']) {
      const v = req.query.get(k);
      if (v !== null && !/^\d+(\.\d+)?$/.test(v)) return refuse(`invalid_ts_${k}`, `${k}=${v}`);
    }
    const limitRaw = req.query.get('limit');
    const limit = Math.min(limitRaw === null ? 100 : Number(limitRaw), options.maxReadLimit ?? 999);
    if (!Number.isInteger(limit) || limit < 1) return refuse('invalid_limit', `limit=${limitRaw}`);
    const oldest = Number(req.query.get('oldest') ?? '0');
    const latest = Number(req.query.get('latest') ?? String(Infinity));
    const withMetadata = req.query.get('include_all_metadata') === 'true' || req.query.get('include_all_metadata') === '1';
    const offset = Number(req.query.get('cursor') ?? '0');
    return { channel, limit, oldest, latest, withMetadata, offset };
  }

  function page(list: FakeSlackMessage[], a: Json, extra: Json): FakeReply {
    const offset = a.offset as number;
    const limit = a.limit as number;
    const slice = list.slice(offset, offset + limit);
    const more = offset + limit < list.length;
    return reply(200, {
      ok: true,
      messages: slice.map((m) => shown(m, a.withMetadata as boolean)),
      has_more: more,
      ...extra,
      response_metadata: { next_cursor: more ? String(offset + limit) : '' },
    });
  }

  function history(req: RecordedRequest): FakeReply {
    const a = readArgs(req, HISTORY_ARGS);
    if (isRefusal(a)) return a;
    const inWindow = (m: FakeSlackMessage) => Number(m.ts) > (a.oldest as number) && Number(m.ts) < (a.latest as number);
    const list = topLevel(a.channel as string).filter(inWindow).reverse();
    return page(list, a, { pin_count: 0, channel_actions_ts: null, channel_actions_count: 0 });
  }

  function threadReplies(req: RecordedRequest): FakeReply {
    const a = readArgs(req, REPLIES_ARGS);
    if (isRefusal(a)) return a;
    const ts = req.query.get('ts') ?? '';
    const parent = find(a.channel as string, ts);
    if (!parent || parent.thread_ts !== undefined) return refuse('thread_not_found', `no thread ${ts}`);
    const list = [parent, ...replies(parent.channel, parent.ts).filter((m) => Number(m.ts) > (a.oldest as number) && Number(m.ts) < (a.latest as number))];
    return page(list, a, {});
  }

  function webhook(req: RecordedRequest): FakeReply {
    const text = (status: number, body: string) => reply(status, body, { 'content-type': 'text/html' });
    if (req.path !== FAKE_SLACK_WEBHOOK_PATH) return text(404, 'no_service');
    if (req.method !== 'POST') return text(405, 'invalid_method');
    if (Buffer.byteLength(req.body) > maxBodyBytes) return text(413, 'request_too_large');
    let body: unknown;
    try {
      body = JSON.parse(req.body);
    } catch {
      return text(400, 'invalid_payload');
    }
    if (!isObject(body)) return text(400, 'invalid_payload');
    if (typeof body.text !== 'string' && body.blocks === undefined) return text(400, 'no_text');
    if (body.blocks !== undefined) {
      const { error } = checkBlocks(body.blocks);
      if (error) return text(400, error === 'msg_blocks_too_long' ? 'invalid_blocks' : error);
    }
    // incoming webhooks are made for one channel: anything naming another is refused
    if (body.channel !== undefined || body.thread_ts !== undefined || body.metadata !== undefined) return text(400, 'invalid_payload');
    webhookMessages.push(body);
    return text(200, 'ok');
  }

  const methods: Record<string, { verb: 'GET' | 'POST'; run: (req: RecordedRequest) => FakeReply }> = {
    'chat.postMessage': { verb: 'POST', run: postMessage },
    'chat.update': { verb: 'POST', run: update },
    'conversations.history': { verb: 'GET', run: history },
    'conversations.replies': { verb: 'GET', run: threadReplies },
  };

  const handler: FakeHandler = (req) => {
    if (req.path.startsWith('/services/')) return webhook(req);
    const m = /^\/api\/([A-Za-z.]+)$/.exec(req.path);
    const method = m ? methods[m[1]!] : undefined;
    if (!method) return refuse('unknown_method', req.path);
    calls.push(m![1]!);
    if (req.method !== method.verb) return refuse('invalid_post_type', `${req.method} ${req.path}`);
    return authorise(req) ?? method.run(req);
  };

  return {
    handler,
    webhookPath: FAKE_SLACK_WEBHOOK_PATH,
    messages,
    webhookMessages,
    topLevel,
    replies,
    deleteMessage(channel, ts) {
      const i = messages.findIndex((x) => x.channel === channel && x.ts === ts);
      if (i >= 0) messages.splice(i, 1);
    },
    addMessage({ channel, text, bot, thread_ts, metadata }) {
      const m: FakeSlackMessage = {
        channel,
        ts: nextTs(),
        text,
        blocks: [],
        ...(thread_ts ? { thread_ts } : {}),
        ...(metadata ? { metadata } : {}),
        bot_id: bot ? FAKE_SLACK_BOT_ID : '',
        edits: 0,
      };
      messages.push(m);
      return m;
    },
    revokeToken() {
      revoked = true;
    },
    rejections,
    calls,
  };
}

// ---------------------------------------------------------------------------------------------
// Rendered Slack messages as render hands them to the connector (built by hand, so connector tests do
// not depend on templates; the hostile-corpus test renders the shipped template instead).
// ---------------------------------------------------------------------------------------------


const slackEscape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function renderedSlack(incident: Incident = makeIncident(), headline = 'Owner changed to Defender Experts'): RenderedMessage {
  return {
    kind: 'slack',
    template: 'incident-change',
    parts: {
      message: {
        text: slackEscape(`[Sentinel ${incident.severity}] Incident ${incident.number ?? incident.key}: ${headline} - ${incident.title}`),
        blocks: [
          { type: 'header', text: { type: 'plain_text', text: slackEscape(headline), emoji: true } },
          { type: 'section', text: { type: 'plain_text', text: slackEscape(incident.title), emoji: false } },
          { type: 'section', fields: [{ type: 'mrkdwn', text: `*Severity*\n${incident.severity}` }, { type: 'mrkdwn', text: `*Status*\n${incident.status}` }] },
          { type: 'actions', elements: [{ type: 'button', text: { type: 'plain_text', text: 'Open in Microsoft Defender' }, url: incident.links.defender }] },
        ],
      },
    },
  };
}

/** far over every limit: 80 sections of 5,000 characters and 100,000 characters of non-ASCII fallback text */
export function oversizedSlack(incident: Incident = makeIncident()): RenderedMessage {
  return {
    kind: 'slack',
    template: 'incident-change',
    parts: {
      message: {
        text: '事件'.repeat(50_000),
        blocks: Array.from({ length: 80 }, (_, i) => ({ type: 'section', text: { type: 'plain_text', text: `${i} ${slackEscape(incident.title)} `.repeat(80).slice(0, 5000) } })),
      },
    },
  };
}
