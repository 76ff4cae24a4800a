/**
 * Slack: the Web API calls of one moment when the receiver names a channel (chat.postMessage for the
 * incident's first message, then a reply in its thread or a chat.update of it), else an incoming-webhook
 * body. Render already escaped & < > in every field; this builder fits Block Kit's limits without
 * cutting an entity or a <url|text> link in half.
 */
import type { SlackReceiver, SlackUpdateMode } from './schema.js';
import { KitError } from '../../core/errors.js';
import { isJsonObject, type JsonObject } from '../../core/json-object.js';
import { jsonBytes } from '../request.js';
import type { OutboundRequest, PayloadBuilder, PayloadInput } from '../types.js';
import { limitField } from '../truncate.js';
import { slackMessageOf, type SlackMessageRef } from './message-ref.js';

export const SLACK_MAX_BLOCKS = 50;
export const SLACK_MAX_HEADER_CHARS = 150;
export const SLACK_MAX_SECTION_CHARS = 3000;
export const SLACK_MAX_FIELD_CHARS = 2000;
export const SLACK_MAX_CONTEXT_CHARS = 2000;
export const SLACK_MAX_BUTTON_CHARS = 75;
/** Slack truncates the top-level text after 40,000 characters; notifications show far less */
export const SLACK_MAX_TEXT_CHARS = 40_000;
/**
 * All text in a message's blocks together. Undocumented: chat.postMessage answers msg_blocks_too_long
 * from about 12,000 characters of block text ("12,000 text characters with a buffer for block
 * containers", Slack on slackapi/bolt-js#2509; #2867 saw it refuse 11,341), well below 50 × 3,000.
 */
export const SLACK_MAX_BLOCKS_TEXT_CHARS = 10_000;
/** A cut that would leave less than this of a text drops the text instead of showing a stub. */
const MIN_USEFUL_CHARS = 16;
/**
 * The kit's own bound on one request body. Slack documents none; the limits above keep real messages
 * far below it, and a fallback text of 40,000 non-ASCII characters is cut in bytes to stay under it.
 */
export const SLACK_MAX_BODY_BYTES = 64 * 1024;
/** message metadata event_type: how the kit finds its own messages again (conversations.history) */
export const SLACK_METADATA_EVENT = 'sentinel_incident_change';

export const SLACK_DEFAULT_UPDATES: SlackUpdateMode = 'thread';

function templateError(message: string, field: string): KitError {
  return new KitError(`slack: ${message}`, { kind: 'template', where: { field } });
}

/** what is left of the message's block-text budget */
interface Budget {
  left: number;
}

/** cuts one text object's text in place; an empty text would be refused by Slack */
function fitText(obj: unknown, max: number, path: string, truncated: string[], budget: Budget | null): boolean {
  if (!isJsonObject(obj) || typeof obj.text !== 'string') return true;
  let limit = budget ? Math.min(max, budget.left) : max;
  if (limit < MIN_USEFUL_CHARS && obj.text.length > limit) limit = 0;
  const text = limitField(path, obj.text, limit, truncated, { unit: 'utf16', markup: 'slack' });
  obj.text = text;
  if (budget) budget.left -= text.length;
  return text.trim() !== '';
}

function fitBlock(block: JsonObject, path: string, truncated: string[], budget: Budget): JsonObject | null {
  switch (block.type) {
    case 'header':
      return fitText(block.text, SLACK_MAX_HEADER_CHARS, `${path}.text`, truncated, budget) ? block : null;
    case 'section': {
      const hasText = isJsonObject(block.text) && fitText(block.text, SLACK_MAX_SECTION_CHARS, `${path}.text`, truncated, budget);
      if (isJsonObject(block.text) && !hasText) delete block.text;
      if (Array.isArray(block.fields)) {
        block.fields = block.fields.filter((f, i) => fitText(f, SLACK_MAX_FIELD_CHARS, `${path}.fields[${i}]`, truncated, budget)).slice(0, 10);
        if ((block.fields as unknown[]).length === 0) delete block.fields;
      }
      return block.text || block.fields || block.accessory ? block : null;
    }
    case 'context': {
      if (!Array.isArray(block.elements)) return null;
      block.elements = block.elements.filter((e, i) => fitText(e, SLACK_MAX_CONTEXT_CHARS, `${path}.elements[${i}]`, truncated, budget)).slice(0, 10);
      return (block.elements as unknown[]).length > 0 ? block : null;
    }
    case 'actions': {
      if (!Array.isArray(block.elements)) return null;
      // button labels are short and outside the budget: a button without its label is refused
      for (const [i, e] of block.elements.entries()) if (isJsonObject(e)) fitText(e.text, SLACK_MAX_BUTTON_CHARS, `${path}.elements[${i}].text`, truncated, null);
      return block;
    }
    default:
      return block;
  }
}

interface Content {
  text: string;
  blocks: JsonObject[];
}

