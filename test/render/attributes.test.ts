import { describe, expect, it } from 'vitest';
import { compileTemplates, renderStep } from '../../functions/render/engine.js';
import { sanitiseHtml } from '../../functions/render/sanitise-html.js';
import { makeIncident, makeStep } from '../fixtures/incident.js';

describe('URL attributes in HTML parts', () => {
  it.each([
    ['<a href="javascript:alert(1)">x</a>', '<a href="#blocked-url">x</a>'],
    ['<a href="&#106;avascript&colon;alert(1)">x</a>', '<a href="#blocked-url">x</a>'],
    ["<a HREF='java\tscript:alert(1)'>x</a>", '<a HREF="#blocked-url">x</a>'],
    ['<img src="data:text/html;base64,PHNjcmlwdD4=">', '<img src="#blocked-url">'],
    ['<a href=vbscript:msgbox(1)>x</a>', '<a href="#blocked-url">x</a>'],
    ['<a href="//evil.example/x">x</a>', '<a href="#blocked-url">x</a>'],
    ['<a href="https://security.microsoft.com/incidents/1">x</a>', '<a href="https://security.microsoft.com/incidents/1">x</a>'],
    ['<a href="mailto:soc@contoso.example">x</a>', '<a href="mailto:soc@contoso.example">x</a>'],
    ['<a href="#facts">x</a>', '<a href="#facts">x</a>'],
  ])('%s', (input, expected) => {
    expect(sanitiseHtml(input)).toBe(expected);
  });

  it('a template that puts incident text in an href cannot produce a javascript: link', () => {
    const set = compileTemplates([
      {
        path: 'email/custom.hbs',
        source:
          '{{#*inline "subject"}}{{incident.title}}{{/inline}}{{#*inline "html"}}<a href="{{incident.title}}">open</a> <a href="{{incident.links.defender}}">defender</a>{{/inline}}{{#*inline "text"}}{{incident.title}}{{/inline}}',
      },
    ]);
    const step = makeStep({ kind: 'email', receiver: 'soc-email', template: 'custom', incident: makeIncident({ title: 'javascript:alert(document.domain)//' }) });
    const html = renderStep(set, step, { receiverName: 'soc-email', ticket: null }).parts.html as string;
    expect(html).toContain('<a href="#blocked-url">open</a>');
    expect(html).toContain('<a href="https://security.microsoft.com/incidents/12345?tid&#x3D;b3c1b5fc-828c-45fa-a1e1-10d74f6d6e9c">defender</a>');
  });
});

describe('helpers escape what they are given', () => {
  it('pluralise with an incident field as the noun stays inert in Slack', () => {
    const set = compileTemplates([
      { path: 'slack/custom.hbs', source: '{{#*inline "message"}}{"text": "{{pluralise 2 incident.title}}"}{{/inline}}' },
    ]);
    const step = makeStep({ kind: 'slack', receiver: 'soc-slack', template: 'custom', incident: makeIncident({ title: '<!channel> <@U024BE7LH>' }) });
    const message = renderStep(set, step, { receiverName: 'soc-slack', ticket: null }).parts.message as { text: string };
    expect(message.text).not.toMatch(/<[!@]/);
    expect(message.text).toContain('&lt;!channel&gt;');
  });
});
