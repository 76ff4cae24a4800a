/**
 * The shipped templates: every kind renders for the five seed moments, reads right for each, and
 * says "MANUAL ACTION REQUIRED" (with the matches and the reason) when the step is guidance-only.
 */
import { describe, expect, it } from 'vitest';
import { NOTIFIER_KINDS, RECEIVER_KINDS, TICKET_KINDS, type ReceiverKind } from '../../functions/config/schema.js';
import { compileTemplates, hasTemplate, listTemplates, partsFor, renderStep } from '../../functions/render/engine.js';
import type { RenderedMessage } from '../../functions/render/types.js';
import { parseXml, xmlShape } from './markup.js';
import { SEED_MOMENTS, allText, loadShippedTemplates, seedStep, type SeedMoment } from './shipped.js';

const set = compileTemplates(loadShippedTemplates());
const REASON = 'Tier 0 assets are handled by the identity team';

function render(kind: ReceiverKind, moment: SeedMoment, guidance = false): RenderedMessage {
  const step = seedStep(kind, moment, guidance ? { guidanceOnly: true, exclusionMatches: ['device:SRV-DC01'] } : {});
  return renderStep(set, step, { receiverName: `soc-${kind}`, ticket: null, ...(guidance ? { exclusionReason: REASON } : {}) });
}


/** the parts that carry the message body (titles and summaries are too short for guidance) */
const BODY_PARTS: Record<ReceiverKind, string[]> = {
  teams: ['card'],
  slack: ['message'],
  email: ['html', 'text'],
  sms: ['text'],
  voice: ['twiml'],
  jira: ['description', 'comment'],
  servicenow: ['description', 'work_notes'],
  azuredevops: ['description', 'comment'],
  zendesk: ['body', 'comment'],
  freshservice: ['description', 'note'],
  pagerduty: ['summary'],
  webhook: ['note'],
};

const HEADLINES: Record<SeedMoment, string> = {
  'owner-defender-experts': 'Owner changed to Defender Experts',
  'owner-customer': 'Owner changed from Defender Experts to Customer',
  'status-active': 'Status changed from New to Active',
  'status-closed': 'Status changed from Active to Closed',
  'awaiting-customer-action': 'Tag "Awaiting Customer Action" added',
};

/** an SMS names each change in a few words */
const SMS_HEADLINES: Record<SeedMoment, string> = {
  'owner-defender-experts': 'owner now Defender Experts',
  'owner-customer': 'owner now Customer',
  'status-active': 'status now Active',
  'status-closed': 'status now Closed',
  'awaiting-customer-action': 'tag "Awaiting Customer Action" added',
};

const EXPLAINERS: Record<SeedMoment, RegExp> = {
  'owner-defender-experts': /Defender Experts have taken ownership/,
  'owner-customer': /handed this incident to your team/,
  'status-active': /now Active/,
  'status-closed': /closed as true positive \(malware\)/,
  'awaiting-customer-action': /waiting for your team to act/,
};

describe('shipped templates', () => {
  it('ship incident-change for every notifier kind and ticket for every ticket kind', () => {
    for (const kind of NOTIFIER_KINDS) expect(hasTemplate(set, kind, 'incident-change')).toBe(true);
    for (const kind of TICKET_KINDS) expect(hasTemplate(set, kind, 'ticket')).toBe(true);
    expect(listTemplates(set)).toHaveLength(RECEIVER_KINDS.length);
  });

  for (const kind of RECEIVER_KINDS) {
    describe(kind, () => {
      for (const moment of SEED_MOMENTS) {
        it(`renders every part for ${moment}`, () => {
          const r = render(kind, moment);
          expect(r.kind).toBe(kind);
          for (const spec of partsFor(kind)) {
            const value = r.parts[spec.name];
            if (spec.format === 'json') expect(value).toBeTypeOf('object');
            else {
              expect(value).toBeTypeOf('string');
              expect((value as string).trim()).not.toBe('');
            }
            if (spec.format === 'line') expect(value).not.toMatch(/[\r\n]/);
            if (spec.format === 'xml') expect(xmlShape(parseXml(value as string))).toBe('Response(Say,Pause,Say)');
          }
          const body = allText(r, BODY_PARTS[kind]);
          expect(body).toContain(kind === 'sms' ? SMS_HEADLINES[moment] : HEADLINES[moment]);
          if (!['sms', 'pagerduty'].includes(kind)) expect(body).toMatch(EXPLAINERS[moment]);
          expect(allText(r)).not.toContain('MANUAL ACTION REQUIRED');
        });
      }

      it('says MANUAL ACTION REQUIRED with the matches and the reason when guidance-only', () => {
        const r = render(kind, 'awaiting-customer-action', true);
        const body = allText(r, BODY_PARTS[kind]);
        expect(body).toMatch(/MANUAL ACTION REQUIRED/i);
        if (!['sms', 'voice', 'pagerduty'].includes(kind)) {
          expect(body).toContain('device:SRV-DC01');
          expect(body).toContain(REASON);
        }
      });
    });
  }

  it('Teams card: version 1.5, incident text only in TextRuns, one OpenUrl to the Defender incident', () => {
    const card = render('teams', 'owner-customer').parts.card as Record<string, unknown>;
    expect(card).toMatchObject({ type: 'AdaptiveCard', version: '1.5' });
    const actions = card.actions as Array<Record<string, unknown>>;
    expect(actions).toEqual([{ type: 'Action.OpenUrl', title: 'Open incident in Microsoft Defender', url: seedStep('teams', 'owner-customer').incident.links.defender }]);
    const textBlocks = JSON.stringify(card.body).match(/"type":"TextBlock","text":"[^"]*"/g) ?? [];
    expect(textBlocks).toEqual([]);
    expect(JSON.stringify(card)).toContain('"text":"Multi-stage incident involving Initial access & Lateral movement"');
  });

  it('Slack message: header within 150 characters, title in a plain_text object', () => {
    const msg = render('slack', 'status-closed').parts.message as { text: string; blocks: Array<Record<string, any>> };
    expect(msg.text).toContain('[Sentinel High] Incident 3177');
    const header = msg.blocks.find((b) => b.type === 'header');
    expect(header?.text.text.length).toBeLessThanOrEqual(150);
    expect(msg.blocks.some((b) => b.text?.type === 'plain_text' && b.text.text.includes('Multi-stage incident involving Initial access &amp; Lateral movement'))).toBe(true);
  });

  it('Jira: ADF documents with no empty text node and a link mark only to the incident', () => {
    const r = render('jira', 'owner-customer');
    for (const part of ['description', 'comment']) {
      const doc = r.parts[part] as Record<string, unknown>;
      expect(doc).toMatchObject({ type: 'doc', version: 1 });
      const json = JSON.stringify(doc);
      expect(json).not.toContain('"text":""');
      const hrefs = [...json.matchAll(/"href":"([^"]*)"/g)].map((m) => m[1]);
      expect(hrefs).toEqual([seedStep('jira', 'owner-customer').incident.links.defender]);
    }
  });

  it('email text reads as plain text: facts one per line, links spelled out', () => {
    const text = render('email', 'owner-defender-experts').parts.text as string;
    expect(text).toMatch(/^Incident 3177: Owner changed to Defender Experts\nMulti-stage incident/);
    expect(text).toMatch(/\nSeverity: {2}High\nStatus: {4}Active\nOwner: {5}Defender Experts\n/);
    expect(text).toContain('Microsoft Defender: https://security.microsoft.com/incidents/12345');
    expect(text).not.toMatch(/\n{3,}/);
  });
});
