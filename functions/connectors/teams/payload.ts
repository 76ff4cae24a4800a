/**
 * The body a Teams Workflows webhook ("When a Teams webhook request is received" → "Post card in a
 * chat or channel") gets: a message envelope around one Adaptive Card. The card comes from render
 * with attacker text already escaped; this builder only makes it fit what Teams accepts.
 */
import type { TeamsReceiver } from './schema.js';
import { KitError } from '../../core/errors.js';
import { isJsonObject, type JsonObject } from '../../core/json-object.js';
import type { Incident } from '../../core/model.js';
import { jsonBytes } from '../request.js';
import type { OutboundRequest, PayloadBuilder } from '../types.js';

/** Teams renders Adaptive Cards up to 1.5; a higher version shows as "card cannot be displayed". */
export const TEAMS_MAX_CARD_VERSION = 5;
/** Workflows and Teams refuse larger messages ("Request Entity too large"). */
export const TEAMS_MAX_BYTES = 28 * 1024;
/** A truncated text keeps at least this much, so a cut message still says what it is about. */
const MIN_TEXT_CHARS = 200;
const ELLIPSIS = '…';

function byteLength(s: string): number {
  return Buffer.byteLength(s, 'utf8');
}

/** A text slot in the card that may be shortened: the object and key (or array and index) holding it. */
interface TextSlot {
  path: string;
  get(): string;
  set(v: string): void;
}

function collect(node: unknown, path: string, visit: (node: JsonObject, path: string) => void): void {
  if (Array.isArray(node)) {
    node.forEach((child, i) => collect(child, `${path}[${i}]`, visit));
    return;
  }
  if (!isJsonObject(node)) return;
  visit(node, path);
  for (const [k, v] of Object.entries(node)) if (typeof v === 'object' && v !== null) collect(v, `${path}.${k}`, visit);
}

/** TextRun texts and bare-string inlines of RichTextBlocks: where render puts untrusted, long text. */
function richTextSlots(card: JsonObject): TextSlot[] {
  const slots: TextSlot[] = [];
  collect(card, 'card', (node, path) => {
    if (node.type === 'TextRun' && typeof node.text === 'string') {
      slots.push({ path: `${path}.text`, get: () => node.text as string, set: (v) => (node.text = v) });
    }
    if (node.type === 'RichTextBlock' && Array.isArray(node.inlines)) {
      const inlines = node.inlines as unknown[];
      inlines.forEach((inline, i) => {
        if (typeof inline === 'string') slots.push({ path: `${path}.inlines[${i}]`, get: () => inlines[i] as string, set: (v) => (inlines[i] = v) });
      });
    }
  });
  return slots;
}

function textBlockSlots(card: JsonObject): TextSlot[] {
  const slots: TextSlot[] = [];
  collect(card, 'card', (node, path) => {
    if (node.type === 'TextBlock' && typeof node.text === 'string') {
      slots.push({ path: `${path}.text`, get: () => node.text as string, set: (v) => (node.text = v) });
    }
  });
  return slots;
}

function factSets(card: JsonObject): Array<{ path: string; facts: unknown[] }> {
  const sets: Array<{ path: string; facts: unknown[] }> = [];
  collect(card, 'card', (node, path) => {
    if (node.type === 'FactSet' && Array.isArray(node.facts)) sets.push({ path: `${path}.facts`, facts: node.facts as unknown[] });
  });
  return sets;
}

/**
 * Shortens the longest slot first until the message fits `limit` or nothing is longer than the floor.
 * Each cut removes at least the current excess in UTF-8 bytes, whole code points only (never half a
 * surrogate pair); JSON escaping can leave a little over, which the next pass takes. `bytes` is the
 * current size; `measure` re-measures after a cut (once per cut). Returns the size after the last cut.
 */
function shrinkTexts(slots: TextSlot[], bytes: number, measure: () => number, limit: number, cut: Set<string>): number {
  for (let guard = 0; guard < 1000 && bytes > limit; guard++) {
    let longest: TextSlot | undefined;
    let longestLen = MIN_TEXT_CHARS;
    for (const s of slots) {
      const len = Array.from(s.get()).length;
      if (len > longestLen) {
        longest = s;
        longestLen = len;
      }
    }
    if (!longest) return bytes;
    const excessBytes = bytes - limit + byteLength(ELLIPSIS);
    const chars = Array.from(longest.get());
    let keep = chars.length;
    for (let removed = 0; keep > MIN_TEXT_CHARS && removed < excessBytes; ) removed += byteLength(chars[--keep] ?? '');
    longest.set(chars.slice(0, keep).join('') + ELLIPSIS);
    cut.add(longest.path);
    bytes = measure();
  }
  return bytes;
}

/** Absolute https only: anything else (javascript:, http:, relative) is dropped from the card. */
function isHttpsUrl(u: unknown): u is string {
  if (typeof u !== 'string') return false;
  try {
    return new URL(u).protocol === 'https:';
  } catch {
    return false;
  }
}

