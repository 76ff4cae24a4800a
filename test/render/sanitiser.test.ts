import fc from 'fast-check';
import { parse, type DefaultTreeAdapterTypes } from 'parse5';
import { describe, expect, it } from 'vitest';
import { compileTemplates, renderStep } from '../../functions/render/engine.js';
import { sanitiseHtml } from '../../functions/render/sanitise-html.js';
import { makeStep } from '../fixtures/incident.js';

// The oracle is written apart from the code under test: the output is parsed the way a browser
// builds its tree (parse5's full tree builder: foreign content, foster parenting, noscript,
// <image> → <img>), and whatever a browser would act on is reported.
const HTML_NS = 'http://www.w3.org/1999/xhtml';
const URL_ATTRS = new Set(['href', 'src', 'action', 'formaction', 'xlink:href', 'poster', 'cite', 'background', 'data', 'srcdoc']);
const ACTIVE = new Set(['script', 'iframe', 'frame', 'object', 'embed', 'applet', 'form', 'input', 'button', 'base', 'link', 'svg', 'math', 'noscript', 'template', 'textarea', 'select']);
const SAFE = (v: string) => /^(?:https?:|mailto:|#|\/(?![/\\]))/i.test(v.replace(/[\u0000-\u0020\u007f-\u009f]+/g, ''));

function dangers(html: string): string[] {
  const found: string[] = [];
  const visit = (node: DefaultTreeAdapterTypes.ChildNode | DefaultTreeAdapterTypes.Document): void => {
    if ('tagName' in node) {
      if (node.namespaceURI !== HTML_NS) found.push(`foreign <${node.tagName}>`);
      if (ACTIVE.has(node.tagName)) found.push(`<${node.tagName}>`);
      for (const a of node.attrs) {
        const name = a.prefix ? `${a.prefix}:${a.name}` : a.name;
        if (name.startsWith('on')) found.push(`${node.tagName} ${name}`);
        if (name === 'http-equiv') found.push(`meta http-equiv`);
        if (URL_ATTRS.has(name) && !SAFE(a.value)) found.push(`${node.tagName} ${name}=${a.value}`);
        const candidates = name === 'srcset' ? a.value.split(',').map((c) => c.trim().split(/\s+/)[0] ?? '') : [];
        if (candidates.some((url) => url !== '' && !SAFE(url))) found.push(`srcset=${a.value}`);
      }
    }
    if ('content' in node && node.content) visit(node.content as unknown as DefaultTreeAdapterTypes.Document);
    if ('childNodes' in node) for (const c of node.childNodes) visit(c);
  };
  visit(parse(html));
  return found;
}

describe('the HTML sanitiser reads markup as a browser tokenises it', () => {
  it.each([
    // the two the regex let through
    ['<a/href="javascript:alert(1)">x</a>', '<a href="#blocked-url">x</a>'],
    ['<img srcset="https://a.example/x.png 1x, javascript:alert(1) 2x">', '<img>'],
    // schemes dressed up
    ['<a href=" JaVaScRiPt:alert(1)">x</a>', '<a href="#blocked-url">x</a>'],
    ['<a href="&#106;avascript:alert(1)">x</a>', '<a href="#blocked-url">x</a>'],
    ['<a href="&#x6A;avascript:alert(1)">x</a>', '<a href="#blocked-url">x</a>'],
    ['<a href="&#x6Aavascript&#58alert(1)">x</a>', '<a href="#blocked-url">x</a>'],
    ['<a href="java\nscript:alert(1)">x</a>', '<a href="#blocked-url">x</a>'],
    ['<a href="java&Tab;script&colon;alert(1)">x</a>', '<a href="#blocked-url">x</a>'],
    ['<a href="java\0script:alert(1)">x</a>', '<a href="#blocked-url">x</a>'],
    // another host dressed up as a same-host path
    ['<a href="/&sol;evil.example/">x</a>', '<a href="#blocked-url">x</a>'],
    ['<a href="/\\evil.example/">x</a>', '<a href="#blocked-url">x</a>'],
    // handlers and unquoted attributes
    ['<img src=x onerror=alert(1)>', '<img src="#blocked-url">'],
    ['<a href=javascript:alert(1) title=x>y</a>', '<a href="#blocked-url" title="x">y</a>'],
    ['<a href="https://ok.example/" onclick="alert(1)" target="_blank">y</a>', '<a href="https://ok.example/" target="_blank">y</a>'],
    ['<a href="https://ok.example/" href="javascript:alert(1)">y</a>', '<a href="https://ok.example/">y</a>'],
    // elements that run, load or post
    ['<svg><a xlink:href="javascript:alert(1)"><text>x</text></a></svg>after', 'after'],
    ['<iframe src="https://evil.example/" srcdoc="&lt;script&gt;alert(1)&lt;/script&gt;"></iframe>after', 'after'],
    ['<form action="https://evil.example/collect"><button formaction="javascript:alert(1)">go</button></form>', 'go'],
    ['<meta http-equiv="refresh" content="0;url=javascript:alert(1)">', '<meta>'],
    ['<object data="javascript:alert(1)"></object><embed src="javascript:alert(1)">ok', 'ok'],
    ['<base href="https://evil.example/"><link rel="stylesheet" href="https://evil.example/x.css">ok', 'ok'],
    ['<image src="javascript:alert(1)">ok', 'ok'],
    ['<textarea><img src=x onerror=alert(1)></textarea>ok', 'ok'],
    // broken markup
    ['<p>ok<a href="javascript:alert(1)', '<p>ok'],
    ['<scr<script>ipt>alert(1)</script>', 'ipt>alert(1)'],
    ['<<x>img src=x onerror=alert(1)>', '&lt;img src=x onerror=alert(1)>'],
    ['<!--><script>alert(1)</script>-->', '-->'],
    ['<!--[if mso]><img src=x onerror=alert(1)><![endif]-->ok', 'ok'],
    ['<![CDATA[<img src=x onerror=alert(1)>]]>', ']]>'],
    // mutation tricks: what is inert here must stay inert when the output is parsed again
    ['<noscript><p title="</noscript><img src=x onerror=alert(1)>">', '<img src="#blocked-url">">'],
    ['<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>', ''],
    ['<svg></p><style><a id="</style><img src=1 onerror=alert(1)>">', ''],
    ['<style/><a title="</style><img src=x onerror=alert(1)>">', '<style/><a title="</style><img src="#blocked-url">">'],
    ['<title/><a title="</title><img src=x onerror=alert(1)>">', '<title/>&lt;a title="</title><img src="#blocked-url">">'],
  ])('%j → %j', (input, expected) => {
    const out = sanitiseHtml(input);
    expect(out).toBe(expected);
    expect(dangers(out)).toEqual([]);
  });

  it('keeps allowed markup byte for byte: doctype, head, inline styles, <style>, entities, valueless attributes', () => {
    const html = [
      '<!DOCTYPE html>\r\n<html>\n<head><meta charset="utf-8"><title>Incident 3177 &amp; more</title>',
      '<style>p > a { color: #0078D4 } td{padding:4px}</style></head>',
      '<body style="font-family:Segoe UI,Helvetica,Arial,sans-serif;font-size:14px;">',
      '<table cellpadding="4" cellspacing="0" style="border-collapse:collapse;"><tr><th align="left">Severity</th><td nowrap><span style=\'color:#D13438\'>High</span></td></tr></table>',
      '<p>a &lt;b&gt; &copy 2 &#x3D; 3<br>line<br/></p><ul><li>one</li></ul>',
      '<img src="https://contoso.example/logo.png" srcset="https://contoso.example/logo.png 1x, https://contoso.example/logo@2x.png 2x" alt="logo" width="80">',
      '<a href="mailto:soc@contoso.example">mail</a> <a href="#facts">facts</a> <a href="/incidents/1">local</a>',
      '<a href="https://security.microsoft.com/incidents/12345?tid&#x3D;b3c1&amp;x=1">open</a>',
      '</body>\n</html>',
    ].join('');
    expect(sanitiseHtml(html)).toBe(html);
  });

  it('keeps style attributes and <style> blocks as written, as the kit always has', () => {
    const html = '<style>.x{background:url(https://contoso.example/bg.png)}</style><p style="background:url(https://contoso.example/bg.png)">x</p>';
    expect(sanitiseHtml(html)).toBe(html);
  });

  it('text inside a kept <style> stays text, and what follows it is sanitised again', () => {
    const out = sanitiseHtml('<style><img src=x onerror=alert(1)></style><img src=x onerror=alert(1)>');
    expect(out).toBe('<style><img src=x onerror=alert(1)></style><img src="#blocked-url">');
    expect(dangers(out)).toEqual([]);
  });

  it('an element outside the allow-list goes, its text stays', () => {
    expect(sanitiseHtml('<marquee onstart="alert(1)">moving</marquee> <blink>on</blink>')).toBe('moving on');
  });

  it('nothing built from tag fragments, quotes and schemes survives as something a browser acts on', () => {
    const pick = <T,>(...xs: T[]) => fc.constantFrom(...xs);
    const attribute = fc
      .tuple(
        pick(' ', '/', '\n', '', ' /'),
        pick('href', 'HREF', 'src', 'srcset', 'xlink:href', 'onerror', 'style', 'title', 'id', 'x'),
        pick('=', ' = ', ''),
        pick('"', "'", ''),
        pick('javascript:alert(1)', ' JaVa&#x09;Script:alert(1)', '&#106;avascript:x', 'https://a.example/x 1x, javascript:x 2x', 'x', '</noscript><img src=x onerror=alert(1)>', '//evil.example', 'https://a.example/'),
        pick('"', "'", ''),
      )
      .map((p) => p.join(''));
    const tag = fc
      .tuple(
        pick('<', '</', '<!--', '<!', '<?', '<<'),
        pick('a', 'img', 'svg', 'math', 'mtext', 'mglyph', 'style', 'title', 'noscript', 'script', 'iframe', 'textarea', 'table', 'template', 'p', 'foreignObject', 'scr<script'),
        fc.array(attribute, { maxLength: 3 }),
        pick('>', '/>', '', ' >', '-->'),
      )
      .map(([open, name, attrs, close]) => `${open}${name}${attrs.join('')}${close}`);
    const noise = pick('<', '>', '"', "'", '&', ';', '\0', '-->', '--!>', '<![CDATA[', ']]>', '<!DOCTYPE html>', 'text', '\n');
    fc.assert(
      fc.property(fc.array(fc.oneof(tag, tag, noise), { maxLength: 16 }), (parts) => {
        const out = sanitiseHtml(parts.join(''));
        expect(dangers(out)).toEqual([]);
        expect(sanitiseHtml(out)).toBe(out);
      }),
      { numRuns: 500 },
    );
  });
});

describe('templates get the sanitiser on their rendered html parts', () => {
  it('a template cannot ship a javascript: link or a javascript: srcset, whatever the syntax', () => {
    const set = compileTemplates([
      {
        path: 'email/custom.hbs',
        source:
          '{{#*inline "subject"}}{{incident.title}}{{/inline}}{{#*inline "html"}}<p>{{incident.title}}</p><a/href="javascript:alert(1)">open</a><img srcset="https://a.example/x.png 1x, javascript:alert(1) 2x" src="https://a.example/x.png">{{/inline}}{{#*inline "text"}}{{incident.title}}{{/inline}}',
      },
    ]);
    const step = makeStep({ kind: 'email', receiver: 'soc-email', template: 'custom' });
    const html = renderStep(set, step, { receiverName: 'soc-email', ticket: null }).parts.html as string;
    expect(html).toContain('<a href="#blocked-url">open</a>');
    expect(html).toContain('<img src="https://a.example/x.png">');
    expect(html).not.toMatch(/javascript/i);
  });
});
