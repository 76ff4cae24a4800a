/**
 * The values templates see. Every string of the context is wrapped in `Untrusted`, which escapes
 * itself for the part being rendered whenever Handlebars turns it into output — through `{{ }}`
 * (escapeExpression calls toHTML) and `{{{ }}}` (string conversion) alike — so a template author
 * cannot forget to escape, and cannot opt out. Helpers unwrap, compute on the raw text and re-wrap.
 */
import {
  UNTRUSTED_CLOSE,
  UNTRUSTED_OPEN,
  cleanText,
  escapeHtml,
  escapeXml,
  jsonStringBody,
  neutraliseServiceNow,
  toLine,
} from './escape.js';
import type { PartDialect, PartFormat, PartSpec } from './parts.js';

export type Escape = (raw: string) => string;

export class Untrusted {
  readonly #raw: string;
  readonly #escape: Escape;

  constructor(raw: string, escape: Escape) {
    this.#raw = raw;
    this.#escape = escape;
  }

  /** The private field keeps the raw text out of templates' reach (`{{x.raw}}` finds nothing). */
  static rawOf(v: Untrusted): string {
    return v.#raw;
  }

  toHTML(): string {
    return this.#escape(this.#raw);
  }

  toString(): string {
    return this.#escape(this.#raw);
  }

  [Symbol.toPrimitive](): string {
    return this.toString();
  }
}

/** Kit-made output that is already in the part's markup (a formatted date, a checked link). */
export class Markup {
  readonly #value: string;

  constructor(value: string) {
    this.#value = value;
  }

  toHTML(): string {
    return this.#value;
  }

  toString(): string {
    return this.#value;
  }

  [Symbol.toPrimitive](): string {
    return this.#value;
  }
}

/** The raw text behind any template value; '' for null/undefined. */
export function rawOf(v: unknown): string {
  if (v instanceof Untrusted) return Untrusted.rawOf(v);
  if (v === null || v === undefined) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (v instanceof Markup) return v.toString();
  return '';
}

/** How one part escapes: incident text (`untrusted`) and kit text a helper produces (`trusted`). */
export interface PartEscaping {
  format: PartFormat;
  dialect: PartDialect | null;
  untrusted: Escape;
  trusted: Escape;
}

export function escapingFor(part: PartSpec): PartEscaping {
  const { format } = part;
  const dialect = part.dialect ?? null;
  const servicenow = dialect === 'servicenow';
  switch (format) {
    case 'html':
      return { format, dialect, untrusted: (s) => escapeHtml(cleanText(s)), trusted: escapeHtml };
    case 'xml':
      return { format, dialect, untrusted: (s) => escapeXml(cleanText(s)), trusted: escapeXml };
    case 'json':
      return {
        format,
        dialect,
        untrusted: (s) => `${UNTRUSTED_OPEN}${jsonStringBody(cleanText(s))}${UNTRUSTED_CLOSE}`,
        trusted: (s) => jsonStringBody(cleanText(s)),
      };
    case 'line':
      return {
        format,
        dialect,
        untrusted: servicenow ? (s) => neutraliseServiceNow(toLine(s)) : toLine,
        trusted: toLine,
      };
    case 'text':
      return {
        format,
        dialect,
        untrusted: servicenow ? (s) => neutraliseServiceNow(cleanText(s)) : cleanText,
        trusted: cleanText,
      };
  }
}

/**
 * Deep copy of the plain context with every non-empty string wrapped. Empty strings stay '' so
 * `{{#if x}}` treats them as absent, as it would without wrapping.
 */
export function wrapContext(value: unknown, escape: Escape): unknown {
  if (typeof value === 'string') return value === '' ? '' : new Untrusted(value, escape);
  if (Array.isArray(value)) return value.map((v) => wrapContext(v, escape));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = wrapContext(v, escape);
    return out;
  }
  return value;
}
