/**
 * The escaping corpus: hostile strings in the title, description, device, user, alert and tag
 * fields, through every channel's template and payload builder. Each channel's markup must come out
 * exactly as it does for harmless text: no element, link, mention, header, mark or TwiML verb made
 * by the incident, and every target's length limit held.
 */
import { describe, expect, it } from 'vitest';
import { RECEIVER_KINDS, receiverSchema, type ReceiverConfig, type ReceiverKind } from '../../functions/config/schema.js';
import { operationsFor, type PayloadBuilder } from '../../functions/connectors/types.js';
import { outboxBody } from '../../functions/connectors/request.js';
import { buildAzuredevopsPayload } from '../../functions/connectors/azuredevops/payload.js';
import { buildEmailPayload } from '../../functions/connectors/email/payload.js';
import { buildFreshservicePayload } from '../../functions/connectors/freshservice/payload.js';
import { buildPagerdutyPayload } from '../../functions/connectors/pagerduty/payload.js';
import { buildServicenowPayload } from '../../functions/connectors/servicenow/payload.js';
import { buildSlackPayload } from '../../functions/connectors/slack/payload.js';
import { buildSmsPayload } from '../../functions/connectors/sms/payload.js';
import { buildVoicePayload } from '../../functions/connectors/voice/payload.js';
import { buildZendeskPayload } from '../../functions/connectors/zendesk/payload.js';
import { compileTemplates, renderStep } from '../../functions/render/engine.js';
import { smsSegments } from '../../functions/render/sms.js';
import type { RenderedMessage } from '../../functions/render/types.js';
import { makeIncident } from '../fixtures/incident.js';
import { htmlTagShapes, parseXml, strayAngleBrackets, xmlShape } from './markup.js';
import { loadShippedTemplates, seedStep } from './shipped.js';
import { HOSTILE } from '../fixtures/hostile.js';

const BUILDERS: Partial<Record<ReceiverKind, PayloadBuilder<any>>> = {
  slack: buildSlackPayload,
  email: buildEmailPayload,
  sms: buildSmsPayload,
  voice: buildVoicePayload,
  servicenow: buildServicenowPayload,
  azuredevops: buildAzuredevopsPayload,
  zendesk: buildZendeskPayload,
  freshservice: buildFreshservicePayload,
  pagerduty: buildPagerdutyPayload,
};

const RECEIVERS: Record<ReceiverKind, ReceiverConfig> = Object.fromEntries(
  Object.entries({
    teams: { kind: 'teams' },
    slack: { kind: 'slack', channel: 'C0123456789' },
    email: { kind: 'email', to: ['soc@contoso.example'], from: 'sentinel-kit@contoso.example' },
    sms: { kind: 'sms', to: ['+14255550123'] },
    voice: { kind: 'voice', to: ['+14255550123'] },
    jira: { kind: 'jira', project: 'SOC' },
    servicenow: { kind: 'servicenow' },
    azuredevops: { kind: 'azuredevops', project: 'SecOps' },
    zendesk: { kind: 'zendesk' },
    freshservice: { kind: 'freshservice', requesterEmail: 'soc@contoso.example' },
    pagerduty: { kind: 'pagerduty' },
  }).map(([k, v]) => [k, receiverSchema.parse(v)]),
) as Record<ReceiverKind, ReceiverConfig>;

const set = compileTemplates(loadShippedTemplates());

interface Delivery {
  rendered: RenderedMessage;
  payloads: Array<{ operation: string; body: string; truncated: string[] }>;
}

function deliver(kind: ReceiverKind, text: string): Delivery {
  const incident = makeIncident({
    title: text,
    description: text,
    classificationComment: text,
    devices: [{ name: text, id: null }, { name: 'WS-FIN-042', id: null }],
    users: [{ name: text, userPrincipalName: null, objectId: null }],
    alerts: { count: 1, titles: [text], products: [], tactics: [] },
    tags: [text],
  });
  const step = seedStep(kind, 'owner-customer', { incident, guidanceOnly: true, exclusionMatches: [`device:${text}`] });
  const rendered = renderStep(set, step, { receiverName: `soc-${kind}`, ticket: null, exclusionReason: 'Tier 0' });
  const builder = BUILDERS[kind];
  const operations = kind === 'teams' || kind === 'jira' ? [] : step.stepType === 'ticket' ? (['create', 'update', 'resolve'] as const) : operationsFor(step, null);
  const payloads = builder
    ? operations.map((operation) => {
        const request = builder({ step, receiverName: `soc-${kind}`, receiver: RECEIVERS[kind], rendered, operation, ticket: null });
        return { operation, body: outboxBody(request), truncated: request.truncated };
      })
    : [];
  return { rendered, payloads };
}

const strings = (v: unknown, key = '', out: Array<{ key: string; value: string; parent: Record<string, unknown> | null }> = [], parent: Record<string, unknown> | null = null) => {
  if (typeof v === 'string') out.push({ key, value: v, parent });
  else if (Array.isArray(v)) v.forEach((x) => strings(x, key, out, parent));
  else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) strings(x, k, out, v as Record<string, unknown>);
  return out;
};

