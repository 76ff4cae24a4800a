/**
 * Escapers for every markup a rendered part can land in. Each takes attacker-controlled text and
 * returns text that is inert in that markup: it can show up, but never become an element, a link, a
 * mention, a header or formatting.
 */

/**
 * Marks where incident text sits inside a rendered JSON part, so the field it ends up in (a Teams
 * TextRun or a markdown TextBlock, a URL, an ADF text node) decides how it is neutralised after
 * parsing. Private-use code points: stripped from all input, so incident text can never forge them.
 */
export const UNTRUSTED_OPEN = '\uE000';
export const UNTRUSTED_CLOSE = '\uE001';

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;
// C0 except tab and newline, DEL, C1; noncharacters; bidi embeddings/overrides/isolates and marks
// (they reorder what a reader sees: "exe.txt" spoofing, reversed links); our own markers.
// eslint-disable-next-line no-control-regex
const INVISIBLE = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F\uFFFE\uFFFF\u200E\u200F\u202A-\u202E\u2066-\u2069\u061C\uE000\uE001]/g;

/** Plain text anyone can show: line breaks normalised to \n, control and bidi-override characters removed. */
export function cleanText(s: string): string {
  return s
    .replace(/\r\n?|[\u2028\u2029\u0085]/g, '\n')
    .replace(LONE_SURROGATE, '\uFFFD')
    .replace(INVISIBLE, '');
}

/** One line: what a mail header, a ticket title or a PagerDuty summary can hold. */
export function toLine(s: string): string {
  return cleanText(s).replace(/[\n\t]+/g, ' ');
}

const HTML_ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#x27;',
  '`': '&#x60;',
  '=': '&#x3D;',
};

/** Text content or a quoted attribute value in HTML. */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"'`=]/g, (c) => HTML_ESCAPES[c] ?? c);
}

/**
 * A double-quoted attribute value that carries a whole document (an iframe's srcdoc in the outbox
 * preview): `&` and `"` are all a browser needs escaped to read it back byte for byte, and escaping
 * the rest as escapeHtml does would triple the size of every HTML body on the page.
 */
export function escapeQuotedAttribute(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/"/g, '&quot;');
}

const XML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' };

/** Text or attribute value in XML 1.0 (TwiML). cleanText already removed what XML 1.0 forbids. */
export function escapeXml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => XML_ESCAPES[c] ?? c);
}

/** Slack asks for exactly these three and nothing more (other entities would show literally). */
export function escapeSlack(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** The inside of a JSON string literal, also safe to embed in a <script> or JS source. */
export function jsonStringBody(s: string): string {
  return JSON.stringify(s)
    .slice(1, -1)
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

/**
 * ServiceNow journal fields render `[code]…[/code]` as raw HTML (glide.ui.security.allow_codetag is
 * true by default). A fullwidth bracket can never open that tag, whatever the case or spacing.
 */
export function neutraliseServiceNow(s: string): string {
  return s.replace(/\[/g, '\uFF3B');
}

const ZWSP = '\u200B';

/** Adaptive Cards evaluate {{DATE(...)}} / {{TIME(...)}} in text; a zero-width space stops that. */
export function breakCardFunctions(s: string): string {
  return s.replace(/\{(?=\{)/g, `{${ZWSP}`).replace(/\}(?=\})/g, `}${ZWSP}`);
}

/**
 * Text that lands in a markdown-capable Adaptive Card field (TextBlock, FactSet, titles). The card
 * markdown subset has no reliable escape, so the characters that open links and emphasis become
 * look-alikes, and list/heading markers at a line start and bare URL schemes get a zero-width space.
 */
export function neutraliseCardMarkdown(s: string): string {
  return breakCardFunctions(s)
    .replace(/\[/g, '\uFF3B')
    .replace(/\]/g, '\uFF3D')
    .replace(/\*/g, '\u2217')
    .replace(/_/g, '\uFF3F')
    .replace(/~/g, '\u223C')
    .replace(/`/g, '\u02CB')
    .replace(/:\/\//g, `:${ZWSP}//`)
    .replace(/(^|\n)([ \t]*)([-+#>]|\d+[.)])/g, `$1$2${ZWSP}$3`);
}
