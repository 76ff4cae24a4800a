/**
 * The nine pure payload builders: the exact body each target gets for every operation, and the
 * truncation helpers they share.
 */
import { describe, expect, it } from 'vitest';
import { receiverSchema, type ReceiverKind, type ReceiverOf } from '../../functions/config/schema.js';
import type { DeliveryStep, TicketRef } from '../../functions/core/delivery.js';
import { KitError } from '../../functions/core/errors.js';
import type { Operation, OutboundRequest, PayloadBuilder } from '../../functions/connectors/types.js';
import { outboxBody, sendArguments, serialiseBody } from '../../functions/connectors/request.js';
import { buildAzuredevopsPayload } from '../../functions/connectors/azuredevops/payload.js';
import { buildEmailPayload, quotedPrintable } from '../../functions/connectors/email/payload.js';
import { buildFreshservicePayload } from '../../functions/connectors/freshservice/payload.js';
import { buildPagerdutyPayload, pagerdutyDedupKey, PAGERDUTY_ROUTING_KEY_STAND_IN } from '../../functions/connectors/pagerduty/payload.js';
import { buildServicenowPayload } from '../../functions/connectors/servicenow/payload.js';
import { buildSlackPayload } from '../../functions/connectors/slack/payload.js';
import { buildSmsPayload, buildSmsPayloadWith } from '../../functions/connectors/sms/payload.js';
import { buildVoicePayload } from '../../functions/connectors/voice/payload.js';
import { buildZendeskPayload } from '../../functions/connectors/zendesk/payload.js';
import { truncate, truncateInBytes, truncateInRunes } from '../../functions/connectors/truncate.js';
import { compileTemplates, renderStep } from '../../functions/render/engine.js';
import { smsSegments } from '../../functions/render/sms.js';
import type { RenderedMessage } from '../../functions/render/types.js';
import { makeIncident } from '../fixtures/incident.js';
import { parseXml, xmlShape } from '../render/markup.js';
import { loadShippedTemplates, seedStep, type SeedMoment } from '../render/shipped.js';

const set = compileTemplates(loadShippedTemplates());

function input<K extends ReceiverKind>(kind: K, receiver: unknown, operation: Operation, opts: { moment?: SeedMoment; step?: Partial<DeliveryStep>; rendered?: RenderedMessage; ticket?: TicketRef | null } = {}) {
  const step = seedStep(kind, opts.moment ?? 'owner-customer', opts.step ?? {});
  const rendered = opts.rendered ?? renderStep(set, step, { receiverName: `soc-${kind}`, ticket: null });
  return { step, receiverName: `soc-${kind}`, receiver: receiverSchema.parse(receiver) as ReceiverOf<K>, rendered, operation, ticket: opts.ticket ?? null };
}

const json = (r: OutboundRequest) => JSON.parse(outboxBody(r));

describe('truncate helpers', () => {
  it('counts runes, UTF-16 units or bytes and appends one ellipsis within the limit', () => {
    expect(truncateInRunes('abcdef', 10)).toEqual({ value: 'abcdef', truncated: false });
    expect(truncateInRunes('abcdef', 4)).toEqual({ value: 'abc…', truncated: true });
    expect(truncateInRunes('😀😀😀😀', 3)).toEqual({ value: '😀😀…', truncated: true });
    expect(truncate('😀😀😀😀', 5, { unit: 'utf16' }).value).toBe('😀😀…');
    expect(truncateInBytes('ééééé', 7)).toEqual({ value: 'éé…', truncated: true });
    expect(Buffer.byteLength(truncateInBytes('ééééé', 7).value)).toBeLessThanOrEqual(7);
  });

  it('never cuts inside an entity or a tag when told the markup', () => {
    expect(truncate('ab &amp; cd', 6, { markup: 'html' }).value).toBe('ab…');
    expect(truncate('ab &#x27; cd', 7, { markup: 'html' }).value).toBe('ab…');
    expect(truncate('see <https://x.example|link> now', 12, { markup: 'slack' }).value).toBe('see…');
    expect(truncate('ab &amp; cd', 6).value).toBe('ab &a…');
  });

  it('returns a hard cut when not even the ellipsis fits', () => {
    expect(truncateInRunes('abcdef', 1)).toEqual({ value: 'a', truncated: true });
  });
});

