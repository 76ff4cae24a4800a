/**
 * Cutting text to a target's limit, counted the way the target counts (code points, UTF-16 units,
 * UTF-8 bytes), with "…" appended, never inside a surrogate pair, and — for markup — never inside
 * an entity (&amp;) or a tag/Slack link (<…>), so a cut cannot leave half an escape behind. Like
 * Alertmanager's TruncateInRunes / TruncateInBytes.
 */

export const ELLIPSIS = '…';

export type CountUnit = 'runes' | 'utf16' | 'bytes';
/** html/xml: entities and tags stay whole; slack: entities and <url|text> stay whole */
export type Markup = 'html' | 'xml' | 'slack' | null;

export interface Truncation {
  value: string;
  truncated: boolean;
}

function sizeOf(ch: string, unit: CountUnit): number {
  if (unit === 'runes') return 1;
  if (unit === 'utf16') return ch.length;
  return Buffer.byteLength(ch, 'utf8');
}

export function measure(s: string, unit: CountUnit): number {
  if (unit === 'utf16') return s.length;
  if (unit === 'bytes') return Buffer.byteLength(s, 'utf8');
  let n = 0;
  for (const _ of s) n++;
  return n;
}

/** Moves a cut (a UTF-16 index) back to the start of an entity or tag it would split. */
function safeCut(s: string, cut: number, markup: Markup): number {
  if (!markup) return cut;
  const amp = s.lastIndexOf('&', cut - 1);
  if (amp !== -1 && !s.slice(amp, cut).includes(';')) {
    const end = s.indexOf(';', amp);
    if (end >= cut && /^&(#[0-9]+|#x[0-9a-fA-F]+|[A-Za-z][A-Za-z0-9]*);$/.test(s.slice(amp, end + 1))) cut = amp;
  }
  const lt = s.lastIndexOf('<', cut - 1);
  if (lt !== -1 && !s.slice(lt, cut).includes('>') && s.indexOf('>', lt) >= cut) cut = lt;
  return cut;
}

/**
 * At most `max` units including the ellipsis. Trailing whitespace before the ellipsis goes, so the
 * cut reads "…word…" rather than "word …".
 */
export function truncate(s: string, max: number, options: { unit?: CountUnit; markup?: Markup; ellipsis?: string } = {}): Truncation {
  const unit = options.unit ?? 'runes';
  const ellipsis = options.ellipsis ?? ELLIPSIS;
  if (measure(s, unit) <= max) return { value: s, truncated: false };
  const budget = max - measure(ellipsis, unit);
  if (budget <= 0) {
    // not even the ellipsis fits: hard cut on a code point boundary
    let out = '';
    let used = 0;
    for (const ch of s) {
      if (used + sizeOf(ch, unit) > max) break;
      out += ch;
      used += sizeOf(ch, unit);
    }
    return { value: out, truncated: true };
  }
  let used = 0;
  let cut = 0;
  for (const ch of s) {
    const n = sizeOf(ch, unit);
    if (used + n > budget) break;
    used += n;
    cut += ch.length;
  }
  cut = safeCut(s, cut, options.markup ?? null);
  return { value: s.slice(0, cut).trimEnd() + ellipsis, truncated: true };
}

/** Alertmanager's names, for readers who know them */
export function truncateInRunes(s: string, n: number): Truncation {
  return truncate(s, n, { unit: 'runes' });
}

export function truncateInBytes(s: string, n: number): Truncation {
  return truncate(s, n, { unit: 'bytes' });
}

/**
 * Applies a limit to one named field and records its name when it was cut, so a builder can
 * report every truncated field in OutboundRequest.truncated.
 */
export function limitField(
  name: string,
  value: string,
  max: number,
  truncated: string[],
  options: { unit?: CountUnit; markup?: Markup; ellipsis?: string } = {},
): string {
  const t = truncate(value, max, options);
  if (t.truncated) truncated.push(name);
  return t.value;
}
