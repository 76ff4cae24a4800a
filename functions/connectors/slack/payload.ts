/**
 * Slack: chat.postMessage arguments when the receiver names a channel (bot token), else an
 * incoming-webhook body. Render already escaped & < > in every field; this builder fits Block Kit's
 * limits without cutting an entity or a <url|text> link in half.
 */
import type { SlackReceiver } from './schema.js';
import { KitError } from '../../core/errors.js';
import { isJsonObject, type JsonObject } from '../../core/json-object.js';
import type { OutboundRequest, PayloadBuilder } from '../types.js';
import { limitField } from '../truncate.js';

export const SLACK_MAX_BLOCKS = 50;
export const SLACK_MAX_HEADER_CHARS = 150;
export const SLACK_MAX_SECTION_CHARS = 3000;
export const SLACK_MAX_FIELD_CHARS = 2000;
export const SLACK_MAX_CONTEXT_CHARS = 2000;
export const SLACK_MAX_BUTTON_CHARS = 75;
/** Slack truncates the top-level text after 40,000 characters; notifications show far less */
export const SLACK_MAX_TEXT_CHARS = 40_000;

function templateError(message: string, field: string): KitError {
  return new KitError(`slack: ${message}`, { kind: 'template', where: { field } });
}

/** cuts one text object's text in place; an empty text would be refused by Slack */
function fitText(obj: unknown, max: number, path: string, truncated: string[]): boolean {
  if (!isJsonObject(obj) || typeof obj.text !== 'string') return true;
  const text = limitField(path, obj.text, max, truncated, { unit: 'utf16', markup: 'slack' });
  obj.text = text;
  return text.trim() !== '';
}

function fitBlock(block: JsonObject, path: string, truncated: string[]): JsonObject | null {
  switch (block.type) {
    case 'header':
      return fitText(block.text, SLACK_MAX_HEADER_CHARS, `${path}.text`, truncated) ? block : null;
    case 'section': {
      const hasText = isJsonObject(block.text) && fitText(block.text, SLACK_MAX_SECTION_CHARS, `${path}.text`, truncated);
      if (isJsonObject(block.text) && !hasText) delete block.text;
      if (Array.isArray(block.fields)) {
        block.fields = block.fields.filter((f, i) => fitText(f, SLACK_MAX_FIELD_CHARS, `${path}.fields[${i}]`, truncated)).slice(0, 10);
        if ((block.fields as unknown[]).length === 0) delete block.fields;
      }
      return block.text || block.fields || block.accessory ? block : null;
    }
    case 'context': {
      if (!Array.isArray(block.elements)) return null;
      block.elements = block.elements.filter((e, i) => fitText(e, SLACK_MAX_CONTEXT_CHARS, `${path}.elements[${i}]`, truncated)).slice(0, 10);
      return (block.elements as unknown[]).length > 0 ? block : null;
    }
    case 'actions': {
      if (!Array.isArray(block.elements)) return null;
      for (const [i, e] of block.elements.entries()) if (isJsonObject(e)) fitText(e.text, SLACK_MAX_BUTTON_CHARS, `${path}.elements[${i}].text`, truncated);
      return block;
    }
    default:
      return block;
  }
}

export const buildSlackPayload: PayloadBuilder<SlackReceiver> = (input): OutboundRequest => {
  const part = input.rendered.parts.message;
  if (!isJsonObject(part)) throw templateError(`template "${input.rendered.template}" must produce a "message" part: {"text": …, "blocks": […]}`, 'message');
  const message = structuredClone(part);
  const truncated: string[] = [];

  if (message.text !== undefined && typeof message.text !== 'string') throw templateError('"text" must be a string', 'message.text');
  if (message.blocks !== undefined && !Array.isArray(message.blocks)) throw templateError('"blocks" must be an array', 'message.blocks');

  let blocks = ((message.blocks as unknown[] | undefined) ?? []).map((b, i) => {
    if (!isJsonObject(b) || typeof b.type !== 'string') throw templateError(`block ${i} has no "type"`, `message.blocks[${i}]`);
    return fitBlock(b, `blocks[${i}]`, truncated);
  });
  blocks = blocks.filter((b) => b !== null);
  if (blocks.length > SLACK_MAX_BLOCKS) {
    blocks = blocks.slice(0, SLACK_MAX_BLOCKS);
    truncated.push('blocks');
  }
  const text = limitField('text', typeof message.text === 'string' ? message.text : '', SLACK_MAX_TEXT_CHARS, truncated, { unit: 'utf16', markup: 'slack' });
  if (text.trim() === '' && blocks.length === 0) throw templateError('the message has neither text nor blocks', 'message');

  const content: JsonObject = { text: text || `Microsoft Sentinel incident ${input.step.incidentKey}`, blocks };
  const body: JsonObject = input.receiver.channel
    ? {
        channel: input.receiver.channel,
        ...content,
        unfurl_links: false,
        unfurl_media: false,
        metadata: { event_type: 'sentinel_incident_change', event_payload: { incident_key: input.step.incidentKey, playbook: input.step.playbook } },
      }
    : { ...content, unfurl_links: false, unfurl_media: false };
  // chat.postMessage is relative to the Web API base (https://slack.com/api); a webhook URL is the endpoint itself
  return {
    format: 'slack.json',
    method: 'POST',
    path: input.receiver.channel ? '/chat.postMessage' : '',
    headers: {},
    contentType: 'application/json; charset=utf-8',
    body: { json: body },
    truncated,
  };
};