describe('email (.eml)', () => {
  const receiver = { kind: 'email', to: ['soc@contoso.example', 'lead@contoso.example'], from: 'sentinel-kit@contoso.example', fromName: 'Sentinel Kit' };

  it('builds a multipart/alternative RFC 5322 message threaded by incident', () => {
    const p = buildEmailPayload(input('email', receiver, 'send'));
    expect(p.format).toBe('eml');
    const [folded, ...rest] = outboxBody(p).split('\r\n\r\n');
    const head = folded!.replace(/\r\n /g, ' ');
    expect(head).toMatch(/^From: "Sentinel Kit" <sentinel-kit@contoso\.example>\r\n/);
    expect(head).toContain('\r\nTo: soc@contoso.example, lead@contoso.example\r\n');
    expect(head).toContain('\r\nSubject: [Sentinel High] Incident 3177: Owner changed from Defender Experts to Customer - Multi-stage');
    expect(head).toContain('\r\nDate: Thu, 26 Nov 2026 09:36:00 +0000\r\n');
    expect(head).toMatch(/\r\nMessage-ID: <a{64}@contoso\.example>\r\n/);
    expect(head).toContain('\r\nIn-Reply-To: <sentinel-incident-12345@contoso.example>\r\nReferences: <sentinel-incident-12345@contoso.example>\r\n');
    expect(head).toContain('\r\nMIME-Version: 1.0\r\n');
    const boundary = /boundary="([^"]+)"/.exec(head)![1]!;
    const body = rest.join('\r\n\r\n');
    expect(body).toContain(`--${boundary}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable`);
    expect(body).toContain(`--${boundary}\r\nContent-Type: text/html; charset=utf-8`);
    expect(body.trimEnd().endsWith(`--${boundary}--`)).toBe(true);
    for (const line of outboxBody(p).split('\r\n')) expect(line.length).toBeLessThanOrEqual(998);
  });

  it('is deterministic per step and gives a different Message-ID to a different step', () => {
    const a = buildEmailPayload(input('email', receiver, 'send'));
    expect(outboxBody(buildEmailPayload(input('email', receiver, 'send')))).toBe(outboxBody(a));
    const b = buildEmailPayload(input('email', receiver, 'send', { step: { idempotencyKey: 'b'.repeat(64) } }));
    expect(/Message-ID: (.*)/.exec(outboxBody(b))![1]).not.toBe(/Message-ID: (.*)/.exec(outboxBody(a))![1]);
    expect(/References: (.*)/.exec(outboxBody(b))![1]).toBe(/References: (.*)/.exec(outboxBody(a))![1]);
  });

  it('encodes a non-ASCII subject as RFC 2047 words and cuts it at 255 characters', () => {
    const rendered: RenderedMessage = { kind: 'email', template: 'x', parts: { subject: 'Ünïcödé '.repeat(60), html: '<p>x</p>', text: 'x' } };
    const p = buildEmailPayload(input('email', receiver, 'send', { rendered }));
    expect(p.truncated).toEqual(['subject']);
    const subject = /\r\nSubject: ([\s\S]*?)\r\n(?! )/.exec(outboxBody(p))![1]!;
    const decoded = subject
      .split(/\r\n /)
      .map((w) => Buffer.from(/=\?UTF-8\?B\?(.*)\?=/.exec(w)![1]!, 'base64').toString('utf8'))
      .join('');
    expect(Array.from(decoded).length).toBeLessThanOrEqual(255);
    expect(decoded.endsWith('…')).toBe(true);
    for (const w of subject.split(/\r\n /)) expect(w.length).toBeLessThanOrEqual(75);
  });

  it('quoted-printable keeps lines at 76 and round-trips UTF-8', () => {
    const text = `${'é'.repeat(100)} end \nsecond = line  `;
    const qp = quotedPrintable(text);
    for (const l of qp.split('\r\n')) expect(l.length).toBeLessThanOrEqual(76);
    const decoded = Buffer.from(
      qp
        .replace(/=\r\n/g, '')
        .replace(/\r\n/g, '\n')
        .replace(/=([0-9A-F]{2})/g, (_m, h: string) => `%${h}`)
        .replace(/[^%\n]/g, (c) => encodeURIComponent(c)),
      'utf8',
    );
    expect(decodeURIComponent(decoded.toString())).toBe(text);
  });

  it('refuses an address that could carry a header', () => {
    const bad = { kind: 'email' as const, to: ['soc@contoso.example'], from: 'x@contoso.example' };
    const i = input('email', bad, 'send');
    i.receiver = { ...i.receiver, to: ['a@b.example\r\nBcc: c@d.example'] };
    expect(() => buildEmailPayload(i)).toThrow(KitError);
  });
});

