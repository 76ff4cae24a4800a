import { describe, expect, it } from 'vitest';
import { RECEIVER_KINDS } from '../../functions/config/schema.js';
import { KitError } from '../../functions/core/errors.js';
import { compileTemplates, compileTemplatesReport, hasTemplate, listTemplates, partsFor, renderStep, templateContext } from '../../functions/render/engine.js';
import type { TemplateFile } from '../../functions/render/types.js';
import { makeIncident, makeStep } from '../fixtures/incident.js';

const SMS = (body: string): TemplateFile => ({ path: 'sms/incident-change.hbs', source: `{{#*inline "text"}}${body}{{/inline}}` });

function compileError(files: TemplateFile[]): KitError {
  try {
    compileTemplates(files);
  } catch (e) {
    expect(e).toBeInstanceOf(KitError);
    return e as KitError;
  }
  throw new Error('expected compileTemplates to throw');
}

function smsText(body: string, step = makeStep({ kind: 'sms' }), extra: TemplateFile[] = [], options: { checkFields?: boolean } = {}): string {
  const set = compileTemplates([SMS(body), ...extra], options);
  return renderStep(set, step, { receiverName: 'lead', ticket: null }).parts.text as string;
}

describe('compileTemplates errors', () => {
  it('reports a syntax error with file, line and column', () => {
    const e = compileError([{ path: 'email/broken.hbs', source: '{{#*inline "subject"}}\nHello {{incident.title\n{{/inline}}' }]);
    expect(e.kind).toBe('template');
    expect(e.where?.file).toBe('templates/email/broken.hbs');
    expect(e.where?.line).toBe(2);
    expect(e.where?.column).toBeGreaterThan(0);
    expect(e.format()).toMatch(/^templates\/email\/broken\.hbs:2:\d+ syntax error: unexpected "\{\{\/"/);
  });

  it('reports a mismatched block close at its position', () => {
    const e = compileError([SMS('\n{{#if guidanceOnly}}x\n  {{/unless}}')]);
    expect(e.where).toMatchObject({ file: 'templates/sms/incident-change.hbs', line: 2 });
    expect(e.message).toMatch(/if doesn't match unless/);
  });

  it('names a part a kind needs but the template lacks', () => {
    const e = compileError([{ path: 'email/incident-change.hbs', source: '{{#*inline "subject"}}s{{/inline}}{{#*inline "text"}}t{{/inline}}' }]);
    expect(e.message).toContain('"html"');
    expect(e.where?.file).toBe('templates/email/incident-change.hbs');
  });

  it('rejects unknown partials, suggesting a near name', () => {
    const e = compileError([SMS('a\nb {{> Change-Headline}}'), { path: 'partials/change-headline.hbs', source: 'x' }]);
    expect(e.message).toMatch(/unknown partial "Change-Headline".*did you mean "change-headline"/);
    expect(e.where).toMatchObject({ line: 2, column: 3 });
  });

  it('rejects unknown helpers in mustaches, blocks and subexpressions', () => {
    expect(compileError([SMS('{{formatdate incident.updatedAt}}')]).message).toMatch(/unknown helper "formatdate".*did you mean "formatDate"/);
    expect(compileError([SMS('{{#repeat 3}}x{{/repeat}}')]).message).toMatch(/unknown helper "repeat"/);
    expect(compileError([SMS('{{upper (shout incident.title)}}')]).message).toMatch(/unknown helper "shout"/);
    expect(compileError([SMS('{{log incident.title}}')]).message).toMatch(/unknown helper "log"/);
  });

  it('rejects an unknown helper inside a shared partial, naming the partial file', () => {
    const e = compileError([SMS('{{> p}}'), { path: 'partials/p.hbs', source: 'ok\n{{nope 1}}' }]);
    expect(e.where).toMatchObject({ file: 'templates/partials/p.hbs', line: 2 });
  });

  it('rejects dynamic partials and decorators other than inline', () => {
    expect(compileError([SMS('{{> (lookup . "x")}}')]).message).toMatch(/dynamic partials/);
    expect(compileError([{ path: 'sms/x.hbs', source: '{{#*each "text"}}x{{/each}}' }]).message).toMatch(/unknown decorator "each"/);
  });

  it('rejects text outside the part blocks, since it would never be rendered', () => {
    const e = compileError([{ path: 'sms/x.hbs', source: '{{!-- ok --}}\n\nHello\n{{#*inline "text"}}x{{/inline}}' }]);
    expect(e.message).toMatch(/top level/);
    expect(e.where).toMatchObject({ line: 3, column: 1 });
  });

  it('rejects files outside <kind>/<name>.hbs and partials/', () => {
    expect(compileError([{ path: 'telegram/x.hbs', source: '' }]).message).toMatch(/<receiver kind>\/<name>\.hbs/);
    expect(compileError([{ path: 'sms/deep/x.hbs', source: '' }]).message).toMatch(/<receiver kind>\/<name>\.hbs/);
    expect(compileError([{ path: 'sms/Bad_Name.hbs', source: '' }]).message).toMatch(/template name/);
  });

  it('rejects a part defined twice', () => {
    expect(compileError([SMS('a{{/inline}}{{#*inline "text"}}b')]).message).toMatch(/defined twice/);
  });
});

describe('listTemplates / hasTemplate / partsFor', () => {
  it('lists every template with its kind, name and file; ignores non-template files', () => {
    const set = compileTemplates([SMS('x'), { path: 'pagerduty/page.hbs', source: '{{#*inline "summary"}}s{{/inline}}' }, { path: 'README.md', source: '#' }]);
    expect(listTemplates(set)).toEqual([
      { kind: 'pagerduty', name: 'page', file: 'templates/pagerduty/page.hbs' },
      { kind: 'sms', name: 'incident-change', file: 'templates/sms/incident-change.hbs' },
    ]);
    expect(hasTemplate(set, 'sms', 'incident-change')).toBe(true);
    expect(hasTemplate(set, 'sms', 'page')).toBe(false);
    expect(hasTemplate(set, 'pagerduty', 'page')).toBe(true);
  });

  it('knows the parts and formats of all eleven kinds', () => {
    expect(RECEIVER_KINDS.every((k) => partsFor(k).length > 0)).toBe(true);
    expect(partsFor('email')).toEqual([
      { name: 'subject', format: 'line' },
      { name: 'html', format: 'html' },
      { name: 'text', format: 'text' },
    ]);
    expect(partsFor('jira').map((p) => p.format)).toEqual(['line', 'json', 'json']);
    expect(partsFor('voice')).toEqual([{ name: 'twiml', format: 'xml' }]);
  });
});

describe('renderStep', () => {
  it('names the missing template file when a step asks for one that does not exist', () => {
    const set = compileTemplates([SMS('x')]);
    const step = makeStep({ kind: 'sms', template: 'page-lead' });
    expect(() => renderStep(set, step, { receiverName: 'lead', ticket: null })).toThrow(/no template "page-lead" for sms/);
  });

  it('reports invalid JSON in a JSON part once, at load, at the template\'s line and column', () => {
    const e = compileError([{ path: 'slack/x.hbs', source: '{{#*inline "message"}}\n{\n  "text": "{{incident.title}}",\n}\n{{/inline}}' }]);
    expect(e.kind).toBe('template');
    expect(e.where).toMatchObject({ file: 'templates/slack/x.hbs', line: 4, column: 1, field: 'message' });
    expect(e.message).toMatch(/part "message" is not valid JSON: a comma before "\}"/);
    const report = compileTemplatesReport([{ path: 'slack/x.hbs', source: '{{#*inline "message"}}\n{\n  "text": "{{incident.title}}",\n}\n{{/inline}}' }]);
    expect(report.problems).toHaveLength(1);
  });

  it('reports every broken template of a folder at once, each once', () => {
    const report = compileTemplatesReport([
      { path: 'email/broken.hbs', source: '{{#*inline "subject"}}\nHello {{incident.title\n{{/inline}}' },
      { path: 'slack/x.hbs', source: '{{#*inline "message"}}{"text": "x",}{{/inline}}' },
      { path: 'teams/y.hbs', source: '{{#*inline "card"}}{"type": "AdaptiveCard" "version": "1.5"}{{/inline}}' },
    ]);
    expect(report.set).toBeNull();
    expect(report.problems.map((p) => p.format())).toEqual([
      expect.stringMatching(/^templates\/email\/broken\.hbs:2:\d+ syntax error/),
      expect.stringMatching(/^templates\/slack\/x\.hbs:1:36 part "message" is not valid JSON: a comma before "\}"/),
      expect.stringMatching(/^templates\/teams\/y\.hbs:1:44 part "card" is not valid JSON: expected "," or "\}"/),
    ]);
  });

  it('locates invalid JSON that only some incidents produce, inside a block', () => {
    const source = [
      '{{#*inline "card"}}',
      '{ "type": "AdaptiveCard", "version": "1.5", "body": [',
      '  { "type": "TextBlock", "text": "x" }',
      '  {{#if incident.devices.length}}',
      '  { "type": "TextBlock", "text": "{{list incident.devices prop="name"}}" }',
      '  {{/if}}',
      '] }',
      '{{/inline}}',
    ].join('\n');
    const e = compileError([{ path: 'teams/card.hbs', source }]);
    expect(e.format()).toMatch(/^templates\/teams\/card\.hbs:5:3 part "card" is not valid JSON: expected "," or "\]"/);
  });

  it('at render time, names the template line of a JSON error too', () => {
    // the load-time probes never have this owner, so only a real delivery reaches the bad comma
    const source = '{{#*inline "message"}}{"text": "x"{{#if (eq incident.owner.assignedTo "Alex Wilber")}},{{/if}} }{{/inline}}';
    const set = compileTemplates([{ path: 'slack/x.hbs', source }]);
    const step = makeStep({ kind: 'slack', template: 'x', incident: makeIncident({ owner: { assignedTo: 'Alex Wilber', userPrincipalName: null, objectId: null, email: null, kind: 'user' } }) });
    try {
      renderStep(set, step, { receiverName: 's', ticket: null });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(KitError);
      expect((err as KitError).format()).toMatch(/^templates\/slack\/x\.hbs:1:96 part "message" is not valid JSON: a comma before "\}"/);
    }
  });

  it('refuses incident text as a URL or a type in JSON parts, but takes the incident link', () => {
    const card = (url: string) => [
      { path: 'teams/x.hbs', source: `{{#*inline "card"}}{"type":"AdaptiveCard","version":"1.5","actions":[{"type":"Action.OpenUrl","title":"t","url":"${url}"}]}{{/inline}}` },
    ];
    const step = makeStep({ template: 'x', incident: makeIncident({ title: 'https://evil.example/phish' }) });
    expect(() => renderStep(compileTemplates(card('{{incident.title}}')), step, { receiverName: 't', ticket: null })).toThrow(/cannot be a URL/);
    const ok = renderStep(compileTemplates(card('{{incident.links.defender}}')), step, { receiverName: 't', ticket: null });
    expect(JSON.stringify(ok.parts.card)).toContain(step.incident.links.defender!);
    const typed = [{ path: 'teams/x.hbs', source: '{{#*inline "card"}}{"type":"{{incident.title}}"}{{/inline}}' }];
    expect(() => renderStep(compileTemplates(typed), step, { receiverName: 't', ticket: null })).toThrow(/element type/);
  });

  it('escapes the same field differently per part', () => {
    const set = compileTemplates([
      {
        path: 'email/x.hbs',
        source: '{{#*inline "subject"}}{{incident.title}}{{/inline}}{{#*inline "html"}}<p>{{incident.title}}</p><p>{{{incident.title}}}</p>{{/inline}}{{#*inline "text"}}{{incident.title}}{{/inline}}',
      },
    ]);
    const step = makeStep({ kind: 'email', template: 'x', incident: makeIncident({ title: 'A & <b>B</b>\r\nBcc: x@y' }) });
    const r = renderStep(set, step, { receiverName: 'e', ticket: null });
    expect(r.parts.subject).toBe('A & <b>B</b> Bcc: x@y');
    expect(r.parts.html).toBe('<p>A &amp; &lt;b&gt;B&lt;/b&gt; Bcc: x@y</p><p>A &amp; &lt;b&gt;B&lt;/b&gt; Bcc: x@y</p>'.replace(/ Bcc/g, '\nBcc'));
    expect(r.parts.text).toBe('A & <b>B</b>\nBcc: x@y');
  });

  it('keeps the raw text out of templates (no .raw, no prototype access)', () => {
    const step = makeStep({ kind: 'sms', incident: makeIncident({ title: 'T' }) });
    // validate refuses these paths; the renderer must still yield nothing for them
    expect(smsText('[{{incident.title.raw}}][{{incident.title.constructor}}][{{incident.title.toString}}]', step, [], { checkFields: false })).toBe('[][][]');
  });

  it('renders a partial inline without its final newline and standalone as a line of its own', () => {
    const partial = { path: 'partials/who.hbs', source: 'Owner {{incident.owner.assignedTo}}\n' };
    const empty = { path: 'partials/nothing.hbs', source: '{{#if guidanceOnly}}\nnever\n{{/if}}\n' };
    expect(smsText('[{{> who}}]\n{{> who}}\n{{> nothing}}\nend', makeStep({ kind: 'sms' }), [partial, empty])).toBe(
      '[Owner Defender Experts]\nOwner Defender Experts\nend',
    );
  });

  it('renders the same message again for the same step (now defaults to when the step was planned)', () => {
    const step = makeStep({ kind: 'sms' });
    expect(smsText('{{formatDate now}} {{since incident.updatedAt}}', step)).toBe('2026-11-26 09:36 UTC just now');
    expect(smsText('{{formatDate now}}', step)).toBe(smsText('{{formatDate now}}', step));
  });
});

describe('helpers', () => {
  const step = makeStep({
    kind: 'sms',
    incident: makeIncident({
      devices: ['a', 'b', 'c', 'd'].map((name) => ({ name, id: null })),
      title: 'Ünïcode 😀 title',
    }),
  });

  it('formatDate and since', () => {
    expect(smsText('{{formatDate incident.createdAt}}|{{formatDate "nonsense"}}|{{since incident.createdAt}}', step)).toBe('2026-11-26 08:43 UTC||52 min ago');
    const later = makeStep({ kind: 'sms', plannedAt: '2026-11-28T10:00:00.000Z' });
    expect(smsText('{{since incident.createdAt}}', later)).toBe('2 days ago');
  });

  it('pluralise, list, join, default, upper, lower', () => {
    expect(smsText('{{pluralise 1 "alert" "alerts"}}, {{pluralise incident.alerts.count "alert" "alerts"}}', step)).toBe('1 alert, 2 alerts');
    expect(smsText('{{list incident.devices prop="name" max=2}}', step)).toBe('a, b and 2 more');
    expect(smsText('{{join incident.devices " / " prop="name"}}', step)).toBe('a / b / c / d');
    expect(smsText('{{default incident.classification "open"}}', step)).toBe('open');
    expect(smsText('{{upper incident.severity}} {{lower incident.status}}', step)).toBe('HIGH active');
  });

  it('truncate counts code points and marks the cut', () => {
    expect(smsText('{{truncate incident.title 9}}', step)).toBe('Ünicode...');
    const set = compileTemplates([{ path: 'pagerduty/x.hbs', source: '{{#*inline "summary"}}{{truncate incident.title 9}}{{/inline}}' }]);
    const r = renderStep(set, makeStep({ kind: 'pagerduty', template: 'x', incident: step.incident }), { receiverName: 'p', ticket: null });
    expect(r.parts.summary).toBe('Ünïcode…');
  });

  it('eq / ne / and / or / not compare raw values', () => {
    expect(smsText('{{#if (eq incident.severity "High")}}Y{{/if}}{{#if (ne incident.status "Active")}}N{{/if}}{{#if (and guidanceOnly incident.title)}}A{{/if}}{{#if (or guidanceOnly incident.title)}}O{{/if}}{{#if (not guidanceOnly)}}!{{/if}}', step)).toBe('YO!');
  });

  it('severityEmoji and severityColor fit the channel', () => {
    const set = compileTemplates([{ path: 'teams/x.hbs', source: '{{#*inline "card"}}{"type":"AdaptiveCard","version":"1.5","x":"{{severityColor incident.severity}}"}{{/inline}}' }]);
    const card = renderStep(set, makeStep({ template: 'x' }), { receiverName: 't', ticket: null }).parts.card as Record<string, unknown>;
    expect(card.x).toBe('Attention');
    expect(smsText('{{severityColor "Low"}} {{severityColor "bogus"}}', step)).toBe('#FFB900 #8A8886');
  });

  it('link only yields the incident\'s own http(s) links (and the ticket\'s)', () => {
    const evil = makeStep({ kind: 'sms', incident: makeIncident({ description: 'https://evil.example', links: { sentinel: 'javascript:alert(1)', defender: 'https://security.microsoft.com/incidents/1' } }) });
    expect(smsText('[{{link incident.description}}][{{link incident.links.sentinel}}][{{link incident.links.defender}}][{{link incidentUrl}}]', evil)).toBe(
      '[][][https://security.microsoft.com/incidents/1][https://security.microsoft.com/incidents/1]',
    );
    const set = compileTemplates([SMS('{{link ticket.url}}')]);
    const ticket = { receiver: 'j', incidentKey: '12345', id: '1', key: 'SOC-1', url: 'https://contoso.atlassian.net/browse/SOC-1', state: 'open' as const };
    expect(renderStep(set, makeStep({ kind: 'sms' }), { receiverName: 'x', ticket }).parts.text).toBe(ticket.url);
  });

  it('changeSummary words each kind of change', () => {
    const changes = makeStep({
      kind: 'sms',
      changes: [
        { kind: 'owner', from: 'Defender Experts', to: 'Customer', id: '1' },
        { kind: 'status', from: null, to: 'Closed', id: '2' },
        { kind: 'tag-added', from: null, to: 'Awaiting Customer Action', id: '3' },
        { kind: 'classification', from: null, to: 'TruePositive', id: '4' },
      ],
    });
    expect(smsText('{{#each changes}}{{changeSummary this}};{{/each}}', changes)).toBe(
      'Owner changed from Defender Experts to Customer;Status changed to Closed;Tag "Awaiting Customer Action" added;Classified as true positive;',
    );
  });
});

describe('templateContext', () => {
  it('documents the change, moment, headline, receiver, guidance and ticket', () => {
    const step = makeStep({
      kind: 'jira',
      guidanceOnly: true,
      exclusionMatches: ['device:SRV-DC01'],
      changes: [
        { kind: 'owner', from: 'Defender Experts', to: 'Customer', id: 'owner:customer#1' },
        { kind: 'tag-added', from: null, to: 'Awaiting Customer Action', id: 'tag#1' },
      ],
    });
    const ticket = { receiver: 'soc-jira', incidentKey: '12345', id: '10001', key: 'SOC-7', url: 'https://contoso.atlassian.net/browse/SOC-7', state: 'open' as const };
    const ctx = templateContext(step, { receiverName: 'soc-jira', ticket, exclusionReason: 'Tier 0 assets' });
    expect(ctx.moment).toBe('awaiting-customer-action');
    expect(ctx.headline).toBe('Tag "Awaiting Customer Action" added (+1 more)');
    expect(ctx.change?.summary).toBe('Owner changed from Defender Experts to Customer');
    expect(ctx.receiver).toEqual({ name: 'soc-jira', kind: 'jira' });
    expect(ctx).toMatchObject({ guidanceOnly: true, manualActionRequired: true, exclusionMatches: ['device:SRV-DC01'], exclusionReason: 'Tier 0 assets' });
    expect(ctx.ticket).toEqual({ id: '10001', key: 'SOC-7', url: ticket.url });
    expect(ctx.incidentUrl).toBe(step.incident.links.defender);
    expect(ctx.kit.name).toBe('Sentinel Playbook Kit');
    expect(ctx.now).toBe(step.plannedAt);
  });

  it('drops incident links that are not http(s)', () => {
    const step = makeStep({ incident: makeIncident({ links: { sentinel: 'javascript:alert(1)', defender: null } }) });
    const ctx = templateContext(step, { receiverName: 't', ticket: null });
    expect(ctx.incident.links).toEqual({ sentinel: null, defender: null });
    expect(ctx.incidentUrl).toBeNull();
  });
});
