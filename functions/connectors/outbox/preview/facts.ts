/**
 * What the preview can learn about an incident and a delivery moment from the outbox files alone: the
 * incident's number, title and severity, when the incident was updated, and the changes a delivery
 * reacted to. Structured fields come first (a failed-delivery record, PagerDuty's custom_details);
 * the shipped templates' wording is only a fallback, so a customised template costs a label, never a card.
 */
import { isJsonObject } from '../../../core/json-object.js';
import { isJsonFormat, type ParsedEntry } from './document.js';

export interface EntryFacts {
  /** Sentinel incident number / Defender incident id, as digits */
  number: string | null;
  title: string | null;
  severity: string | null;
  /** when the incident was last updated, "YYYY-MM-DD HH:MM" (UTC): the moment the delivery reacted to */
  updated: string | null;
  /** the changes the delivery reacted to, in words */
  changes: string[] | null;
  /** the delivery's own one-line summary (email subject, PagerDuty summary), when there is one */
  headline: string | null;
}

const text = (v: unknown): string | null => (typeof v === 'string' && v.trim() !== '' ? v.trim() : null);
const digits = (v: unknown): string | null =>
  typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? String(v) : typeof v === 'string' && /^\d{1,12}$/.test(v) ? v : null;

function minuteOf(iso: unknown): string | null {
  if (typeof iso !== 'string') return null;
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? null : new Date(ms).toISOString().slice(0, 16).replace('T', ' ');
}

function changeWords(c: unknown): string | null {
  if (!isJsonObject(c) || typeof c.kind !== 'string') return null;
  const kind = c.kind.replace(/[-_]/g, ' ');
  const from = text(typeof c.from === 'number' ? String(c.from) : c.from);
  const to = text(typeof c.to === 'number' ? String(c.to) : c.to);
  if (from && to) return `${kind}: ${from} → ${to}`;
  if (to) return `${kind}: ${to}`;
  if (from) return `${kind}: ${from} removed`;
  return kind;
}

/** Every string in a JSON document, depth-bounded: where a template put its words. */
function stringsOf(v: unknown, out: string[], depth = 0): string[] {
  if (depth > 16 || out.length > 2000) return out;
  if (typeof v === 'string') out.push(v);
  else if (Array.isArray(v)) v.forEach((x) => stringsOf(x, out, depth + 1));
  else if (isJsonObject(v)) Object.values(v).forEach((x) => stringsOf(x, out, depth + 1));
  return out;
}

function searchableText({ entry, document }: ParsedEntry): string {
  // a JSON body that did not parse has no document, so it tells nothing
  if (isJsonFormat(entry.format)) return stringsOf(document, []).join('\n');
  // quoted-printable soft breaks and HTML tags split the words the patterns below look for
  return entry.body.replace(/=\r?\n/g, '').replace(/<[^>]{0,400}>/g, ' ');
}

function emailSubject(body: string): string | null {
  const head = body.split(/\r?\n\r?\n/, 1)[0] ?? '';
  const m = /^Subject:[ \t]*(.*(?:\r?\n[ \t].*)*)/im.exec(head);
  if (!m) return null;
  const value = (m[1] ?? '').replace(/\r?\n[ \t]+/g, ' ').trim();
  // an encoded word (non-ASCII subject) is left to the email card, which decodes it properly
  return value && !value.includes('=?') ? value : null;
}

/** The facts one file gives away. Never throws: a malformed file simply tells nothing. */
export function factsOf(parsed: ParsedEntry): EntryFacts {
  const { entry, document: doc } = parsed;
  const facts: EntryFacts = { number: null, title: null, severity: null, updated: null, changes: null, headline: null };
  if (entry.format === 'failed.json' || entry.format === 'pagerduty.json') {
    if (isJsonObject(doc) && entry.format === 'failed.json') {
      facts.number = digits(doc.incidentNumber);
      facts.title = text(doc.title);
    }
    if (isJsonObject(doc) && entry.format === 'pagerduty.json' && isJsonObject(doc.payload)) {
      const details = isJsonObject(doc.payload.custom_details) ? doc.payload.custom_details : {};
      facts.number = digits(details.incident_number);
      facts.title = text(details.title);
      facts.severity = text(details.severity);
      facts.updated = minuteOf(doc.payload.timestamp);
      facts.headline = text(doc.payload.summary);
      if (Array.isArray(details.changes)) facts.changes = details.changes.map(changeWords).filter((c): c is string => c !== null);
    }
  }
  if (entry.format === 'eml') facts.headline = emailSubject(entry.body);
  const words = searchableText(parsed);
  facts.number ??= /\bincident[ :#]+(\d{1,12})\b/i.exec(words)?.[1] ?? (/^\d{1,12}$/.test(entry.incidentKey) ? entry.incidentKey : null);
  // "Sentinel incident 3101 (High): <title>", the shipped ticket summary
  const summary = /\bincident \d{1,12} \(([A-Za-z]{1,20})\): ([^\n]{1,500})/i.exec(words);
  if (summary) {
    facts.severity ??= summary[1] ?? null;
    facts.title ??= (summary[2] ?? '').trim() || null;
  }
  const updated = /\bUpdated\b[^0-9\n]{0,24}(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2})/.exec(words);
  if (updated) facts.updated ??= `${updated[1]} ${updated[2]}`;
  return facts;
}

