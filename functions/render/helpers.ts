/**
 * Template helpers. Each one reads the part's escaping from the render state Handlebars carries in
 * `@data`, works on raw text, and hands back either incident-derived text (re-wrapped, so it is
 * escaped on output) or kit-made markup.
 */
import type { HelperOptions } from 'handlebars';
import type { Severity } from '../core/model.js';
import { describeChange } from './context.js';
import { escapeSlack } from './escape.js';
import { Markup, Untrusted, rawOf, type PartEscaping } from './values.js';
import { humanWords } from './words.js';

export interface RenderState {
  escaping: PartEscaping;
  /** the only URLs `link` will produce: the incident's own links and the ticket's */
  allowedLinks: ReadonlySet<string>;
  now: Date;
}

export const RENDER_STATE_KEY = 'spk';

function stateOf(options: HelperOptions | undefined): RenderState {
  const state = (options?.data as Record<string, unknown> | undefined)?.[RENDER_STATE_KEY] as RenderState | undefined;
  if (!state) throw new Error('helper called outside the kit renderer');
  return state;
}

/** Handlebars passes its options object last; helpers get called with any number of arguments. */
function split(args: unknown[]): { params: unknown[]; options: HelperOptions } {
  const options = args[args.length - 1] as HelperOptions;
  return { params: args.slice(0, -1), options };
}

function untrusted(state: RenderState, raw: string): Untrusted | '' {
  return raw === '' ? '' : new Untrusted(raw, state.escaping.untrusted);
}

function markup(state: RenderState, raw: string): Markup | '' {
  return raw === '' ? '' : new Markup(state.escaping.trusted(raw));
}

/** Code points, never half a surrogate pair; "…" appended when cut. */
export function truncateRaw(s: string, max: number): string {
  const runes = Array.from(s);
  if (runes.length <= max) return s;
  if (max <= 1) return runes.slice(0, Math.max(0, max)).join('');
  return runes.slice(0, max - 1).join('').trimEnd() + '…';
}

export function formatDateRaw(iso: string): string {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  return `${d.toISOString().slice(0, 10)} ${d.toISOString().slice(11, 16)} UTC`;
}

export function sinceRaw(iso: string, now: Date): string {
  const d = new Date(iso);
  if (!iso || Number.isNaN(d.getTime())) return '';
  const minutes = Math.round((now.getTime() - d.getTime()) / 60_000);
  if (minutes < 0) return 'in the future';
  if (minutes < 1) return 'just now';
  if (minutes < 60) return `${minutes} min ago`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return minutes % 60 === 0 ? `${hours} h ago` : `${hours} h ${minutes % 60} min ago`;
  return `${Math.floor(hours / 24)} days ago`;
}

const SEVERITY_EMOJI: Record<Severity, string> = {
  High: '🔴',
  Medium: '🟠',
  Low: '🟡',
  Informational: '🔵',
  Unknown: '⚪',
};

/** Adaptive Card TextBlock/TextRun colours */
const SEVERITY_CARD_COLOR: Record<Severity, string> = {
  High: 'Attention',
  Medium: 'Warning',
  Low: 'Accent',
  Informational: 'Default',
  Unknown: 'Default',
};

/** Fluent palette hex colours for everything else (Slack attachments, HTML) */
const SEVERITY_HEX: Record<Severity, string> = {
  High: '#D13438',
  Medium: '#F7630C',
  Low: '#FFB900',
  Informational: '#0078D4',
  Unknown: '#8A8886',
};

function severityOf(v: unknown): Severity {
  const raw = rawOf(v);
  return raw in SEVERITY_EMOJI ? (raw as Severity) : 'Unknown';
}

function itemText(item: unknown, prop: string | undefined): string {
  if (prop && item !== null && typeof item === 'object' && !(item instanceof Untrusted) && !(item instanceof Markup)) {
    return rawOf((item as Record<string, unknown>)[prop]);
  }
  return rawOf(item);
}

function items(v: unknown): unknown[] {
  return Array.isArray(v) ? v : v === null || v === undefined || v === '' ? [] : [v];
}

/** Hands a URL to the part's markup so it stays one URL (Slack's <url|text> breaks on | < >). */
function urlFor(state: RenderState, url: string): string {
  const href = new URL(url).href;
  if (state.escaping.dialect === 'slack') return escapeSlack(href).replace(/\|/g, '%7C');
  return href;
}

type Helper = (...args: unknown[]) => unknown;