/** node types, mark types and link targets of an ADF document: everything but the text */
function adfShape(doc: unknown): { nodes: Set<string>; marks: Set<string>; hrefs: Set<string> } {
  const shape = { nodes: new Set<string>(), marks: new Set<string>(), hrefs: new Set<string>() };
  const visit = (n: unknown) => {
    if (Array.isArray(n)) return n.forEach(visit);
    if (!n || typeof n !== 'object') return;
    const node = n as Record<string, any>;
    if (typeof node.type === 'string') shape.nodes.add(node.type);
    for (const m of node.marks ?? []) {
      shape.marks.add(m.type);
      if (m.attrs?.href) shape.hrefs.add(m.attrs.href);
    }
    visit(node.content);
  };
  visit(doc);
  return shape;
}

function headerBlock(eml: string): string {
  return eml.slice(0, eml.indexOf('\r\n\r\n'));
}

function headerNames(eml: string): string[] {
  return headerBlock(eml)
    .split('\r\n')
    .filter((l) => !/^[ \t]/.test(l))
    .map((l) => l.slice(0, l.indexOf(':')).toLowerCase());
}

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F\u202A-\u202E\u2066-\u2069\uE000\uE001]/;
const CODE_TAG = /\[\s*\/?\s*code\s*\]/i;

const baseline = Object.fromEntries(RECEIVER_KINDS.map((k) => [k, deliver(k, 'Harmless incident text')])) as Record<ReceiverKind, Delivery>;

