/**
 * A strict little XML reader for the TwiML the voice kind writes: the outbox file is the exact document
 * Twilio gets, and the preview page also reads files written by earlier versions, so it reads the wire format.
 */
import { KitError } from '../../core/errors.js';
import { clip } from '../outbox/preview/markup.js';

export interface XmlElement {
  name: string;
  attrs: Record<string, string>;
  children: Array<XmlElement | string>;
}

const XML_NAME = /^[A-Za-z_][\w.:-]*/;

/** A strict little XML reader for TwiML: well-formedness, the five entities and char refs, no DOCTYPE. */
export function parseXml(src: string): XmlElement {
  let pos = src.charCodeAt(0) === 0xfeff ? 1 : 0;
  const fail = (message: string): never => {
    const before = src.slice(0, pos);
    const line = before.split('\n').length;
    const column = pos - before.lastIndexOf('\n');
    throw new KitError(`line ${line}:${column} ${message}`, { kind: 'validation', where: { line, column } });
  };
  const decode = (text: string): string =>
    text.replace(/&([^;&\s<]*);?/g, (whole, name: string) => {
      if (!whole.endsWith(';')) return fail(`"&" must be written as &amp;`);
      const named: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };
      if (named[name] !== undefined) return named[name];
      const num = /^#x([0-9A-Fa-f]{1,6})$/.exec(name) ?? /^#([0-9]{1,7})$/.exec(name);
      if (num) {
        const code = parseInt(num[1] ?? '', name.startsWith('#x') ? 16 : 10);
        if (code > 0 && code <= 0x10ffff) return String.fromCodePoint(code);
      }
      return fail(`unknown entity &${clip(name, 20)};`);
    });
  const skipMisc = (): void => {
    for (;;) {
      const ws = /^\s*/.exec(src.slice(pos))?.[0].length ?? 0;
      pos += ws;
      if (src.startsWith('<!--', pos)) {
        const end = src.indexOf('-->', pos + 4);
        if (end < 0) fail('comment is not closed');
        pos = end + 3;
      } else if (src.startsWith('<?', pos)) {
        const end = src.indexOf('?>', pos + 2);
        if (end < 0) fail('processing instruction is not closed');
        pos = end + 2;
      } else if (src.startsWith('<!DOCTYPE', pos) || src.startsWith('<!doctype', pos)) {
        fail('DOCTYPE is not allowed in TwiML');
      } else return;
    }
  };
  const readName = (): string => {
    const m = XML_NAME.exec(src.slice(pos, pos + 200));
    if (!m) return fail('expected a name');
    pos += m[0].length;
    return m[0];
  };
  const readStartTag = (): { el: XmlElement; selfClosing: boolean } => {
    pos += 1;
    const el: XmlElement = { name: readName(), attrs: {}, children: [] };
    for (;;) {
      const ws = /^\s*/.exec(src.slice(pos))?.[0].length ?? 0;
      pos += ws;
      if (src.startsWith('/>', pos)) {
        pos += 2;
        return { el, selfClosing: true };
      }
      if (src[pos] === '>') {
        pos += 1;
        return { el, selfClosing: false };
      }
      if (ws === 0) fail(`expected whitespace, ">" or "/>" in <${el.name}>`);
      const attr = readName();
      if (src[pos] !== '=') fail(`attribute ${attr} needs ="value"`);
      pos += 1;
      const quote = src[pos];
      if (quote !== '"' && quote !== "'") return fail(`attribute ${attr} value must be quoted`);
      const end = src.indexOf(quote, pos + 1);
      if (end < 0) fail(`attribute ${attr} value is not closed`);
      const value = src.slice(pos + 1, end);
      if (value.includes('<')) fail(`"<" inside attribute ${attr}`);
      if (attr in el.attrs) fail(`attribute ${attr} appears twice`);
      el.attrs[attr] = decode(value);
      pos = end + 1;
    }
  };

  skipMisc();
  if (src[pos] !== '<') fail('expected the root element');
  const rootTag = readStartTag();
  const root = rootTag.el;
  const stack: XmlElement[] = rootTag.selfClosing ? [] : [root];
  while (stack.length > 0) {
    const top = stack[stack.length - 1] as XmlElement;
    if (pos >= src.length) fail(`<${top.name}> is not closed`);
    if (src.startsWith('<!--', pos)) {
      const end = src.indexOf('-->', pos + 4);
      if (end < 0) fail('comment is not closed');
      pos = end + 3;
    } else if (src.startsWith('<![CDATA[', pos)) {
      const end = src.indexOf(']]>', pos + 9);
      if (end < 0) fail('CDATA section is not closed');
      top.children.push(src.slice(pos + 9, end));
      pos = end + 3;
    } else if (src.startsWith('<?', pos)) {
      const end = src.indexOf('?>', pos + 2);
      if (end < 0) fail('processing instruction is not closed');
      pos = end + 2;
    } else if (src.startsWith('</', pos)) {
      pos += 2;
      const name = readName();
      if (name !== top.name) fail(`</${name}> closes <${top.name}>`);
      pos += /^\s*/.exec(src.slice(pos))?.[0].length ?? 0;
      if (src[pos] !== '>') fail(`expected ">" after </${name}`);
      pos += 1;
      stack.pop();
    } else if (src[pos] === '<') {
      if (stack.length > 64) fail('elements nested deeper than 64 levels');
      const { el, selfClosing } = readStartTag();
      top.children.push(el);
      if (!selfClosing) stack.push(el);
    } else {
      const next = src.indexOf('<', pos);
      const end = next < 0 ? src.length : next;
      const raw = src.slice(pos, end);
      if (raw.includes(']]>')) fail('"]]>" in text');
      top.children.push(decode(raw));
      pos = end;
    }
  }
  skipMisc();
  if (pos < src.length) fail('content after the root element');
  return root;
}

/** The text an element says, whitespace collapsed; a <break> is a pause. */
export function xmlText(el: XmlElement): string {
  return el.children
    .map((c) => (typeof c === 'string' ? c : c.name === 'break' ? ' … ' : xmlText(c)))
    .join('')
    .replace(/\s+/g, ' ')
    .trim();
}