function fitContent(input: PayloadInput<SlackReceiver>, truncated: string[]): Content {
  const part = input.rendered.parts.message;
  if (!isJsonObject(part)) throw templateError(`template "${input.rendered.template}" must produce a "message" part: {"text": …, "blocks": […]}`, 'message');
  const message = structuredClone(part);
  if (message.text !== undefined && typeof message.text !== 'string') throw templateError('"text" must be a string', 'message.text');
  if (message.blocks !== undefined && !Array.isArray(message.blocks)) throw templateError('"blocks" must be an array', 'message.blocks');

  const budget: Budget = { left: SLACK_MAX_BLOCKS_TEXT_CHARS };
  let blocks = ((message.blocks as unknown[] | undefined) ?? [])
    .map((b, i) => {
      if (!isJsonObject(b) || typeof b.type !== 'string') throw templateError(`block ${i} has no "type"`, `message.blocks[${i}]`);
      return fitBlock(b, `blocks[${i}]`, truncated, budget);
    })
    .filter((b) => b !== null);
  if (blocks.length > SLACK_MAX_BLOCKS) {
    blocks = blocks.slice(0, SLACK_MAX_BLOCKS);
    truncated.push('blocks');
  }
  const text = limitField('text', typeof message.text === 'string' ? message.text : '', SLACK_MAX_TEXT_CHARS, truncated, { unit: 'utf16', markup: 'slack' });
  if (text.trim() === '' && blocks.length === 0) throw templateError('the message has neither text nor blocks', 'message');
  return { text: text || `Microsoft Sentinel incident ${input.step.incidentKey}`, blocks };
}

/**
 * Holds the body to SLACK_MAX_BODY_BYTES: the fallback text gives way first (with blocks it is only
 * the notification line), then trailing blocks. Measured with the serialisation the client sends.
 */
function capBody(body: JsonObject & Content, truncated: string[]): void {
  for (let over = jsonBytes(body) - SLACK_MAX_BODY_BYTES; over > 0; over = jsonBytes(body) - SLACK_MAX_BODY_BYTES) {
    const textBytes = Buffer.byteLength(body.text, 'utf8');
    if (textBytes > 256) {
      // JSON escapes make the body grow faster than the text; 16 bytes of slack per pass converges in one or two
      body.text = limitField('text', body.text, Math.max(256, textBytes - over - 16), truncated, { unit: 'bytes', markup: 'slack' });
    } else if (body.blocks.length > 1) {
      body.blocks = body.blocks.slice(0, -1);
      truncated.push('blocks');
    } else {
      throw templateError(`the message is over ${SLACK_MAX_BODY_BYTES} bytes even cut down`, 'message');
    }
  }
}

function metadataOf(input: PayloadInput<SlackReceiver>): JsonObject {
  return {
    event_type: SLACK_METADATA_EVENT,
    event_payload: {
      incident_key: input.step.incidentKey,
      playbook: input.step.playbook,
      receiver: input.receiverName,
      idempotency_key: input.step.idempotencyKey,
    },
  };
}

function request(path: string, body: JsonObject & Content, truncated: string[]): OutboundRequest {
  capBody(body, truncated);
  return { format: 'slack.json', method: 'POST', path, headers: {}, contentType: 'application/json; charset=utf-8', body: { json: body }, truncated };
}

/** an incoming-webhook body: the webhook URL is the endpoint, and it posts to the channel it was made for */
export function buildSlackWebhookBody(input: PayloadInput<SlackReceiver>): OutboundRequest {
  const truncated: string[] = [];
  return request('', { ...fitContent(input, truncated), unfurl_links: false, unfurl_media: false }, truncated);
}

/** chat.postMessage: the incident's first message in the channel, or (with `parent`) a reply in its thread */
export function buildSlackPost(input: PayloadInput<SlackReceiver>, parent: SlackMessageRef | null = null): OutboundRequest {
  const truncated: string[] = [];
  const channel = parent?.channel ?? input.receiver.channel ?? '';
  const body = {
    channel,
    ...(parent ? { thread_ts: parent.ts } : {}),
    ...fitContent(input, truncated),
    unfurl_links: false,
    unfurl_media: false,
    metadata: metadataOf(input),
  };
  // relative to the Web API base (https://slack.com/api)
  return request('/chat.postMessage', body, truncated);
}

/**
 * chat.update: the incident's first message shows this moment instead. No metadata: the message keeps
 * what it was posted with, so a lookup still tells the step that posted it from the ones that edited it.
 */
export function buildSlackUpdate(input: PayloadInput<SlackReceiver>, parent: SlackMessageRef): OutboundRequest {
  const truncated: string[] = [];
  return request('/chat.update', { channel: parent.channel, ts: parent.ts, ...fitContent(input, truncated) }, truncated);
}

export function updateModeOf(receiver: SlackReceiver): SlackUpdateMode {
  return receiver.updates ?? SLACK_DEFAULT_UPDATES;
}

/**
 * The kind's builder (outbox files, `spk render`): the first call of the moment. Without a channel, a
 * webhook body; with one, chat.postMessage for the incident's first message and, once the kit holds that
 * message (`ticket`), a thread reply or (edit, both) chat.update of it. `both` adds the reply, which the
 * live connector sends after the update.
 */
export const buildSlackPayload: PayloadBuilder<SlackReceiver> = (input): OutboundRequest => {
  if (!input.receiver.channel) return buildSlackWebhookBody(input);
  const parent = slackMessageOf(input.ticket);
  if (!parent) return buildSlackPost(input);
  return updateModeOf(input.receiver) === 'thread' ? buildSlackPost(input, parent) : buildSlackUpdate(input, parent);
};