describe('escaping corpus', () => {
  it('has at least 30 hostile strings', () => {
    expect(HOSTILE.length).toBeGreaterThanOrEqual(30);
  });

  HOSTILE.forEach((text, i) => {
    const label = `#${i} ${JSON.stringify(text.slice(0, 40))}`;

    it(`${label}: HTML parts keep the template's tags only (email, Azure DevOps, Zendesk, Freshservice)`, () => {
      const htmlParts: Array<[ReceiverKind, string[]]> = [
        ['email', ['html']],
        ['azuredevops', ['description', 'comment']],
        ['zendesk', ['body', 'comment']],
        ['freshservice', ['description', 'note']],
      ];
      for (const [kind, parts] of htmlParts) {
        const d = deliver(kind, text);
        for (const part of parts) {
          const html = d.rendered.parts[part] as string;
          expect(strayAngleBrackets(html), `${kind}.${part}`).toBe(0);
          // <br> is the kit's own rendering of a line break in incident text (the br helper)
          const shapes = (h: string) => htmlTagShapes(h).filter((t) => t !== 'br');
          expect(shapes(html), `${kind}.${part}`).toEqual(shapes(baseline[kind].rendered.parts[part] as string));
          expect(html).not.toMatch(/<script|<img|<svg|<a href="https:\/\/evil|=\s*["']?\s*javascript:/i);
        }
        if (kind !== 'email') for (const p of d.payloads) expect(() => JSON.parse(p.body)).not.toThrow();
      }
    });

    it(`${label}: email headers cannot be added to, lines stay within 998`, () => {
      const d = deliver('email', text);
      const eml = d.payloads[0]!.body;
      expect(headerNames(eml)).toEqual(headerNames(baseline.email.payloads[0]!.body));
      expect(headerBlock(eml).replace(/\r\n/g, '')).not.toMatch(/[\r\n]/);
      for (const line of eml.split('\r\n')) expect(line.length).toBeLessThanOrEqual(998);
      expect(eml.replace(/\r\n/g, '')).not.toMatch(/[\r\n]/);
      expect(d.rendered.parts.subject).not.toMatch(/[\r\n]/);
      expect(d.rendered.parts.text).not.toMatch(CONTROL);
    });

    it(`${label}: Teams card has no markdown link, emphasis or card function from the incident`, () => {
      const card = deliver('teams', text).rendered.parts.card;
      const types = (c: unknown) => strings(c).filter((s) => s.key === 'type').map((s) => s.value);
      expect(types(card)).toEqual(types(baseline.teams.rendered.parts.card));
      for (const s of strings(card)) {
        expect(s.value).not.toMatch(/\{\{|\}\}/);
        expect(s.value).not.toMatch(CONTROL);
        const literal = (s.parent?.type === 'TextRun' && s.key === 'text') || s.key === 'type' || s.key === 'url';
        if (!literal) {
          expect(s.value).not.toMatch(/\[[^\]]*\]\s*\(/);
          expect(s.value).not.toMatch(/[*_~`]/);
        }
      }
      const urls = strings(card).filter((s) => s.key === 'url').map((s) => s.value);
      expect(urls).toEqual([baseline.teams.rendered.parts.card && makeIncident().links.defender]);
    });

    it(`${label}: Slack text has no unescaped < > & and stays within Block Kit limits`, () => {
      const d = deliver('slack', text);
      const body = JSON.parse(d.payloads[0]!.body) as { text: string; blocks: Array<Record<string, any>> };
      for (const s of strings(body)) {
        if (s.key === 'url') continue;
        expect(s.value).not.toMatch(/[<>]/);
        expect(s.value.replace(/&(amp|lt|gt);/g, '')).not.toContain('&');
      }
      expect(body.blocks.length).toBeLessThanOrEqual(50);
      for (const b of body.blocks) {
        if (b.type === 'header') expect(b.text.text.length).toBeLessThanOrEqual(150);
        if (b.type === 'section' && b.text) expect(b.text.text.length).toBeLessThanOrEqual(3000);
        if (b.type === 'section' && b.text) expect(b.text.text.trim()).not.toBe('');
      }
      const urls = strings(body).filter((s) => s.key === 'url').map((s) => s.value);
      expect(urls).toEqual([makeIncident().links.defender]);
    });

    it(`${label}: TwiML keeps exactly the template's element tree`, () => {
      const d = deliver('voice', text);
      for (const xml of [d.rendered.parts.twiml as string, d.payloads[0]!.body]) {
        const tree = parseXml(xml);
        expect(xmlShape(tree)).toBe('Response(Say,Pause,Say)');
        expect(tree.children.map((c) => c.attributes)).toEqual(parseXml(baseline.voice.payloads[0]!.body).children.map((c) => c.attributes));
      }
      expect(d.payloads[0]!.body.length).toBeLessThanOrEqual(4000);
    });

    it(`${label}: SMS stays within 2 segments (the default budget) and 1600 characters, no control characters`, () => {
      const body = deliver('sms', text).payloads[0]!.body;
      expect(body.length).toBeGreaterThan(0);
      expect(body.length).toBeLessThanOrEqual(1600);
      expect(smsSegments(body)).toBeLessThanOrEqual(2);
      expect(body).not.toMatch(CONTROL);
    });

    it(`${label}: Jira ADF gains no node, mark, link or mention from the incident`, () => {
      const d = deliver('jira', text);
      for (const part of ['description', 'comment']) {
        const shape = adfShape(d.rendered.parts[part]);
        const base = adfShape(baseline.jira.rendered.parts[part]);
        expect([...shape.nodes].every((n) => base.nodes.has(n)), `${part} nodes ${[...shape.nodes]}`).toBe(true);
        expect([...shape.marks].every((m) => base.marks.has(m))).toBe(true);
        expect([...shape.hrefs]).toEqual([...base.hrefs]);
        expect(shape.nodes.has('mention')).toBe(false);
      }
      expect(d.rendered.parts.summary).not.toMatch(/[\r\n]/);
    });

    it(`${label}: ServiceNow never carries a [code] tag and fits its limits`, () => {
      const d = deliver('servicenow', text);
      for (const v of Object.values(d.rendered.parts)) expect(v as string).not.toMatch(CODE_TAG);
      for (const p of d.payloads) {
        const body = JSON.parse(p.body) as Record<string, string>;
        for (const v of Object.values(body)) expect(String(v)).not.toMatch(CODE_TAG);
        if (body.short_description !== undefined) {
          expect(body.short_description.length).toBeLessThanOrEqual(160);
          expect(body.short_description).not.toMatch(/[\r\n]/);
        }
        for (const f of ['description', 'work_notes']) if (body[f] !== undefined) expect(body[f]!.length).toBeLessThanOrEqual(32_000);
      }
    });

    it(`${label}: ticket titles, subjects and summaries fit their targets on one line`, () => {
      const limits: Array<[ReceiverKind, (b: any) => string | undefined, number]> = [
        ['azuredevops', (b) => b.find?.((op: any) => op.path === '/fields/System.Title')?.value, 255],
        ['zendesk', (b) => b.ticket?.subject, 255],
        ['freshservice', (b) => b.subject, 255],
        ['pagerduty', (b) => b.payload?.summary, 1024],
      ];
      for (const [kind, pick, max] of limits) {
        const d = deliver(kind, text);
        const create = JSON.parse(d.payloads.find((p) => p.operation === 'create')!.body);
        const value = pick(create);
        expect(value, kind).toBeTypeOf('string');
        expect(value!.length, kind).toBeLessThanOrEqual(max);
        expect(value, kind).not.toMatch(/[\r\n]/);
      }
      const ado = JSON.parse(deliver('azuredevops', text).payloads[0]!.body) as Array<{ path: string; value: unknown }>;
      for (const tag of String(ado.find((o) => o.path === '/fields/System.Tags')!.value).split('; ')) expect(tag.length).toBeLessThanOrEqual(400);
      const pd = deliver('pagerduty', text).payloads[0]!.body;
      expect(Buffer.byteLength(pd)).toBeLessThanOrEqual(512 * 1024);
      expect(JSON.parse(pd).dedup_key.length).toBeLessThanOrEqual(255);
    });
  });
});
