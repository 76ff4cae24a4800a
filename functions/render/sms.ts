/**
 * SMS text: GSM-7 where possible (one emoji in a title would switch the whole message to UCS-2 and
 * cut each segment from 160 to 70 characters), segment counting as carriers bill it, and a
 * segment-aware cut.
 */
import { cleanText } from './escape.js';

/** GSM 03.38 default alphabet (ESC left out: it only introduces the extension table) */
const GSM_BASIC = new Set(
  Array.from(
    '@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !"#¤%&\'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà',
  ),
);
/** extension table: each costs two septets (ESC + char); form feed left out on purpose */
const GSM_EXTENDED = new Set(Array.from('^{}\\[~]|€'));

export const GSM7_SINGLE = 160;
export const GSM7_PART = 153;
export const UCS2_SINGLE = 70;
export const UCS2_PART = 67;
/** Twilio refuses a longer Body */
export const SMS_MAX_CHARS = 1600;
// 2, not more: the shipped template is written for 1, and a page that arrives in 3+ parts is read out of order
export const SMS_DEFAULT_MAX_SEGMENTS = 2;

const TRANSLITERATE: Record<string, string> = {
  '\u2018': "'",
  '\u2019': "'",
  '\u201A': "'",
  '\u201B': "'",
  '\u2032': "'",
  '\u00B4': "'",
  '`': "'",
  '\u201C': '"',
  '\u201D': '"',
  '\u201E': '"',
  '\u201F': '"',
  '\u2033': '"',
  '\u00AB': '"',
  '\u00BB': '"',
  '\u2010': '-',
  '\u2011': '-',
  '\u2012': '-',
  '\u2013': '-',
  '\u2014': '-',
  '\u2015': '-',
  '\u2212': '-',
  '\u2026': '...',
  '\u00B7': '.',
  '\u2022': '*',
  '\u2192': '->',
  '\u2190': '<-',
  '\u21D2': '=>',
  '\u2264': '<=',
  '\u2265': '>=',
  '\u00D7': 'x',
  '\u00A0': ' ',
  '\u2009': ' ',
  '\u202F': ' ',
  '\t': ' ',
  '\u00A9': '(c)',
  '\u00AE': '(R)',
  '\u2122': 'TM',
  '\u00E7': 'Ç',
  '\u00B0': 'o',
};

const DROP = /[\p{Extended_Pictographic}\p{Emoji_Modifier}\u200B-\u200D\u2060\uFE0E\uFE0F\u20E3\u{1F1E6}-\u{1F1FF}\u{E0020}-\u{E007F}]/u;

function isGsm(ch: string): boolean {
  return GSM_BASIC.has(ch) || GSM_EXTENDED.has(ch);
}

export function smsEncoding(text: string): 'GSM-7' | 'UCS-2' {
  for (const ch of text) if (!isGsm(ch)) return 'UCS-2';
  return 'GSM-7';
}

function gsmToGsm(ch: string): string | null {
  if (isGsm(ch)) return ch;
  const mapped = TRANSLITERATE[ch];
  if (mapped !== undefined) return mapped;
  const stripped = ch.normalize('NFD').replace(/\p{M}+/gu, '');
  if (stripped !== '' && Array.from(stripped).every(isGsm)) return stripped;
  return null;
}

/**
 * GSM-7 where it can be: smart quotes, dashes and accents become their GSM look-alikes, emoji go.
 * Only when a letter or digit outside GSM-7 remains (a name in Cyrillic, Greek, CJK…) does the
 * message keep it and go out as UCS-2; other leftover symbols are dropped.
 */
export function normaliseSms(text: string): string {
  const out: Array<{ ch: string; gsm: boolean }> = [];
  for (const ch of cleanText(text)) {
    const g = gsmToGsm(ch);
    if (g === null && DROP.test(ch)) continue;
    out.push(g === null ? { ch, gsm: false } : { ch: g, gsm: true });
  }
  const mustBeUcs2 = out.some((p) => !p.gsm && /[\p{L}\p{N}]/u.test(p.ch));
  return out
    .filter((p) => p.gsm || mustBeUcs2)
    .map((p) => p.ch)
    .join('')
    .replace(/[ ]{2,}/g, ' ')
    .replace(/ +\n/g, '\n')
    .trim();
}

/** septets per character (GSM-7) or UTF-16 units per code point (UCS-2) */
function units(text: string, encoding: 'GSM-7' | 'UCS-2'): number[] {
  return Array.from(text, (ch) => (encoding === 'GSM-7' ? (GSM_EXTENDED.has(ch) ? 2 : 1) : ch.length));
}

