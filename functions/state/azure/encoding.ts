/**
 * How state is laid out in Azure Storage, and the limits that layout imposes. Pure (no SDK) so the
 * in-memory adapter enforces exactly the same limits and a test against memory finds what Azure
 * would refuse.
 */
import { createHash } from 'node:crypto';
import { KitError, invalid } from '../../core/errors.js';
import { isJsonObject } from '../../core/json-object.js';
import { RECEIVER_KINDS } from '../../config/schema.js';
import type { QueuedDelivery } from '../ports.js';

/** A Storage Queue message is at most 64 KiB of text; the kit sends base64, as the Functions trigger expects. */
export const MAX_QUEUE_MESSAGE_CHARS = 65_536;
/** Azure's visibility timeout ceiling (7 days). */
export const MAX_VISIBILITY_SECONDS = 7 * 24 * 60 * 60;
export { CHUNK_CHARS, MAX_CHUNKS, MAX_JSON_CHARS, MAX_JSON_WIRE_CHARS, asciiJson, wireChars, fitsTableEntity } from '../../core/storage-budget.js';
import { CHUNK_CHARS, MAX_JSON_CHARS, MAX_JSON_WIRE_CHARS, wireChars } from '../../core/storage-budget.js';

/** Watermarks are timestamps or tokens; one string property is the most a plain value may use. */
export const MAX_VALUE_CHARS = CHUNK_CHARS;

/** Ids (incident keys, receiver names, idempotency keys, watermark names) are short in practice. */
export const MAX_ID_CHARS = 1_024;

// PartitionKey / RowKey may be up to 1 KiB; ids longer than this are hashed instead of spelled out.
const MAX_SPELLED_KEY_CHARS = 512;
// A lone surrogate is not valid UTF-16 and would be mangled on the wire, merging two distinct ids.
const LONE_SURROGATE = /\p{Cs}/u;

/** Ids are opaque to the stores, but must be non-empty, well-formed strings. */
export function checkId(field: string, value: unknown): string {
  if (typeof value !== 'string' || value.length === 0) {
    throw invalid(field, `must be a non-empty string, got ${value === '' ? 'an empty string' : typeof value}`);
  }
  if (value.length > MAX_ID_CHARS) {
    throw invalid(field, `is ${value.length} characters long; ids may be at most ${MAX_ID_CHARS}`);
  }
  if (LONE_SURROGATE.test(value)) {
    throw invalid(field, 'contains an unpaired UTF-16 surrogate, which storage cannot keep apart from other ids');
  }
  return value;
}

/**
 * PartitionKey/RowKey forbid / \ # ? and control characters, so ids are spelled in base64url
 * ("k" prefix), or hashed ("h" prefix) when that would be too long; the prefixes keep the two
 * forms from ever meeting. The original id is always stored beside the key.
 */
export function encodeKey(id: string): string {
  const spelled = Buffer.from(id, 'utf8').toString('base64url');
  if (spelled.length <= MAX_SPELLED_KEY_CHARS) return `k${spelled}`;
  return `h${createHash('sha256').update(id, 'utf8').digest('base64url')}`;
}

/** Rejects JSON that would not fit one entity's string properties, naming what it belongs to. */
export function checkJsonSize(what: string, json: string): void {
  if (json.length > MAX_JSON_CHARS) {
    throw new KitError(
      `${what} is ${json.length} characters of JSON; an Azure Table entity holds at most ${MAX_JSON_CHARS} ` +
        `(1 MiB per entity, 64 KiB per property)`,
      { kind: 'validation', statusCode: 413, where: { field: what } },
    );
  }
  const wire = wireChars(json);
  if (wire > MAX_JSON_WIRE_CHARS) {
    throw new KitError(
      `${what} is ${wire} characters of JSON once escaped for the request body; a table write carries at most ` +
        `${MAX_JSON_WIRE_CHARS} (1 MiB per request body, every non-ASCII character sent as a 6-character \\u escape)`,
      { kind: 'validation', statusCode: 413, where: { field: what } },
    );
  }
}

/** Splits JSON across `json0..jsonN` properties without cutting a surrogate pair in half. */
export function toChunks(json: string): Record<string, string | number> {
  const properties: Record<string, string | number> = {};
  let index = 0;
  for (let start = 0; start < json.length; index++) {
    let end = Math.min(start + CHUNK_CHARS, json.length);
    const last = json.charCodeAt(end - 1);
    if (end < json.length && last >= 0xd800 && last <= 0xdbff) end -= 1;
    properties[`json${index}`] = json.slice(start, end);
    start = end;
  }
  properties['jsonChunks'] = index;
  return properties;
}