function removeUnsafeOpenUrls(node: unknown): void {
  if (Array.isArray(node)) {
    for (let i = node.length - 1; i >= 0; i--) {
      const child = node[i];
      if (isJsonObject(child) && child.type === 'Action.OpenUrl' && !isHttpsUrl(child.url)) node.splice(i, 1);
      else removeUnsafeOpenUrls(child);
    }
    return;
  }
  if (!isJsonObject(node)) return;
  for (const [k, v] of Object.entries(node)) {
    if (isJsonObject(v) && v.type === 'Action.OpenUrl' && !isHttpsUrl(v.url)) delete node[k];
    else removeUnsafeOpenUrls(v);
  }
}

/** Defender's incident page when the incident has one (it is where Defender Experts work), else Sentinel's. */
export function incidentLink(incident: Incident): { url: string; title: string } | null {
  if (isHttpsUrl(incident.links.defender)) return { url: incident.links.defender, title: 'Open incident in Microsoft Defender' };
  if (isHttpsUrl(incident.links.sentinel)) return { url: incident.links.sentinel, title: 'Open incident in Microsoft Sentinel' };
  return null;
}

/**
 * Exactly one top-level Action.OpenUrl to the incident, first in the list: the template's own if it
 * has one (its title wins), else a new one. Other OpenUrl actions (runbooks, guidance) stay.
 */
function ensureIncidentAction(card: JsonObject, incident: Incident): void {
  const link = incidentLink(incident);
  const actions = Array.isArray(card.actions) ? (card.actions as unknown[]) : [];
  if (!link) {
    if (actions.length > 0) card.actions = actions;
    return;
  }
  const known = new Set([incident.links.defender, incident.links.sentinel].filter((u): u is string => typeof u === 'string'));
  const isIncidentAction = (a: unknown): a is JsonObject => isJsonObject(a) && a.type === 'Action.OpenUrl' && known.has(a.url as string);
  const existing = actions.find(isIncidentAction);
  const others = actions.filter((a) => !isIncidentAction(a));
  const title = existing && typeof existing.title === 'string' && existing.title.trim() !== '' ? existing.title : link.title;
  card.actions = [{ type: 'Action.OpenUrl', title, url: link.url }, ...others];
}

function normaliseVersion(card: JsonObject): void {
  const raw = card.version;
  if (raw === undefined) {
    card.version = `1.${TEAMS_MAX_CARD_VERSION}`;
    return;
  }
  const m = typeof raw === 'string' ? /^(\d+)\.(\d+)$/.exec(raw.trim()) : null;
  if (!m || m[1] !== '1') {
    throw new KitError(`teams: Adaptive Card version ${JSON.stringify(raw)} is not supported; Teams renders 1.0–1.5`, {
      kind: 'template',
      where: { field: 'card.version' },
    });
  }
  // 1.6 only adds elements and properties; Teams ignores what it does not know when the card says 1.5
  if (Number(m[2]) > TEAMS_MAX_CARD_VERSION) card.version = `1.${TEAMS_MAX_CARD_VERSION}`;
}

/** the Workflows message around the card; it holds the card itself, so later cuts to the card show in it */
function envelope(card: JsonObject): JsonObject {
  return {
    type: 'message',
    attachments: [{ contentType: 'application/vnd.microsoft.card.adaptive', contentUrl: null, content: card }],
  };
}

export const buildTeamsPayload: PayloadBuilder<TeamsReceiver> = (input): OutboundRequest => {
  const part = input.rendered.parts.card;
  if (!isJsonObject(part) || part.type !== 'AdaptiveCard') {
    throw new KitError(`teams: template "${input.rendered.template}" must produce a "card" part that is an AdaptiveCard object`, {
      kind: 'template',
      where: { field: 'card' },
    });
  }
  const card = structuredClone(part);
  normaliseVersion(card);
  removeUnsafeOpenUrls(card);
  ensureIncidentAction(card, input.step.incident);

  const cut = new Set<string>();
  const message = envelope(card);
  // measured once; only a message over the limit is measured again, once after each cut
  const measure = () => jsonBytes(message);
  let bytes = measure();
  if (bytes > TEAMS_MAX_BYTES) bytes = shrinkTexts(richTextSlots(card), bytes, measure, TEAMS_MAX_BYTES, cut);
  if (bytes > TEAMS_MAX_BYTES) {
    for (const set of factSets(card)) {
      while (set.facts.length > 0 && bytes > TEAMS_MAX_BYTES) {
        set.facts.pop();
        cut.add(set.path);
        bytes = measure();
      }
    }
  }
  if (bytes > TEAMS_MAX_BYTES) bytes = shrinkTexts(textBlockSlots(card), bytes, measure, TEAMS_MAX_BYTES, cut);
  if (bytes > TEAMS_MAX_BYTES) {
    throw new KitError(`teams: the card is ${bytes} bytes after truncation; Teams accepts at most ${TEAMS_MAX_BYTES}`, {
      kind: 'template',
      where: { field: 'card' },
    });
  }

  // the webhook URL is the endpoint (and the credential): the request goes to it as it is
  return { format: 'teams.json', method: 'POST', path: '', headers: {}, contentType: 'application/json', body: { json: message }, truncated: [...cut] };
};