/** A multi-part message never splits an escape sequence or a surrogate pair across segments. */
function countSegments(costs: number[], single: number, part: number): number {
  const total = costs.reduce((a, b) => a + b, 0);
  if (total === 0) return 0;
  if (total <= single) return 1;
  let segments = 1;
  let used = 0;
  for (const c of costs) {
    if (used + c > part) {
      segments++;
      used = 0;
    }
    used += c;
  }
  return segments;
}

export function smsSegments(text: string): number {
  const encoding = smsEncoding(text);
  return encoding === 'GSM-7'
    ? countSegments(units(text, encoding), GSM7_SINGLE, GSM7_PART)
    : countSegments(units(text, encoding), UCS2_SINGLE, UCS2_PART);
}

export interface SmsTruncation {
  text: string;
  truncated: boolean;
  segments: number;
  encoding: 'GSM-7' | 'UCS-2';
}

const URL = /https?:\/\/[^\s<>"]+/gi;

/** The text as runs of prose and whole links. */
function pieces(text: string): Array<{ url: boolean; s: string }> {
  const out: Array<{ url: boolean; s: string }> = [];
  let at = 0;
  for (const m of text.matchAll(URL)) {
    const i = m.index ?? 0;
    if (i > at) out.push({ url: false, s: text.slice(at, i) });
    out.push({ url: true, s: m[0] });
    at = i + m[0].length;
  }
  if (at < text.length) out.push({ url: false, s: text.slice(at) });
  return out;
}

/**
 * The first `keep` characters of prose, cut with `ellipsis`, followed by every link the cut passed
 * over, each whole on its own line: a half link is a dead link.
 */
function cutAround(parts: Array<{ url: boolean; s: string }>, keep: number, ellipsis: string): string {
  let left = keep;
  let out = '';
  let cut = false;
  for (const p of parts) {
    if (p.url) {
      out += cut ? `\n${p.s}` : p.s;
      continue;
    }
    if (cut) continue;
    const runes = Array.from(p.s);
    if (runes.length <= left) {
      out += p.s;
      left -= runes.length;
      continue;
    }
    out = (out + runes.slice(0, left).join('')).trimEnd() + ellipsis;
    cut = true;
  }
  return out.replace(/^\n+/, '');
}

/**
 * Cuts to at most `maxSegments` billed segments and Twilio's 1600 characters, whole code points,
 * with an ellipsis that keeps the encoding ("..." in GSM-7, where "…" would force UCS-2). Links are
 * never cut: the prose is shortened first, and when even that leaves no room, the last link is
 * dropped whole.
 */
export function truncateSms(text: string, options: { maxSegments?: number; maxChars?: number } = {}): SmsTruncation {
  const maxSegments = Math.max(1, options.maxSegments ?? SMS_DEFAULT_MAX_SEGMENTS);
  const maxChars = Math.min(SMS_MAX_CHARS, options.maxChars ?? SMS_MAX_CHARS);
  const fits = (t: string) => smsSegments(t) <= maxSegments && t.length <= maxChars;
  const encoding = smsEncoding(text);
  if (fits(text)) return { text, truncated: false, segments: smsSegments(text), encoding };
  const ellipsis = encoding === 'GSM-7' ? '...' : '…';
  let parts = pieces(text);
  const proseLength = () => parts.reduce((n, p) => n + (p.url ? 0 : Array.from(p.s).length), 0);
  // a link with next to no words is no message: below this much prose the link goes instead
  const floor = Math.min(proseLength(), 40);
  const tidy = (t: string) => t.replace(/[ \t]+\n/g, '\n').replace(/\n{2,}/g, '\n').trim();
  for (;;) {
    const total = proseLength();
    let lo = -1;
    let hi = total;
    while (lo < hi) {
      const mid = Math.ceil((lo + hi) / 2);
      if (fits(cutAround(parts, mid, ellipsis))) lo = mid;
      else hi = mid - 1;
    }
    const links = parts.filter((p) => p.url).length;
    if (lo >= 0 && (lo >= floor || links === 0)) {
      const cut = tidy(cutAround(parts, lo, ellipsis));
      return { text: cut, truncated: true, segments: smsSegments(cut), encoding: smsEncoding(cut) };
    }
    if (links === 0) break;
    const last = parts.map((p) => p.url).lastIndexOf(true);
    parts = parts.filter((_, i) => i !== last);
  }
  return { text: '', truncated: true, segments: 0, encoding };
}