export function fromChunks(entity: Record<string, unknown>, what: string): string {
  const count = entity['jsonChunks'];
  if (typeof count !== 'number' || !Number.isInteger(count) || count < 0) {
    throw new KitError(`${what}: stored entity has no valid jsonChunks count`, { kind: 'terminal' });
  }
  let json = '';
  for (let i = 0; i < count; i++) {
    const part = entity[`json${i}`];
    if (typeof part !== 'string') {
      throw new KitError(`${what}: stored entity is missing chunk json${i} of ${count}`, { kind: 'terminal' });
    }
    json += part;
  }
  return json;
}

/** Milliseconds → whole seconds for the queue, rounding up so a message is never visible early. */
export function delaySeconds(field: string, delayMs: number | undefined): number {
  if (delayMs === undefined) return 0;
  if (typeof delayMs !== 'number' || !Number.isFinite(delayMs) || delayMs < 0) {
    throw invalid(field, `must be a finite number of milliseconds >= 0, got ${String(delayMs)}`);
  }
  // Longer than Azure allows: come back at the ceiling and be told to wait again, rather than fail.
  return Math.min(Math.ceil(delayMs / 1000), MAX_VISIBILITY_SECONDS);
}

export function visibilitySeconds(field: string, visibilityTimeoutMs: number): number {
  if (typeof visibilityTimeoutMs !== 'number' || !Number.isFinite(visibilityTimeoutMs) || visibilityTimeoutMs <= 0) {
    throw invalid(field, `must be a positive number of milliseconds, got ${String(visibilityTimeoutMs)}`);
  }
  return Math.min(Math.max(1, Math.ceil(visibilityTimeoutMs / 1000)), MAX_VISIBILITY_SECONDS);
}

export function checkBatchSize(field: string, max: number): number {
  if (!Number.isInteger(max) || max < 1) throw invalid(field, `must be an integer >= 1, got ${String(max)}`);
  return max;
}

/** base64(JSON): the encoding the Functions queue trigger decodes by default. */
export function encodeMessage(value: unknown): string {
  return Buffer.from(JSON.stringify(value), 'utf8').toString('base64');
}

export function encodeDelivery(delivery: QueuedDelivery): string {
  const checked = decodeDelivery(delivery);
  const text = encodeMessage(checked);
  if (text.length > MAX_QUEUE_MESSAGE_CHARS) {
    throw new KitError(
      `delivery ${checked.step.idempotencyKey} (receiver ${checked.step.receiver}, incident ${checked.step.incidentKey}) ` +
        `is ${text.length} characters after base64; a Storage Queue message is at most ${MAX_QUEUE_MESSAGE_CHARS} (64 KiB). ` +
        'Cap the incident description when planning the step.',
      { kind: 'validation', statusCode: 413, where: { field: 'delivery.step.incident.description' } },
    );
  }
  return text;
}

/** The parsed JSON of a message, or why it could not be parsed. */
export function parseMessage(text: string): { ok: true; value: unknown } | { ok: false; reason: string } {
  const trimmed = text.trim();
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(trimmed) || trimmed.length % 4 !== 0 || trimmed.length === 0) {
    return { ok: false, reason: 'message text is not base64' };
  }
  const json = Buffer.from(trimmed, 'base64').toString('utf8');
  try {
    return { ok: true, value: JSON.parse(json) as unknown };
  } catch (error) {
    return { ok: false, reason: `message is not JSON (${(error as Error).message})` };
  }
}

/** A queue message's delivery, or why it is not one (such a message belongs on the poison queue). */
export function readDelivery(text: string): { delivery: QueuedDelivery } | { reason: string } {
  const parsed = parseMessage(text);
  if (!parsed.ok) return { reason: parsed.reason };
  try {
    return { delivery: decodeDelivery(parsed.value) };
  } catch (error) {
    return { reason: `message is not a delivery: ${(error as Error).message}` };
  }
}

const STEP_STRINGS = ['idempotencyKey', 'incidentKey', 'playbook', 'receiver', 'template', 'plannedAt'] as const;

/**
 * Checks that a value is a QueuedDelivery, e.g. what the Functions queue trigger hands the deliver
 * function after it decoded the base64. Throws KitError validation naming the first bad field.
 */
