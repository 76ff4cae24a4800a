/**
 * After a JSON part is parsed, incident text is still marked (UNTRUSTED_OPEN…CLOSE). Here each marked
 * run is neutralised for the field it ended up in, which only the parsed structure can tell:
 *  - Teams: TextRun text is literal (only {{DATE()}} is broken); every other string is markdown, so
 *    link and emphasis syntax become look-alikes.
 *  - Slack: mrkdwn and plain_text alike get & < > escaped, so no mention, link or <!channel>.
 *  - Jira: ADF text is literal; incident text is refused where it would pick a mention, emoji,
 *    card or media target.
 *  - everywhere: a URL field may hold incident text only when it is one of the incident's own links;
 *    incident text can never choose a `type` or a key.
 */
import type { PartDialect, PartSpec } from './parts.js';
import { UNTRUSTED_CLOSE, UNTRUSTED_OPEN, breakCardFunctions, escapeSlack, neutraliseCardMarkdown } from './escape.js';

export class UnsafePlacement extends Error {
  constructor(
    message: string,
    readonly path: string,
  ) {
    super(message);
  }
}

const MARKED = new RegExp(`${UNTRUSTED_OPEN}([^${UNTRUSTED_CLOSE}]*)${UNTRUSTED_CLOSE}`, 'g');
const URL_KEY = /(^|_)url$|Url$|^href$/;
const ADF_REFERENCE_NODES = new Set(['mention', 'emoji', 'inlineCard', 'blockCard', 'embedCard', 'media', 'mediaInline', 'mediaSingle', 'mediaGroup']);

function hasMarks(s: string): boolean {
  return s.includes(UNTRUSTED_OPEN) || s.includes(UNTRUSTED_CLOSE);
}

function mapMarked(s: string, fn: (raw: string) => string): string {
  return s.replace(MARKED, (_m, inner: string) => fn(inner)).replace(/[\uE000\uE001]/g, '');
}

interface Walk {
  dialect: PartDialect | null;
  allowedLinks: ReadonlySet<string>;
}

function resolveString(w: Walk, s: string, key: string, parent: Record<string, unknown> | null, ancestors: string[], path: string): string {
  if (!hasMarks(s)) return s;
  if (key === 'type') throw new UnsafePlacement(`incident text cannot decide an element type (at ${path})`, path);
  if (URL_KEY.test(key)) {
    const whole = new RegExp(`^${UNTRUSTED_OPEN}([^${UNTRUSTED_CLOSE}]*)${UNTRUSTED_CLOSE}$`).exec(s);
    const url = whole?.[1];
    if (url !== undefined && w.allowedLinks.has(url)) return url;
    throw new UnsafePlacement(`incident text cannot be a URL (at ${path}); use {{link incidentUrl}}`, path);
  }
  switch (w.dialect) {
    case 'adaptive-card':
      return (parent?.type === 'TextRun' && key === 'text') || (parent?.type === 'RichTextBlock' && key === 'inlines')
        ? mapMarked(s, breakCardFunctions)
        : mapMarked(s, neutraliseCardMarkdown);
    case 'slack':
      return mapMarked(s, escapeSlack);
    case 'jira-adf':
      if (ancestors.some((t) => ADF_REFERENCE_NODES.has(t))) {
        throw new UnsafePlacement(`incident text cannot fill a ${ancestors.find((t) => ADF_REFERENCE_NODES.has(t))} node (at ${path})`, path);
      }
      return mapMarked(s, (raw) => raw);
    default:
      return mapMarked(s, (raw) => raw);
  }
}

function walk(w: Walk, value: unknown, key: string, parent: Record<string, unknown> | null, ancestors: string[], path: string): unknown {
  if (typeof value === 'string') return resolveString(w, value, key, parent, ancestors, path);
  if (Array.isArray(value)) return value.map((v, i) => walk(w, v, key, parent, ancestors, `${path}[${i}]`));
  if (value !== null && typeof value === 'object') {
    const obj = value as Record<string, unknown>;
    const type = typeof obj.type === 'string' && !hasMarks(obj.type) ? [obj.type] : [];
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(obj)) {
      if (hasMarks(k)) throw new UnsafePlacement(`incident text cannot be a JSON key (at ${path})`, path);
      out[k] = walk(w, v, k, obj, [...ancestors, ...type], path ? `${path}.${k}` : k);
    }
    return out;
  }
  return value;
}

export function resolveJsonPart(part: PartSpec, value: unknown, allowedLinks: ReadonlySet<string>): unknown {
  return walk({ dialect: part.dialect ?? null, allowedLinks }, value, '', null, [], '');
}