describe('slack', () => {
  it('builds chat.postMessage arguments when a channel is set, a webhook body otherwise', () => {
    const post = json(buildSlackPayload(input('slack', { kind: 'slack', channel: 'C0123456789' }, 'send')));
    expect(post).toMatchObject({ channel: 'C0123456789', unfurl_links: false, metadata: { event_type: 'sentinel_incident_change' } });
    expect(post.blocks[0].type).toBe('header');
    const hook = json(buildSlackPayload(input('slack', { kind: 'slack' }, 'send')));
    expect(hook.channel).toBeUndefined();
    expect(hook.metadata).toBeUndefined();
    expect(hook.text).toContain('Incident 3177');
  });

  it('cuts header, section text and block count to Block Kit limits and names what it cut', () => {
    const rendered: RenderedMessage = {
      kind: 'slack',
      template: 'x',
      parts: {
        message: {
          text: 'x',
          blocks: [
            { type: 'header', text: { type: 'plain_text', text: 'H'.repeat(200) } },
            { type: 'section', text: { type: 'mrkdwn', text: `${'a'.repeat(2995)}&amp;&amp;` } },
            ...Array.from({ length: 60 }, () => ({ type: 'divider' })),
          ],
        },
      },
    };
    const p = buildSlackPayload(input('slack', { kind: 'slack' }, 'send', { rendered }));
    const body = JSON.parse(outboxBody(p));
    expect(body.blocks).toHaveLength(50);
    expect(body.blocks[0].text.text).toHaveLength(150);
    expect(body.blocks[1].text.text.length).toBeLessThanOrEqual(3000);
    expect(body.blocks[1].text.text).toMatch(/a…$/);
    expect(p.truncated).toEqual(['blocks[0].text', 'blocks[1].text', 'blocks']);
  });
});

describe('sms', () => {
  it('is the normalised text, at most 2 segments by default', () => {
    const rendered: RenderedMessage = { kind: 'sms', template: 'x', parts: { text: `“Long” ${'word '.repeat(300)} 😀` } };
    const p = buildSmsPayload(input('sms', { kind: 'sms', to: ['+14255550123'] }, 'send', { rendered }));
    expect(p.format).toBe('sms.txt');
    expect(p.truncated).toEqual(['text']);
    expect(smsSegments(outboxBody(p))).toBe(2);
    expect(outboxBody(p)).toContain('"Long"');
  });

  it('takes a different segment budget', () => {
    const rendered: RenderedMessage = { kind: 'sms', template: 'x', parts: { text: 'word '.repeat(100) } };
    const one = buildSmsPayloadWith({ maxSegments: 1 })(input('sms', { kind: 'sms', to: ['+14255550123'] }, 'send', { rendered }));
    expect(smsSegments(outboxBody(one))).toBe(1);
    expect(outboxBody(one).endsWith('...')).toBe(true);
  });
});

describe('voice', () => {
  it('is a TwiML document with a <Response> root', () => {
    const p = buildVoicePayload(input('voice', { kind: 'voice', to: ['+14255550123'] }, 'send'));
    expect(outboxBody(p).startsWith('<?xml version="1.0" encoding="UTF-8"?>\n<Response>')).toBe(true);
    expect(xmlShape(parseXml(outboxBody(p)))).toBe('Response(Say,Pause,Say)');
  });

  it('shortens spoken text, whole entities only, to fit 4000 characters', () => {
    const said = '&amp;'.repeat(1500);
    const rendered: RenderedMessage = { kind: 'voice', template: 'x', parts: { twiml: `<Response><Say>${said}</Say><Say>Bye</Say></Response>` } };
    const p = buildVoicePayload(input('voice', { kind: 'voice', to: ['+14255550123'] }, 'send', { rendered }));
    expect(outboxBody(p).length).toBeLessThanOrEqual(4000);
    expect(p.truncated).toEqual(['twiml']);
    expect(xmlShape(parseXml(outboxBody(p)))).toBe('Response(Say,Say)');
  });

  it('refuses a document that is not one <Response>', () => {
    const rendered: RenderedMessage = { kind: 'voice', template: 'x', parts: { twiml: '<Say>hi</Say>' } };
    expect(() => buildVoicePayload(input('voice', { kind: 'voice', to: ['+14255550123'] }, 'send', { rendered }))).toThrow(/<Response>/);
  });
});

