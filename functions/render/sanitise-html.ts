/**
 * The last step of every html part: the rendered HTML, template markup included, is tokenised the
 * way a browser tokenises it (parse5's WHATWG tokenizer, fed the state changes a tree builder would
 * make) and only an allow-list of elements and attributes is written back out. Incident text is
 * already escaped by then; this is about what a template author writes: a regex over the markup
 * disagreed with browsers (`<a/href=…>`, srcset), a tokenizer cannot.
 *
 * Output is built so a browser re-tokenising it sees exactly the tokens checked here: allowed tags
 * are copied byte for byte when nothing in them had to change (so the shipped templates render as
 * before), rebuilt from their checked attributes otherwise, text cannot open a tag, and the only
 * raw-text elements left are `<title>` and `<style>`, whose content ends where a browser ends it.
 */
import { Tokenizer, TokenizerMode, type ParserError, type Token, type TokenHandler } from 'parse5';

/** What a URL attribute becomes when its value is not allowed (kept: mail clients show it on hover). */
export const BLOCKED_URL = '#blocked-url';

const ALLOWED_ELEMENTS = new Set([
  // document shell of an email body
  'html', 'head', 'body', 'title', 'meta', 'style',
  // text and layout, including the legacy presentational markup mail clients still honour
  'a', 'abbr', 'address', 'article', 'aside', 'b', 'bdi', 'bdo', 'big', 'blockquote', 'br', 'caption', 'center',
  'cite', 'code', 'col', 'colgroup', 'dd', 'del', 'details', 'dfn', 'div', 'dl', 'dt', 'em', 'figcaption', 'figure',
  'font', 'footer', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'header', 'hr', 'i', 'img', 'ins', 'kbd', 'li', 'main', 'mark',
  'nav', 'ol', 'p', 'pre', 'q', 's', 'samp', 'section', 'small', 'span', 'strike', 'strong', 'sub', 'summary', 'sup',
  'table', 'tbody', 'td', 'tfoot', 'th', 'thead', 'time', 'tr', 'tt', 'u', 'ul', 'var', 'wbr',
]);

/**
 * Attributes that carry no behaviour. No `on*`, no `id`/`name` (they clobber globals in the ticket
 * tool's page), no `http-equiv`/`content` (a meta refresh is a redirect).
 */
const ALLOWED_ATTRIBUTES = new Set([
  'style', 'class', 'title', 'dir', 'lang', 'align', 'valign', 'width', 'height', 'bgcolor', 'color', 'border',
  'cellpadding', 'cellspacing', 'colspan', 'rowspan', 'span', 'nowrap', 'scope', 'headers', 'abbr', 'summary',
  'face', 'size', 'alt', 'start', 'type', 'reversed', 'datetime', 'hspace', 'vspace', 'target', 'rel',
  'href', 'src', 'srcset', 'cite', 'background',
]);

/** Per element, when narrower than ALLOWED_ATTRIBUTES. */
const ELEMENT_ATTRIBUTES: Record<string, ReadonlySet<string>> = { meta: new Set(['charset']) };

/**
 * Every attribute a browser resolves as a URL. Most are not allowed at all; checking them anyway
 * means widening the allow-list later cannot let a javascript: URL through.
 */
const URL_ATTRIBUTES = new Set(['href', 'src', 'action', 'formaction', 'xlink:href', 'poster', 'cite', 'background', 'srcset']);

/**
 * Elements dropped with everything inside them. The raw-text ones switch the tokenizer as a browser
 * would (scripting on, so noscript too) and their content ends at their end tag; the others hold
 * markup that means nothing in a message (or is foreign content, parsed by other rules) and are
 * skipped up to their matching end tag, or to the end when never closed.
 */
type Mode = (typeof TokenizerMode)[keyof typeof TokenizerMode];
const RAW_DROPPED: Record<string, Mode> = {
  script: TokenizerMode.SCRIPT_DATA,
  textarea: TokenizerMode.RCDATA,
  xmp: TokenizerMode.RAWTEXT,
  iframe: TokenizerMode.RAWTEXT,
  noembed: TokenizerMode.RAWTEXT,
  noframes: TokenizerMode.RAWTEXT,
  noscript: TokenizerMode.RAWTEXT,
  plaintext: TokenizerMode.PLAINTEXT,
};
const RAW_KEPT: Record<string, Mode> = { title: TokenizerMode.RCDATA, style: TokenizerMode.RAWTEXT };
const SUBTREE_DROPPED = new Set(['svg', 'math', 'template', 'object', 'applet', 'select', 'frameset']);
const FOREIGN = new Set(['svg', 'math']);

