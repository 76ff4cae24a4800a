/**
 * What people read and hear: human words for enum values, every change named, only links that are
 * there, each exclusion once, and an SMS that fits and never carries half a link.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { receiverSchema, RECEIVER_KINDS, type ReceiverKind, type ReceiverOf } from '../../functions/config/schema.js';
import type { DeliveryStep } from '../../functions/core/delivery.js';
import type { Change, Incident } from '../../functions/core/model.js';
import { parseEvent } from '../../functions/core/parse-event.js';
import { buildSmsPayload } from '../../functions/connectors/sms/payload.js';
import { outboxBody } from '../../functions/connectors/request.js';
import { compileTemplates, renderStep, templateContext } from '../../functions/render/engine.js';
import { smsEncoding, smsSegments } from '../../functions/render/sms.js';
import type { RenderedMessage } from '../../functions/render/types.js';
import { makeIncident } from '../fixtures/incident.js';
import { TEMPLATES_DIR, allText, loadShippedTemplates, seedStep } from './shipped.js';

const set = compileTemplates(loadShippedTemplates());

function render(step: DeliveryStep): RenderedMessage {
  return renderStep(set, step, { receiverName: step.receiver, ticket: null, exclusionReason: 'Tier 0' });
}


const CLOSED = (): Incident =>
  makeIncident({
    status: 'Closed',
    rawStatus: 'resolved',
    classification: 'BenignPositive',
    classificationReason: 'SuspiciousButExpected',
    determination: 'notMalicious',
    classificationComment: 'Admin testing.',
  });

const CLOSING: Change[] = [
  { kind: 'status', from: 'Active', to: 'Closed', id: 'status:closed#1' },
  { kind: 'classification', from: null, to: 'BenignPositive', id: 'classification:benignpositive#1' },
  { kind: 'determination', from: null, to: 'notMalicious', id: 'determination:notmalicious#1' },
];

const HANDBACK: Change[] = [
  { kind: 'tag-added', from: null, to: 'Awaiting Customer Action', id: 'tag-added:awaiting customer action#1' },
  { kind: 'owner', from: 'Defender Experts', to: 'Customer', id: 'owner:customer#1' },
];

describe('enum values in human words', () => {
  for (const kind of RECEIVER_KINDS) {
    it(`${kind}: "closed as benign positive (not malicious)", never the raw names`, () => {
      const text = allText(render(seedStep(kind, 'status-closed', { incident: CLOSED(), changes: CLOSING })));
      expect(text).not.toMatch(/BenignPositive|notMalicious|SuspiciousButExpected|TruePositive|FalsePositive/);
      expect(text).toMatch(/benign positive/);
      if (!['sms', 'pagerduty'].includes(kind)) expect(text).toMatch(/benign positive \(not malicious\)/);
    });
  }

  it('the human helper knows both determination generations and leaves free text alone', () => {
    const sms = (body: string) =>
      renderStep(compileTemplates([{ path: 'sms/x.hbs', source: `{{#*inline "text"}}${body}{{/inline}}` }]), seedStep('sms', 'status-closed', { template: 'x', incident: CLOSED() }), {
        receiverName: 's',
        ticket: null,
      }).parts.text;
    expect(sms('{{human incident.classification}}|{{human incident.determination}}|{{human incident.rawStatus}}|{{human incident.classificationReason}}')).toBe(
      'benign positive|not malicious|resolved|suspicious but expected',
    );
    expect(sms('{{human incident.owner.assignedTo}}|{{human incident.title}}')).toBe('Defender Experts|Multi-stage incident involving Initial access & Lateral movement');
  });

  it('change summaries are in words', () => {
    const ctx = templateContext(seedStep('email', 'status-closed', { changes: CLOSING }), { receiverName: 'e', ticket: null });
    expect(ctx.changes.map((c) => c.summary)).toEqual(['Status changed from Active to Closed', 'Classified as benign positive', 'Determination set to not malicious']);
    expect(ctx.changes.map((c) => c.short)).toEqual(['status now Closed', 'classified as benign positive', 'determination not malicious']);
  });
});

describe('every change is named', () => {
  for (const kind of RECEIVER_KINDS) {
    it(`${kind}: names both changes of a hand-back, not just "(+1 more)"`, () => {
      const text = allText(render(seedStep(kind, 'awaiting-customer-action', { changes: HANDBACK })));
      if (kind === 'sms') {
        expect(text).toContain('tag "Awaiting Customer Action" added');
        expect(text).toContain('owner now Customer');
      } else {
        expect(text).toMatch(/Tag "Awaiting Customer Action" added/);
        expect(text).toMatch(/[Oo]wner changed from Defender Experts to Customer/);
      }
    });
  }

  it('the call never reads "+1 more" aloud', () => {
    const twiml = render(seedStep('voice', 'awaiting-customer-action', { changes: HANDBACK })).parts.twiml as string;
    expect(twiml).not.toMatch(/more\)|\+\d/);
  });

  it('allChanges and otherChanges start from the change the headline names', () => {
    const ctx = templateContext(seedStep('email', 'awaiting-customer-action', { changes: [...HANDBACK].reverse() }), { receiverName: 'e', ticket: null });
    expect(ctx.headline).toBe('Tag "Awaiting Customer Action" added (+1 more)');
    expect(ctx.otherChanges.map((c) => c.summary)).toEqual(['Owner changed from Defender Experts to Customer']);
    expect(ctx.allChanges).toBe('Tag "Awaiting Customer Action" added; owner changed from Defender Experts to Customer');
  });
});

describe('links that are there', () => {
  const sentinelOnly = makeIncident({
    key: '0b7d0c1e-3104-4c7d-9e10-2b4f6a8c3104',
    number: 3104,
    provider: 'Azure Sentinel',
    ids: { ...makeIncident().ids, xdrIncidentId: null },
    links: { sentinel: makeIncident().links.sentinel, defender: null },
  });

  it('the call says the details are in Sentinel for a Sentinel-only incident', () => {
    const twiml = render(seedStep('voice', 'owner-customer', { incident: sentinelOnly })).parts.twiml as string;
    expect(twiml).toContain('Details are in Microsoft Sentinel.');
    expect(twiml).not.toContain('Microsoft Defender');
    expect(twiml).not.toContain('in your email');
  });

  it('the call says there is no link when there is none', () => {
    const twiml = render(seedStep('voice', 'owner-customer', { incident: makeIncident({ links: { sentinel: null, defender: null } }) })).parts.twiml as string;
    expect(twiml).not.toMatch(/Details are in/);
  });

  it('the SMS takes the short Defender link, and for a Sentinel-only incident says where to look instead of a cut link', () => {
    const withDefender = render(seedStep('sms', 'owner-customer')).parts.text as string;
    expect(withDefender).toContain('https://security.microsoft.com/incidents/12345');
    expect(withDefender).not.toContain('?tid=');
    const sms = outboxBody(
      buildSmsPayload({
        step: seedStep('sms', 'status-closed', { incident: { ...sentinelOnly, status: 'Closed', classification: 'BenignPositive' } }),
        receiverName: 'soc-sms',
        receiver: receiverSchema.parse({ kind: 'sms', to: ['+14255550123'] }) as ReceiverOf<'sms'>,
        rendered: render(seedStep('sms', 'status-closed', { incident: { ...sentinelOnly, status: 'Closed', classification: 'BenignPositive' } })),
        operation: 'send',
        ticket: null,
      }),
    );
    expect(sms).not.toMatch(/https?:/);
    expect(sms).toContain('Open it in Microsoft Sentinel.');
    expect(smsSegments(sms)).toBe(1);
  });
});

describe('exclusions', () => {
  it('lists one machine once when the merged view names it by host and by FQDN', () => {
    const step = seedStep('email', 'owner-customer', { guidanceOnly: true, exclusionMatches: ['device:SRV-DC01.contoso.com (SRV-DC01)', 'device:SRV-DC01', 'user:breakglass-1@contoso.com (breakglass-*@contoso.com)'] });
    const text = render(step).parts.text as string;
    expect(text.match(/device:/g)).toHaveLength(1);
    expect(text).toContain('device:SRV-DC01.contoso.com (SRV-DC01), user:breakglass-1@contoso.com');
    expect(templateContext(step, { receiverName: 'e', ticket: null }).exclusionMatches).toHaveLength(2);
  });
});

// ---------------------------------------------------------------------------------------------
// the SMS budget, over a real day and hostile incidents

const SMS_RECEIVER = receiverSchema.parse({ kind: 'sms', to: ['+14255550123'] }) as ReceiverOf<'sms'>;

function smsBody(step: DeliveryStep): string {
  return outboxBody(buildSmsPayload({ step, receiverName: 'soc-sms', receiver: SMS_RECEIVER, rendered: render(step), operation: 'send', ticket: null }));
}

/** every link to the incident in the text is whole (a title that is a URL is the attacker's text, cut like any title) */
function expectWholeLinks(body: string, incident: Incident): void {
  const ctx = templateContext(seedStep('sms', 'owner-customer', { incident }), { receiverName: 's', ticket: null });
  const allowed = [ctx.shortUrl, incident.links.defender, incident.links.sentinel].filter(Boolean);
  for (const url of body.match(/https:\/\/(security\.microsoft\.com|portal\.azure\.com)\S*/g) ?? []) expect(allowed).toContain(url);
}