describe('servicenow', () => {
  const receiver = { kind: 'servicenow', assignmentGroup: 'SOC', resolvedState: '6', closeCode: 'Solved (Permanently)' };

  it('creates with correlation_id, urgency/impact from severity, and cuts short_description to 160', () => {
    const step = { incident: makeIncident({ severity: 'Medium' as const }) };
    const rendered: RenderedMessage = { kind: 'servicenow', template: 'x', parts: { short_description: 'T'.repeat(400), description: 'd', work_notes: 'w' } };
    const p = buildServicenowPayload(input('servicenow', receiver, 'create', { step, rendered }));
    const b = json(p);
    expect(b).toMatchObject({ urgency: '2', impact: '2', correlation_id: 'ws:8d300aff-d535-4430-9eef-3046965c48cf:12345', correlation_display: 'Microsoft Sentinel', assignment_group: 'SOC' });
    expect(b.short_description.length).toBeLessThanOrEqual(160);
    expect(p.truncated).toContain('short_description');
  });

  it('updates with work_notes and resolves with state, close_code and close_notes', () => {
    expect(Object.keys(json(buildServicenowPayload(input('servicenow', receiver, 'update'))))).toEqual(['work_notes']);
    const r = json(buildServicenowPayload(input('servicenow', receiver, 'resolve', { moment: 'status-closed' })));
    expect(r).toMatchObject({ state: '6', close_code: 'Solved (Permanently)' });
    expect(r.close_notes).toContain('closed as true positive');
    expect(r.work_notes).toContain('Status changed from Active to Closed');
  });
});

describe('azure devops', () => {
  const receiver = { kind: 'azuredevops', project: 'SecOps', areaPath: 'SecOps\\SOC', doneState: 'Closed' };

  it('creates with title, HTML description, tags and priority as JSON Patch', () => {
    const p = buildAzuredevopsPayload(input('azuredevops', receiver, 'create'));
    expect(p.contentType).toBe('application/json-patch+json');
    const ops = json(p) as Array<{ op: string; path: string; value: unknown }>;
    expect(ops.map((o) => o.path)).toEqual(['/fields/System.Title', '/fields/System.Description', '/fields/System.Tags', '/fields/Microsoft.VSTS.Common.Priority', '/fields/System.AreaPath']);
    expect(ops.every((o) => o.op === 'add')).toBe(true);
    expect(ops[2]!.value).toBe('sentinel; sentinel-12345');
    expect(ops[3]!.value).toBe(1);
  });

  it('updates History and resolves State + History', () => {
    expect((json(buildAzuredevopsPayload(input('azuredevops', receiver, 'update'))) as Array<{ path: string }>).map((o) => o.path)).toEqual(['/fields/System.History']);
    const r = json(buildAzuredevopsPayload(input('azuredevops', receiver, 'resolve', { moment: 'status-closed' }))) as Array<{ path: string; value: string }>;
    expect(r[0]).toEqual({ op: 'add', path: '/fields/System.State', value: 'Closed' });
    expect(r[1]!.value).toContain('<p>');
  });

  it('keeps "," and ";" out of the incident tag', () => {
    const ops = json(buildAzuredevopsPayload(input('azuredevops', receiver, 'create', { step: { incidentKey: 'a;b,c d' } }))) as Array<{ path: string; value: string }>;
    expect(ops[2]!.value).toBe('sentinel; sentinel-a-b-c-d');
  });
});