// ───────────────────────────── moments ─────────────────────────────

export interface Placed<T> {
  item: T;
  receiver: string;
  /** the file's number within its receiver and incident: <incident>-<n>.<ext> */
  n: number;
  facts: EntryFacts;
  /** a failed-delivery record rather than a delivered file */
  failed: boolean;
}

export interface Moment<T> {
  /** "YYYY-MM-DD HH:MM" when the files say when the incident was updated */
  updated: string | null;
  changes: string[] | null;
  headline: string | null;
  items: Array<Placed<T>>;
}

/**
 * Groups one incident's deliveries into the moments they reacted to, in delivery order. A receiver's
 * files are numbered in the order they were delivered, so its k-th file belongs to the incident's k-th
 * moment for that receiver; receivers are lined up by the incident's update time where a file tells it
 * (or a receiver that tells it for every file has as many files), else by position.
 */
export function momentsOf<T>(placed: Array<Placed<T>>): Array<Moment<T>> {
  const byReceiver = new Map<string, Array<Placed<T>>>();
  for (const p of placed) {
    const list = byReceiver.get(p.receiver) ?? [];
    list.push(p);
    byReceiver.set(p.receiver, list);
  }
  for (const list of byReceiver.values()) list.sort((a, b) => a.n - b.n);
  const reference = [...byReceiver.values()]
    .filter((list) => list.every((p) => p.facts.updated !== null))
    .sort((a, b) => b.length - a.length)[0];
  const keyed = new Map<string, { order: number; items: Array<Placed<T>> }>();
  const stamps = [...new Set(placed.flatMap((p) => (p.facts.updated ? [p.facts.updated] : [])))].sort();
  const put = (p: Placed<T>, stamp: string | null, k: number): void => {
    // an unplaceable file sits after the moment its position suggests, never merged into it by guesswork
    const key = stamp ? `t:${stamp}` : `#${k}`;
    const group = keyed.get(key) ?? { order: stamp ? stamps.indexOf(stamp) : k + 0.5, items: [] };
    group.items.push(p);
    keyed.set(key, group);
  };
  const refStamp = (k: number): string | null => reference?.[k]?.facts.updated ?? null;
  for (const list of byReceiver.values()) {
    const delivered = list.filter((p) => !p.failed);
    if (reference && list.length !== reference.length && delivered.length === reference.length) {
      // a failure that was retried: the delivered files line up, the failure belongs with the retry after it
      delivered.forEach((p, k) => put(p, p.facts.updated ?? refStamp(k), k));
      for (const p of list.filter((x) => x.failed)) {
        const next = delivered.findIndex((d) => d.n > p.n);
        const k = next >= 0 ? next : delivered.length - 1;
        put(p, p.facts.updated ?? refStamp(k), k);
      }
      continue;
    }
    if (!reference) {
      // no receiver dates every file: a partial date would only split the timeline, so position decides
      list.forEach((p, k) => put(p, null, k));
      continue;
    }
    const aligned = reference.length === list.length;
    list.forEach((p, k) => put(p, p.facts.updated ?? (aligned ? refStamp(k) : null), k));
  }
  return [...keyed.values()]
    .sort((a, b) => a.order - b.order)
    .map(({ items }) => {
      items.sort((a, b) => (a.receiver < b.receiver ? -1 : a.receiver > b.receiver ? 1 : a.n - b.n));
      const told = items.find((p) => p.facts.changes && p.facts.changes.length > 0);
      return {
        updated: items.find((p) => p.facts.updated)?.facts.updated ?? null,
        changes: told?.facts.changes ?? null,
        headline: items.find((p) => p.facts.headline)?.facts.headline ?? null,
        items,
      };
    });
}