const MOMENT_CHANGES: Change[][] = [
  [{ kind: 'owner', from: null, to: 'Defender Experts', id: '1' }, { kind: 'status', from: 'New', to: 'Active', id: '2' }],
  HANDBACK,
  [...HANDBACK, { kind: 'status', from: 'New', to: 'Active', id: '3' }],
  [{ kind: 'status', from: 'Active', to: 'Closed', id: '4' }],
  [{ kind: 'owner', from: 'Defender Experts', to: 'Customer', id: '5' }, { kind: 'status', from: 'Active', to: 'Closed', id: '6' }],
];

const sampleIncidents = readFileSync(join(TEMPLATES_DIR, '..', '..', 'samples', 'defender-experts-day.jsonl'), 'utf8')
  .split('\n')
  .filter((l) => l.trim() !== '')
  .map((l) => parseEvent(JSON.parse(l)).incident);

describe('the shipped SMS', () => {
  it('fits one segment for every incident of the sample day with one or two changes, two with three or manual action', () => {
    expect(sampleIncidents.length).toBeGreaterThan(10);
    for (const incident of sampleIncidents) {
      for (const changes of MOMENT_CHANGES) {
        const body = smsBody(seedStep('sms', 'owner-customer', { incident, changes }));
        expect(smsEncoding(body), body).toBe('GSM-7');
        expect(smsSegments(body), body).toBeLessThanOrEqual(changes.length <= 2 ? 1 : 2);
        expectWholeLinks(body, incident);
        const guided = smsBody(seedStep('sms', 'owner-customer', { incident, changes, guidanceOnly: true, exclusionMatches: ['device:SRV-DC01'] }));
        expect(smsSegments(guided), guided).toBeLessThanOrEqual(2);
        expect(guided).toMatch(/^MANUAL ACTION REQUIRED/);
        expectWholeLinks(guided, incident);
      }
    }
  });

  it('stays within two segments for hostile incidents, with every change still named or counted', () => {
    const long = 'A'.repeat(5000);
    const hostile: Incident[] = [
      makeIncident({ title: long, description: long }),
      makeIncident({ title: '€€€€ [[[ ]]] {{{ }}} ~~~ ^^^ |||| \\\\\\ €€€€ [[[ ]]] {{{ }}}', severity: 'Informational' }),
      makeIncident({ number: null, key: '0b7d0c1e-3104-4c7d-9e10-2b4f6a8c3104', ids: { ...makeIncident().ids, xdrIncidentId: null }, links: { sentinel: makeIncident().links.sentinel, defender: null } }),
      makeIncident({ status: 'Closed', classification: 'SomeFutureClassificationMicrosoftAddsLater'.repeat(3) }),
      makeIncident({ title: 'https://evil.example/' + 'x'.repeat(300) }),
    ];
    const tag = (n: number) => 'Tag '.repeat(60) + n;
    const many: Change[] = [
      { kind: 'tag-added', from: null, to: tag(1), id: 't1' },
      { kind: 'tag-added', from: null, to: tag(2), id: 't2' },
      { kind: 'owner', from: 'Defender Experts', to: 'Somebody With A Very Long Display Name '.repeat(5), id: 'o' },
      { kind: 'status', from: 'Active', to: 'Closed', id: 's' },
      { kind: 'severity', from: 'Low', to: 'Informational', id: 'v' },
      { kind: 'classification', from: null, to: 'InformationalExpectedActivity', id: 'c' },
      { kind: 'determination', from: null, to: 'lineOfBusinessApplication', id: 'd' },
    ];
    for (const incident of hostile) {
      for (const changes of [...MOMENT_CHANGES, many]) {
        for (const guidanceOnly of [false, true]) {
          const step = seedStep('sms', 'status-closed', { incident, changes, guidanceOnly, exclusionMatches: guidanceOnly ? ['device:X'] : [] });
          const body = smsBody(step);
          expect(smsSegments(body), body).toBeLessThanOrEqual(2);
          expectWholeLinks(body, incident);
          if (changes === many) expect(body).toMatch(/and 4 more/);
        }
      }
    }
  });

  it('a title GSM-7 cannot spell goes as UCS-2, still in 2 segments at most, the link whole', () => {
    const incident = makeIncident({ title: 'Подозрительная активность на контроллере домена '.repeat(5) });
    const body = smsBody(seedStep('sms', 'awaiting-customer-action', { incident, changes: HANDBACK, guidanceOnly: true, exclusionMatches: ['device:X'] }));
    expect(smsEncoding(body)).toBe('UCS-2');
    expect(smsSegments(body)).toBeLessThanOrEqual(2);
    expect(body).toContain('https://security.microsoft.com/incidents/12345');
  });
});

describe('every kind renders for the sample day', () => {
  it('no message of any kind shows a raw classification or "(+N more)" without naming the others', () => {
    for (const incident of sampleIncidents) {
      for (const kind of RECEIVER_KINDS as readonly ReceiverKind[]) {
        const r = render(seedStep(kind, 'awaiting-customer-action', { incident, changes: HANDBACK }));
        const text = allText(r);
        expect(text).not.toMatch(/BenignPositive|FalsePositive|TruePositive|notMalicious/);
        if (kind !== 'sms') expect(text).toMatch(/[Oo]wner changed from Defender Experts to Customer/);
      }
    }
  });
});