export const HELPERS: Record<string, Helper> = {
  formatDate(...args) {
    const { params, options } = split(args);
    return markup(stateOf(options), formatDateRaw(rawOf(params[0])));
  },

  since(...args) {
    const { params, options } = split(args);
    const state = stateOf(options);
    return markup(state, sinceRaw(rawOf(params[0]), state.now));
  },

  severityEmoji(...args) {
    const { params, options } = split(args);
    return markup(stateOf(options), SEVERITY_EMOJI[severityOf(params[0])]);
  },

  severityColor(...args) {
    const { params, options } = split(args);
    const state = stateOf(options);
    const sev = severityOf(params[0]);
    return markup(state, state.escaping.dialect === 'adaptive-card' ? SEVERITY_CARD_COLOR[sev] : SEVERITY_HEX[sev]);
  },

  upper(...args) {
    const { params, options } = split(args);
    return untrusted(stateOf(options), rawOf(params[0]).toUpperCase());
  },

  lower(...args) {
    const { params, options } = split(args);
    return untrusted(stateOf(options), rawOf(params[0]).toLowerCase());
  },

  /** the URL, only when it is http(s) and one of the incident's (or ticket's) own links; else '' */
  link(...args) {
    const { params, options } = split(args);
    const state = stateOf(options);
    const url = rawOf(params[0]);
    if (!url || !/^https?:\/\//i.test(url) || !state.allowedLinks.has(url)) return '';
    return new Markup(state.escaping.trusted(urlFor(state, url)));
  },

  /** pluralise count "alert" "alerts" → "1 alert" / "2 alerts" */
  pluralise(...args) {
    const { params, options } = split(args);
    const n = Number(rawOf(params[0]) || 0);
    const singular = rawOf(params[1]);
    const plural = params[2] === undefined ? `${singular}s` : rawOf(params[2]);
    // the nouns may be incident text: escaped like any other value
    return untrusted(stateOf(options), `${n} ${n === 1 ? singular : plural}`);
  },

  truncate(...args) {
    const { params, options } = split(args);
    const max = Number(rawOf(params[1]));
    const raw = rawOf(params[0]);
    return untrusted(stateOf(options), Number.isFinite(max) && max >= 0 ? truncateRaw(raw, Math.floor(max)) : raw);
  },

  /** join list ", " prop="name" */
  join(...args) {
    const { params, options } = split(args);
    const sep = params[1] === undefined ? ', ' : rawOf(params[1]);
    const prop = options.hash?.prop === undefined ? undefined : rawOf(options.hash.prop);
    const text = items(params[0])
      .map((i) => itemText(i, prop))
      .filter((s) => s !== '')
      .join(sep);
    return untrusted(stateOf(options), text);
  },

  /** list items prop="name" max=5 → "a, b, c and 4 more" */
  list(...args) {
    const { params, options } = split(args);
    const prop = options.hash?.prop === undefined ? undefined : rawOf(options.hash.prop);
    const max = options.hash?.max === undefined ? 5 : Number(rawOf(options.hash.max));
    const all = items(params[0])
      .map((i) => itemText(i, prop))
      .filter((s) => s !== '');
    const shown = all.slice(0, Math.max(1, max));
    const rest = all.length - shown.length;
    return untrusted(stateOf(options), shown.join(', ') + (rest > 0 ? ` and ${rest} more` : ''));
  },

  /** default value "fallback" */
  default(...args) {
    const { params, options } = split(args);
    const v = params[0];
    if (v !== null && v !== undefined && v !== '' && !(Array.isArray(v) && v.length === 0)) return v;
    return untrusted(stateOf(options), rawOf(params[1]));
  },

  /** multi-line text: in HTML parts, line breaks become <br>; elsewhere the text as is */
  br(...args) {
    const { params, options } = split(args);
    const state = stateOf(options);
    const raw = rawOf(params[0]);
    if (state.escaping.format !== 'html') return untrusted(state, raw);
    return raw === '' ? '' : new Markup(state.escaping.untrusted(raw).replace(/\n/g, '<br>\n'));
  },

  /** an enum value in words: "BenignPositive" → "benign positive", "notMalicious" → "not malicious" */
  human(...args) {
    const { params, options } = split(args);
    const raw = rawOf(params[0]);
    return untrusted(stateOf(options), raw === '' ? '' : humanWords(raw));
  },

  changeSummary(...args) {
    const { params, options } = split(args);
    const c = params[0];
    if (c === null || typeof c !== 'object' || c instanceof Untrusted) return '';
    const rec = c as Record<string, unknown>;
    const nullable = (v: unknown) => (v === null || v === undefined ? null : rawOf(v));
    return untrusted(stateOf(options), describeChange({ kind: rawOf(rec.kind), from: nullable(rec.from), to: nullable(rec.to) }));
  },

  eq(...args) {
    const { params } = split(args);
    return rawOf(params[0]) === rawOf(params[1]);
  },

  ne(...args) {
    const { params } = split(args);
    return rawOf(params[0]) !== rawOf(params[1]);
  },

  and(...args) {
    const { params } = split(args);
    return params.every(truthy);
  },

  or(...args) {
    const { params } = split(args);
    return params.some(truthy);
  },

  not(...args) {
    const { params } = split(args);
    return !truthy(params[0]);
  },
};

function truthy(v: unknown): boolean {
  if (Array.isArray(v)) return v.length > 0;
  if (v instanceof Untrusted) return rawOf(v) !== '';
  return Boolean(v);
}

/** Handlebars' own helpers templates may use; `log` is left out (render does no I/O). */
export const BUILTIN_HELPERS = ['if', 'unless', 'each', 'with', 'lookup'] as const;
