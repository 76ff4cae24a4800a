/**
 * Just enough parsing to tell markup from text in test assertions: the tags of an HTML document and
 * a strict XML 1.0 element tree (TwiML). Both throw on anything a browser or Twilio would read as
 * markup that the template did not write.
 */

/** every tag in order, as "name attr1 attr2" (attribute names only, values ignored) */
export function htmlTagShapes(html: string): string[] {
  const shapes: string[] = [];
  const tag = /<\/?([A-Za-z][A-Za-z0-9-]*|!DOCTYPE)([^>]*)>/g;
  for (const m of html.matchAll(tag)) {
    const attrs = [...(m[2] ?? '').replace(/"[^"]*"|'[^']*'/g, '').matchAll(/([A-Za-z_:][-A-Za-z0-9_:.]*)\s*=/g)].map((a) => a[1]);
    shapes.push([`${m[0].startsWith('</') ? '/' : ''}${m[1]!.toLowerCase()}`, ...attrs].join(' '));
  }
  return shapes;
}

/** every "<" in the HTML starts one of the tags htmlTagShapes saw: no stray or comment/CDATA opener */
export function strayAngleBrackets(html: string): number {
  const tags = html.match(/<\/?([A-Za-z][A-Za-z0-9-]*|!DOCTYPE)([^>]*)>/g) ?? [];
  return (html.match(/</g) ?? []).length - tags.length;
}

export interface XmlElement {
  name: string;
  attributes: Record<string, string>;
  children: XmlElement[];
  text: string;
}

const NAME = /^[A-Za-z_][A-Za-z0-9_.-]*/;
const ENTITY = /^&(amp|lt|gt|quot|apos|#[0-9]+|#x[0-9a-fA-F]+);/;

function decodeText(raw: string, where: string): string {
  let out = '';
  for (let i = 0; i < raw.length; ) {
    const ch = raw[i]!;
    if (ch === '<') throw new Error(`XML: "<" in text at ${where}`);
    if (ch === '&') {
      const m = ENTITY.exec(raw.slice(i));
      if (!m) throw new Error(`XML: bare "&" at ${where}`);
      out += m[0];
      i += m[0].length;
      continue;
    }
    const code = ch.charCodeAt(0);
    if (code < 0x20 && ch !== '\t' && ch !== '\n' && ch !== '\r') throw new Error(`XML: control character U+${code.toString(16)} at ${where}`);
    if (code === 0xfffe || code === 0xffff) throw new Error(`XML: noncharacter at ${where}`);
    out += ch;
    i++;
  }
  return out;
}

/** Strict parse of one document: declaration optional, one root, no comments/CDATA/PIs/doctype. */
export function parseXml(xml: string): XmlElement {
  let s = xml.replace(/^<\?xml[^?]*\?>\s*/, '');
  const stack: XmlElement[] = [];
  let root: XmlElement | null = null;
  while (s.length > 0) {
    if (s.startsWith('</')) {
      const m = /^<\/([A-Za-z_][A-Za-z0-9_.-]*)\s*>/.exec(s);
      const open = stack.pop();
      if (!m || !open || open.name !== m[1]) throw new Error(`XML: unexpected close tag ${s.slice(0, 20)}`);
      s = s.slice(m[0].length);
      continue;
    }
    if (s.startsWith('<')) {
      const name = NAME.exec(s.slice(1))?.[0];
      if (!name) throw new Error(`XML: not a tag: ${s.slice(0, 20)}`);
      let rest = s.slice(1 + name.length);
      const attributes: Record<string, string> = {};
      for (;;) {
        const a = /^\s+([A-Za-z_][A-Za-z0-9_.-]*)\s*=\s*"([^"<]*)"/.exec(rest);
        if (!a) break;
        if (a[1]! in attributes) throw new Error(`XML: duplicate attribute ${a[1]}`);
        attributes[a[1]!] = decodeText(a[2]!, `${name}@${a[1]}`);
        rest = rest.slice(a[0].length);
      }
      const end = /^\s*(\/?)>/.exec(rest);
      if (!end) throw new Error(`XML: malformed tag <${name}`);
      const el: XmlElement = { name, attributes, children: [], text: '' };
      if (stack.length > 0) stack[stack.length - 1]!.children.push(el);
      else if (root) throw new Error('XML: more than one root element');
      else root = el;
      if (end[1] !== '/') stack.push(el);
      s = rest.slice(end[0].length);
      continue;
    }
    const next = s.indexOf('<');
    const text = next === -1 ? s : s.slice(0, next);
    if (stack.length === 0) {
      if (text.trim() !== '') throw new Error('XML: text outside the root element');
    } else stack[stack.length - 1]!.text += decodeText(text, stack[stack.length - 1]!.name);
    s = next === -1 ? '' : s.slice(next);
  }
  if (stack.length > 0 || !root) throw new Error('XML: unclosed element or empty document');
  return root;
}

/** the element tree as "Response(Say,Pause,Say)" */
export function xmlShape(el: XmlElement): string {
  return `${el.name}${el.children.length ? `(${el.children.map(xmlShape).join(',')})` : ''}`;
}