describe('zendesk', () => {
  it('creates a private html comment with external_id, tags and priority; updates and solves', () => {
    const c = json(buildZendeskPayload(input('zendesk', { kind: 'zendesk', groupId: 42 }, 'create')));
    expect(c.ticket).toMatchObject({ external_id: '12345', tags: ['sentinel', 'sentinel-12345'], priority: 'high', group_id: 42, comment: { public: false } });
    expect(c.ticket.comment.html_body).toContain('<p>');
    expect(Object.keys(json(buildZendeskPayload(input('zendesk', { kind: 'zendesk' }, 'update'))).ticket)).toEqual(['comment']);
    expect(json(buildZendeskPayload(input('zendesk', { kind: 'zendesk' }, 'resolve'))).ticket.status).toBe('solved');
  });
});

describe('freshservice', () => {
  const receiver = { kind: 'freshservice', requesterEmail: 'soc@contoso.example' };

  it('creates an open portal ticket with tags, adds a private note, resolves with status 4', () => {
    expect(json(buildFreshservicePayload(input('freshservice', receiver, 'create')))).toMatchObject({
      email: 'soc@contoso.example',
      status: 2,
      priority: 3,
      source: 2,
      tags: ['sentinel', 'sentinel-12345'],
    });
    const note = json(buildFreshservicePayload(input('freshservice', receiver, 'update')));
    expect(note.private).toBe(true);
    expect(note.body).toContain('<p>');
    expect(json(buildFreshservicePayload(input('freshservice', receiver, 'resolve')))).toEqual({ status: 4 });
  });
});

describe('pagerduty', () => {
  const receiver = { kind: 'pagerduty' };

  it('triggers with the routing key stand-in (in the outbox), dedup_key and mapped severity', () => {
    const e = json(buildPagerdutyPayload(input('pagerduty', receiver, 'create')));
    expect(e).toMatchObject({
      routing_key: '<routing-key>',
      event_action: 'trigger',
      dedup_key: 'sentinel-12345',
      payload: { source: 'microsoft-sentinel', severity: 'critical', component: 'Microsoft Defender XDR' },
    });
    expect(e.links.map((l: { text: string }) => l.text)).toEqual(['Open in Microsoft Defender', 'Open in Microsoft Sentinel']);
    expect(e.payload.summary).toContain('Owner changed from Defender Experts to Customer');
    const low = json(buildPagerdutyPayload(input('pagerduty', receiver, 'create', { step: { incident: makeIncident({ severity: 'Low' }) } })));
    expect(low.payload.severity).toBe('warning');
  });

  it('names every change in the summary and writes classification and determination in words', () => {
    const incident = makeIncident({ status: 'Closed', classification: 'BenignPositive', determination: 'notMalicious' });
    const changes = [
      { kind: 'status' as const, from: 'Active', to: 'Closed', id: 's' },
      { kind: 'classification' as const, from: null, to: 'BenignPositive', id: 'c' },
    ];
    const e = json(buildPagerdutyPayload(input('pagerduty', receiver, 'create', { moment: 'status-closed', step: { incident, changes } })));
    expect(e.payload.summary).toContain('Status changed from Active to Closed; classified as benign positive');
    expect(e.payload.summary).not.toMatch(/more\)/);
    expect(e.payload.custom_details).toMatchObject({ classification: 'benign positive', determination: 'not malicious' });
    expect(e.payload.custom_details.changes.map((c: { summary: string }) => c.summary)).toEqual(['Status changed from Active to Closed', 'Classified as benign positive']);
    expect(e.payload.summary).not.toMatch(/BenignPositive|notMalicious/);
    const guided = json(buildPagerdutyPayload(input('pagerduty', receiver, 'create', { step: { guidanceOnly: true, exclusionMatches: ['device:SRV-DC01.contoso.com (SRV-DC01)', 'device:SRV-DC01'] } })));
    expect(guided.payload.custom_details.exclusion_matches).toEqual(['device:SRV-DC01.contoso.com (SRV-DC01)']);
  });

  it('acknowledges when Defender Experts take the incident, triggers again when it comes back to the customer', () => {
    expect(json(buildPagerdutyPayload(input('pagerduty', receiver, 'update', { moment: 'owner-defender-experts' })))).toEqual({
      routing_key: '<routing-key>',
      event_action: 'acknowledge',
      dedup_key: 'sentinel-12345',
    });
    expect(json(buildPagerdutyPayload(input('pagerduty', receiver, 'update', { moment: 'awaiting-customer-action' }))).event_action).toBe('trigger');
  });

  it('resolves by the ticket id it was given', () => {
    const ticket: TicketRef = { receiver: 'soc-pagerduty', incidentKey: '12345', id: 'sentinel-12345', key: null, url: null, state: 'open' };
    expect(json(buildPagerdutyPayload(input('pagerduty', receiver, 'resolve', { ticket })))).toEqual({ routing_key: '<routing-key>', event_action: 'resolve', dedup_key: 'sentinel-12345' });
  });

  it('keeps dedup_key within 255 and the summary within 1024', () => {
    expect(pagerdutyDedupKey('k'.repeat(300)).length).toBeLessThanOrEqual(255);
    expect(pagerdutyDedupKey('k'.repeat(300))).toBe(pagerdutyDedupKey('k'.repeat(300)));
    const rendered: RenderedMessage = { kind: 'pagerduty', template: 'x', parts: { summary: 's'.repeat(5000) } };
    const p = buildPagerdutyPayload(input('pagerduty', receiver, 'create', { rendered }));
    expect(json(p).payload.summary.length).toBe(1024);
    expect(p.truncated).toContain('summary');
  });
});