// "/" alone is a path on the same host; "//" and "/\" (browsers read "\" as "/") are another host.
const SAFE_URL = /^(?:https?:|mailto:|#|\/(?![/\\]))/i;

/**
 * A URL a message may carry: http(s), mailto, an in-page anchor or a same-host path. The value is
 * the decoded attribute value; the URL parser ignores tabs and newlines anywhere and controls and
 * spaces around it, so all of those go before the scheme is read.
 */
export function isSafeUrl(value: string): boolean {
  return SAFE_URL.test(value.replace(/[\u0000-\u0020\u007f-\u009f]+/g, ''));
}

const isSpace = (c: string): boolean => c === ' ' || c === '\t' || c === '\n' || c === '\f' || c === '\r';

/** The URLs of a srcset, split as the HTML standard's "parse a srcset attribute" does. */
export function srcsetUrls(value: string): string[] {
  const urls: string[] = [];
  let i = 0;
  for (;;) {
    while (i < value.length && (isSpace(value[i]!) || value[i] === ',')) i++;
    if (i >= value.length) return urls;
    const start = i;
    while (i < value.length && !isSpace(value[i]!)) i++;
    let url = value.slice(start, i);
    if (url.endsWith(',')) url = url.replace(/,+$/, '');
    else {
      // descriptors run to the next comma outside parentheses
      let inParens = false;
      while (i < value.length) {
        const c = value[i++]!;
        if (c === '(') inParens = true;
        else if (c === ')') inParens = false;
        else if (c === ',' && !inParens) break;
      }
    }
    urls.push(url);
  }
}

function attributeAllowed(element: string, name: string): boolean {
  return (ELEMENT_ATTRIBUTES[element] ?? ALLOWED_ATTRIBUTES).has(name);
}

/** How one attribute goes out: as written, replaced, or not at all. */
function attributeOutput(name: string, value: string): 'keep' | 'block' | 'drop' {
  if (!URL_ATTRIBUTES.has(name)) return 'keep';
  if (name === 'srcset') return srcsetUrls(value).every(isSafeUrl) ? 'keep' : 'drop';
  return isSafeUrl(value) ? 'keep' : 'block';
}

/** `name="value"` as written, quoted if it was not (so nothing after it can extend the value). */
function rawAttribute(raw: string): string {
  const m = /^([^\s=]+)\s*=\s*([\s\S]*)$/.exec(raw);
  if (!m) return raw;
  const [, name, value] = m as unknown as [string, string, string];
  if (/^"[^"]*"$|^'[^']*'$/.test(value)) return `${name}=${value}`;
  return `${name}="${value.replace(/"/g, '&quot;')}"`;
}

class Sanitiser implements TokenHandler {
  private readonly out: string[] = [];
  private readonly errors: number[] = [];
  /** inside a raw-text element that is dropped: its name */
  private rawDrop: string | null = null;
  /** inside a kept <style>: its text goes out as written (in raw text "&lt;" would not decode) */
  private inStyle = false;
  /** inside a dropped subtree: its element name and nesting depth */
  private subtree: { name: string; depth: number } | null = null;
  private readonly tokenizer: Tokenizer;

  constructor(private readonly src: string) {
    this.tokenizer = new Tokenizer({ sourceCodeLocationInfo: true }, this);
  }

  run(): string {
    this.tokenizer.write(this.src, true);
    return this.out.join('');
  }

  private slice(loc: Token.Location | null | undefined): string {
    return loc ? this.src.slice(loc.startOffset, loc.endOffset) : '';
  }

  private dropping(): boolean {
    return this.rawDrop !== null || this.subtree !== null;
  }

  private hadError(loc: Token.Location | null | undefined): boolean {
    return !!loc && this.errors.some((at) => at >= loc.startOffset && at < loc.endOffset);
  }

  onParseError(e: ParserError): void {
    this.errors.push(e.startOffset);
  }

  onCharacter(token: Token.CharacterToken): void {
    if (this.dropping()) return;
    // a "<" that opened no tag here could open one once a neighbouring tag is dropped
    const text = this.slice(token.location);
    this.out.push(this.inStyle ? text : text.replace(/</g, '&lt;'));
  }

  onWhitespaceCharacter(token: Token.CharacterToken): void {
    this.onCharacter(token);
  }

  onNullCharacter(): void {
    // browsers drop U+0000 in body text; so does the kit
  }

  onComment(): void {
    // comments go: Outlook runs the markup inside <!--[if mso]>…<![endif]--> as HTML
  }

  onDoctype(token: Token.DoctypeToken): void {
    if (this.dropping()) return;
    this.out.push(this.hadError(token.location) ? `<!DOCTYPE ${token.name ?? 'html'}>` : this.slice(token.location));
  }

  onEof(): void {}

  onStartTag(token: Token.TagToken): void {
    const name = token.tagName;
    if (this.rawDrop !== null) return;
    if (this.subtree) {
      if (name === this.subtree.name && !token.selfClosing) this.subtree.depth++;
      return;
    }
    const rawMode = RAW_DROPPED[name];
    if (rawMode !== undefined) {
      this.tokenizer.state = rawMode;
      this.rawDrop = name;
      return;
    }
    if (SUBTREE_DROPPED.has(name)) {
      if (!token.selfClosing) {
        this.subtree = { name, depth: 1 };
        // foreign content reads <![CDATA[…]]> as text, not a bogus comment, so its end is found where a browser finds it
        if (FOREIGN.has(name)) this.tokenizer.inForeignNode = true;
      }
      return;
    }
    if (!ALLOWED_ELEMENTS.has(name)) return;
    this.out.push(this.startTag(token));
    const keptMode = RAW_KEPT[name];
    // no selfClosing check: a browser ignores "/>" on these, so <style/> opens raw text all the same
    if (keptMode !== undefined) {
      this.tokenizer.state = keptMode;
      this.inStyle = name === 'style';
    }
  }

  private startTag(token: Token.TagToken): string {
    const loc = token.location;
    const raw = this.slice(loc);
    let changed = this.hadError(loc);
    const parts: string[] = [];
    for (const attr of token.attrs) {
      const attrLoc = loc?.attrs?.[attr.name];
      const written = attrLoc ? this.src.slice(attrLoc.startOffset, attrLoc.endOffset) : attr.name;
      const writtenName = written.slice(0, attr.name.length);
      const verdict = attributeAllowed(token.tagName, attr.name) ? attributeOutput(attr.name, attr.value) : 'drop';
      if (verdict === 'drop') changed = true;
      else if (verdict === 'block') {
        changed = true;
        parts.push(`${writtenName}="${BLOCKED_URL}"`);
      } else parts.push(rawAttribute(written));
    }
    if (!changed) return raw;
    const writtenTag = raw.slice(1, 1 + token.tagName.length);
    const attrs = parts.length ? ` ${parts.join(' ')}` : '';
    return `<${writtenTag}${attrs}${token.selfClosing ? (attrs ? ' />' : '/>') : '>'}`;
  }

  onEndTag(token: Token.TagToken): void {
    const name = token.tagName;
    if (this.rawDrop !== null) {
      // the tokenizer only ends raw text at the matching end tag; plaintext never ends
      if (name === this.rawDrop) this.rawDrop = null;
      return;
    }
    if (this.subtree) {
      if (name === this.subtree.name && --this.subtree.depth === 0) {
        this.subtree = null;
        this.tokenizer.inForeignNode = false;
      }
      return;
    }
    if (!ALLOWED_ELEMENTS.has(name)) return;
    if (name === 'style') this.inStyle = false;
    const raw = this.slice(token.location);
    this.out.push(this.hadError(token.location) || token.attrs.length ? `</${raw.slice(2, 2 + name.length)}>` : raw);
  }
}

/**
 * Rendered HTML with only allowed elements and attributes: URL attributes must be http(s), mailto,
 * `#…` or `/…` (else they become `#blocked-url`; a srcset with any other candidate goes), `style`
 * attributes and `<style>` blocks stay as written, comments and everything else go.
 */
export function sanitiseHtml(html: string): string {
  return new Sanitiser(html).run();
}
