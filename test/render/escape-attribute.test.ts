import fc from 'fast-check';
import { parseFragment, type DefaultTreeAdapterTypes } from 'parse5';
import { describe, expect, it } from 'vitest';
import { escapeHtml, escapeQuotedAttribute } from '../../functions/render/escape.js';

function attributeReadBack(markup: string): string | undefined {
  const el = parseFragment(markup).childNodes[0] as DefaultTreeAdapterTypes.Element;
  return el.attrs.find((a) => a.name === 'data-x')?.value;
}

describe('HTML attribute escapers', () => {
  it('a browser reads back exactly what was escaped into a double-quoted attribute, by either escaper', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom('&', '"', "'", '<', '>', '=', '`', ';', '#', 'a', 'm', 'p', 'x', ' ', '\n') }), (s) => {
        expect(attributeReadBack(`<i data-x="${escapeQuotedAttribute(s)}"></i>`)).toBe(s.replace(/\r\n?/g, '\n'));
        expect(attributeReadBack(`<i data-x="${escapeHtml(s)}"></i>`)).toBe(s.replace(/\r\n?/g, '\n'));
      }),
    );
  });

  it('escapeQuotedAttribute leaves markup inside the document as it is', () => {
    expect(escapeQuotedAttribute('<p class="x">a &amp; b</p>')).toBe('<p class=&quot;x&quot;>a &amp;amp; b</p>');
  });
});