describe('pagerduty routing key', () => {
  const receiver = { kind: 'pagerduty' };
  const secret = '0123456789abcdef0123456789abcdef';

  it('is a named slot in the request, never a value in its body', () => {
    const r = buildPagerdutyPayload(input('pagerduty', receiver, 'create'));
    expect(r).toMatchObject({ method: 'POST', path: '/v2/enqueue', contentType: 'application/json' });
    expect(r.credential).toEqual({ in: 'json', field: 'routing_key', from: 'routingKey', standIn: PAGERDUTY_ROUTING_KEY_STAND_IN });
    expect(r.body).toHaveProperty('json');
    expect(Object.keys((r.body as { json: Record<string, unknown> }).json)).not.toContain('routing_key');
  });

  it('the outbox writes the stand-in first; a live sender must give the secret, which goes in the same place', () => {
    for (const op of ['create', 'update', 'resolve'] as const) {
      const r = buildPagerdutyPayload(input('pagerduty', receiver, op));
      const file = outboxBody(r);
      expect(file.startsWith(`{"routing_key":"${PAGERDUTY_ROUTING_KEY_STAND_IN}",`), op).toBe(true);
      expect(() => sendArguments(r)).toThrow(/routingKey/);
      const args = sendArguments(r, { credential: secret });
      expect(args).toMatchObject({ method: 'POST', path: '/v2/enqueue', headers: { 'content-type': 'application/json' } });
      // the only difference between the file and the wire is the routing key itself
      expect(JSON.stringify(args.json)).toBe(file.replace(PAGERDUTY_ROUTING_KEY_STAND_IN, secret));
      // the request itself is unchanged by either
      expect(outboxBody(r)).toBe(file);
    }
  });
});