export function decodeDelivery(value: unknown): QueuedDelivery {
  if (!isJsonObject(value)) throw invalid('delivery', 'must be an object');
  const attempt = value['attempt'];
  if (typeof attempt !== 'number' || !Number.isInteger(attempt) || attempt < 1) {
    throw invalid('delivery.attempt', `must be an integer >= 1, got ${JSON.stringify(attempt)}`);
  }
  const step = value['step'];
  if (!isJsonObject(step)) throw invalid('delivery.step', 'must be an object');
  for (const name of STEP_STRINGS) {
    if (typeof step[name] !== 'string' || step[name] === '') {
      throw invalid(`delivery.step.${name}`, 'must be a non-empty string');
    }
  }
  if (!(RECEIVER_KINDS as readonly unknown[]).includes(step['kind'])) {
    throw invalid('delivery.step.kind', `must be one of ${RECEIVER_KINDS.join(', ')}`);
  }
  if (step['stepType'] !== 'notify' && step['stepType'] !== 'ticket') {
    throw invalid('delivery.step.stepType', 'must be "notify" or "ticket"');
  }
  if (!Array.isArray(step['changes'])) throw invalid('delivery.step.changes', 'must be an array');
  const incident = step['incident'];
  if (!isJsonObject(incident) || typeof incident['key'] !== 'string') {
    throw invalid('delivery.step.incident', 'must be an incident with a string key');
  }
  return value as unknown as QueuedDelivery;
}

/** What the kit puts on the poison queue; the Functions host instead moves the original message as-is. */
export interface PoisonEnvelope {
  poisoned: { reason: string; at: string };
  delivery: QueuedDelivery | null;
  /** the original message text when it could not be decoded */
  raw: string | null;
}

/** One entry of the poison queue as read back, whoever put it there. */
export interface PoisonEntry {
  delivery: QueuedDelivery | null;
  reason: string;
  raw: string | null;
}

const MAX_REASON_CHARS = 2_000;
const HOST_MOVED_REASON = 'moved by the Functions host after maxDequeueCount failed attempts';

export function encodePoison(
  delivery: QueuedDelivery | null,
  reason: string,
  raw: string | null,
  at: Date,
): string {
  const envelope: PoisonEnvelope = {
    poisoned: { reason: String(reason).slice(0, MAX_REASON_CHARS), at: at.toISOString() },
    delivery,
    raw,
  };
  let text = encodeMessage(envelope);
  if (text.length <= MAX_QUEUE_MESSAGE_CHARS) return text;
  // The envelope adds to a delivery that fitted on its own; give up description text, never the message.
  const overflow = Math.ceil(((text.length - MAX_QUEUE_MESSAGE_CHARS) * 3) / 4) + 64;
  if (delivery) {
    const description = delivery.step.incident.description;
    envelope.delivery = {
      ...delivery,
      step: {
        ...delivery.step,
        incident: { ...delivery.step.incident, description: `${description.slice(0, Math.max(0, description.length - overflow))}…` },
      },
    };
  } else if (raw !== null) {
    envelope.raw = raw.slice(0, Math.max(0, raw.length - overflow));
  }
  text = encodeMessage(envelope);
  if (text.length > MAX_QUEUE_MESSAGE_CHARS) {
    throw new KitError(`poison message for ${delivery?.step.idempotencyKey ?? 'an undecodable message'} does not fit 64 KiB`, {
      kind: 'validation',
      statusCode: 413,
    });
  }
  return text;
}

export function decodePoison(text: string): PoisonEntry {
  const parsed = parseMessage(text);
  if (!parsed.ok) return { delivery: null, reason: `${HOST_MOVED_REASON}; ${parsed.reason}`, raw: text };
  const value = parsed.value;
  if (isJsonObject(value) && isJsonObject(value['poisoned'])) {
    const reason = typeof value['poisoned']['reason'] === 'string' ? value['poisoned']['reason'] : 'unknown';
    const raw = typeof value['raw'] === 'string' ? value['raw'] : null;
    try {
      return { delivery: value['delivery'] === null ? null : decodeDelivery(value['delivery']), reason, raw };
    } catch {
      return { delivery: null, reason, raw: raw ?? text };
    }
  }
  try {
    return { delivery: decodeDelivery(value), reason: HOST_MOVED_REASON, raw: null };
  } catch (error) {
    return { delivery: null, reason: `${HOST_MOVED_REASON}; ${(error as Error).message}`, raw: text };
  }
}