describe('the request each builder returns', () => {
  const ticket: TicketRef = { receiver: 'r', incidentKey: '12345', id: 'a b/1', key: null, url: null, state: 'open' };
  const call = (r: OutboundRequest) => `${r.method} ${r.path}`;

  it('names the documented call, the ticket percent-encoded, or the documented template when none is known', () => {
    const sn = { kind: 'servicenow', table: 'sn_si_incident', resolvedState: '3' };
    expect(call(buildServicenowPayload(input('servicenow', sn, 'create')))).toBe('POST /api/now/table/sn_si_incident');
    expect(call(buildServicenowPayload(input('servicenow', sn, 'update', { ticket })))).toBe('PATCH /api/now/table/sn_si_incident/a%20b%2F1');
    expect(call(buildServicenowPayload(input('servicenow', sn, 'resolve')))).toBe('PATCH /api/now/table/sn_si_incident/{sys_id}');

    const ado = { kind: 'azuredevops', project: 'Sec Ops', workItemType: 'Bug' };
    const create = buildAzuredevopsPayload(input('azuredevops', ado, 'create'));
    expect(call(create)).toBe('POST /Sec%20Ops/_apis/wit/workitems/$Bug?api-version=7.1');
    expect(create.contentType).toBe('application/json-patch+json');
    expect(sendArguments(create).headers).toMatchObject({ 'content-type': 'application/json-patch+json' });
    expect(call(buildAzuredevopsPayload(input('azuredevops', ado, 'update', { ticket })))).toBe('PATCH /Sec%20Ops/_apis/wit/workitems/a%20b%2F1?api-version=7.1');
    expect(call(buildAzuredevopsPayload(input('azuredevops', ado, 'resolve')))).toBe('PATCH /Sec%20Ops/_apis/wit/workitems/{id}?api-version=7.1');

    expect(call(buildZendeskPayload(input('zendesk', { kind: 'zendesk' }, 'create')))).toBe('POST /api/v2/tickets.json');
    expect(call(buildZendeskPayload(input('zendesk', { kind: 'zendesk' }, 'update', { ticket })))).toBe('PUT /api/v2/tickets/a%20b%2F1.json');
    expect(call(buildZendeskPayload(input('zendesk', { kind: 'zendesk' }, 'resolve')))).toBe('PUT /api/v2/tickets/{id}.json');

    const fs = { kind: 'freshservice', requesterEmail: 'soc@contoso.example' };
    expect(call(buildFreshservicePayload(input('freshservice', fs, 'create')))).toBe('POST /api/v2/tickets');
    expect(call(buildFreshservicePayload(input('freshservice', fs, 'update', { ticket })))).toBe('POST /api/v2/tickets/a%20b%2F1/notes');
    expect(call(buildFreshservicePayload(input('freshservice', fs, 'resolve', { ticket })))).toBe('PUT /api/v2/tickets/a%20b%2F1');

    expect(call(buildSlackPayload(input('slack', { kind: 'slack', channel: 'C0123456789' }, 'send')))).toBe('POST /chat.postMessage');
    expect(call(buildSlackPayload(input('slack', { kind: 'slack' }, 'send')))).toBe('POST ');
  });

  it('keeps JSON APIs as data and documents as text, serialised by the one function', () => {
    const json = buildZendeskPayload(input('zendesk', { kind: 'zendesk' }, 'create'));
    expect('json' in json.body).toBe(true);
    expect(outboxBody(json)).toBe(serialiseBody(json.body));
    expect(outboxBody(json)).toBe(JSON.stringify((json.body as { json: unknown }).json));
    expect(sendArguments(json)).toEqual({ method: 'POST', path: '/api/v2/tickets.json', headers: { accept: 'application/json', 'content-type': 'application/json' }, json: (json.body as { json: unknown }).json });
    for (const r of [
      buildEmailPayload(input('email', { kind: 'email', to: ['soc@contoso.example'], from: 'kit@contoso.example' }, 'send')),
      buildSmsPayload(input('sms', { kind: 'sms', to: ['+14255550123'] }, 'send')),
      buildVoicePayload(input('voice', { kind: 'voice', to: ['+14255550123'] }, 'send')),
    ]) {
      expect('text' in r.body, r.format).toBe(true);
      expect(r.path, r.format).toBe('');
      expect(outboxBody(r)).toBe((r.body as { text: string }).text);
      expect(sendArguments(r).body).toBe((r.body as { text: string }).text);
      expect(sendArguments(r).path).toBeUndefined();
    }
  });
});

describe('every builder', () => {
  const cases: Array<[string, PayloadBuilder<any>, unknown, Operation[]]> = [
    ['servicenow', buildServicenowPayload, { kind: 'servicenow' }, ['create', 'update', 'resolve']],
    ['azuredevops', buildAzuredevopsPayload, { kind: 'azuredevops', project: 'P' }, ['create', 'update', 'resolve']],
    ['zendesk', buildZendeskPayload, { kind: 'zendesk' }, ['create', 'update', 'resolve']],
    ['freshservice', buildFreshservicePayload, { kind: 'freshservice', requesterEmail: 'a@b.example' }, ['create', 'update', 'resolve']],
    ['pagerduty', buildPagerdutyPayload, { kind: 'pagerduty' }, ['create', 'update', 'resolve']],
  ];

  it('refuses "send" on a ticket receiver and names the template part that is missing', () => {
    for (const [kind, build, receiver] of cases) {
      expect(() => build(input(kind as ReceiverKind, receiver, 'send')), kind).toThrow(KitError);
      const empty: RenderedMessage = { kind: kind as ReceiverKind, template: 'x', parts: {} };
      if (kind !== 'freshservice') expect(() => build(input(kind as ReceiverKind, receiver, 'update', { rendered: empty })), kind).toThrow(/part/);
    }
  });
});
