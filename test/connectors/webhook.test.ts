/**
 * The webhook (SOAR) kind's own behaviour: the incident-change document and its committed JSON Schema,
 * the note a template cannot break, the signature a receiver verifies (and a replay it refuses), the
 * idempotency key that makes a lost answer harmless, the receiver fields, and the hostile-string
 * corpus inert in the document as sent.
 */
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { receiverSchema } from '../../functions/config/schema.js';
import { KitError } from '../../functions/core/errors.js';
import type { DeliveryStep } from '../../functions/core/delivery.js';
import { leadingJsonObject } from '../../functions/connectors/webhook/check.js';
import { incidentChangeDocument, incidentChangeJsonSchema, type IncidentChangeDocument } from '../../functions/connectors/webhook/document.js';
import { buildWebhookPayload } from '../../functions/connectors/webhook/payload.js';
import { webhookPreview } from '../../functions/connectors/webhook/preview.js';
import { webhookReceiver, type WebhookReceiver } from '../../functions/connectors/webhook/schema.js';
import { webhookSignature } from '../../functions/connectors/webhook/signing.js';
import { createWebhookConnector } from '../../functions/connectors/webhook/webhook.js';
import { outboxBody } from '../../functions/connectors/request.js';
import { compileTemplates, renderStep } from '../../functions/render/engine.js';
import type { RenderedMessage } from '../../functions/render/types.js';
import { makeIncident, makeStep } from '../fixtures/incident.js';
import { failTimes, reply, reset, startFakeServer, type FakeServer } from '../helpers/fake-server.js';
import { SEED_MOMENTS, loadShippedTemplates, seedStep } from '../render/shipped.js';
import { createFakeWebhook, verifySpkSignature } from './fakes/webhook.js';

const SECRET = 'spk-example-signing-secret-0123456789abcdef';
const BEARER = 'soar-bearer-token-2a7c9e1b';
const templates = compileTemplates(loadShippedTemplates());
const receiver = (fields: Record<string, unknown> = {}): WebhookReceiver => webhookReceiver.parse({ kind: 'webhook', ...fields });
const KEY = 'a'.repeat(64);

function render(step: DeliveryStep): RenderedMessage {
  return renderStep(templates, step, { receiverName: 'soc-soar', ticket: null, exclusionReason: 'Tier 0' });
}

function build(step: DeliveryStep, rendered: RenderedMessage = render(step), r: WebhookReceiver = receiver()) {
  return buildWebhookPayload({ step, receiverName: 'soc-soar', receiver: r, rendered, operation: 'send', ticket: null });
}

function documentOf(step: DeliveryStep, rendered?: RenderedMessage, r?: WebhookReceiver): IncidentChangeDocument {
  return incidentChangeDocument.parse(JSON.parse(outboxBody(build(step, rendered, r))));
}

const note = (text: unknown): RenderedMessage => ({ kind: 'webhook', template: 'incident-change', parts: { note: text } });

describe('the incident-change document', () => {
  it('schema/incident-change.v1.schema.json is the JSON Schema of the zod document (regenerate it from document.ts)', () => {
    const committed = JSON.parse(readFileSync(new URL('../../schema/incident-change.v1.schema.json', import.meta.url), 'utf8'));
    expect(committed).toEqual(JSON.parse(JSON.stringify(incidentChangeJsonSchema())));
    expect(committed).toMatchObject({ $schema: 'https://json-schema.org/draft/2020-12/schema', additionalProperties: false });
  });

  it('every seed moment, plain and guidance-only, gives a valid document carrying the step as it is', () => {
    for (const moment of SEED_MOMENTS) {
      for (const guidance of [false, true]) {
        const step = seedStep('webhook', moment, guidance ? { guidanceOnly: true, exclusionMatches: ['device:SRV-DC01', 'device:SRV-DC01.contoso.com'] } : {});
        const doc = documentOf(step);
        expect(doc).toMatchObject({ schemaVersion: '1', type: 'sentinel.incident.change', idempotencyKey: step.idempotencyKey, time: step.plannedAt, moment });
        expect(doc.source).toEqual({ name: 'Sentinel Playbook Kit', version: expect.stringMatching(/^\d+\.\d+\.\d+/), receiver: 'soc-soar' });
        expect(doc.changes).toEqual(step.changes.map((c) => ({ ...c, summary: expect.any(String) })));
        expect(doc.manualActionRequired).toBe(guidance);
        // the merged view's two names of one machine are one match, as every other kind says it
        expect(doc.exclusionMatches).toEqual(guidance ? ['device:SRV-DC01'] : []);
        expect(doc.incident).toMatchObject({ key: '12345', number: 3177, severity: 'High', links: { defender: step.incident.links.defender } });
        expect(doc.note).toContain(guidance ? 'MANUAL ACTION REQUIRED' : 'Incident 3177');
        expect(doc.truncated).toEqual([]);
      }
    }
    const closed = documentOf(seedStep('webhook', 'status-closed'));
    expect(closed.incident).toMatchObject({ status: 'Closed', classification: 'TruePositive', determination: 'malware' });
    expect(closed.changes[0]!.summary).toBe('Status changed from Active to Closed');
  });

  it('is valid for the incidents the model allows: nulls, Sentinel-only, odd timestamps, merged playbooks', () => {
    const incident = makeIncident({
      number: null,
      ids: { xdrIncidentId: null, sentinelName: 'n', sentinelArmId: null, tenantId: null, workspaceId: null },
      links: { defender: 'javascript:alert(1)', sentinel: 'https://portal.azure.com/#asset/x' },
      createdAt: '2026-11-26T08:43:35.5530000+01:00',
      updatedAt: 'yesterday',
      owner: { assignedTo: null, userPrincipalName: null, objectId: null, email: null, kind: 'unassigned' },
      severity: 'Unknown',
      status: 'Redirected',
    });
    const doc = documentOf(makeStep({ kind: 'webhook', incident, playbook: 'status-active+owner-customer' }), note(''));
    expect(doc.incident.links).toEqual({ defender: null, sentinel: 'https://portal.azure.com/#asset/x' });
    expect(doc.incident.createdAt).toBe('2026-11-26T07:43:35.553Z');
    expect(doc.incident.updatedAt).toBeNull();
    expect(doc.playbooks).toEqual(['status-active', 'owner-customer']);
    expect(doc.note).toBeNull();
  });

  it('the body is the same bytes on every build of a step (retries send what the first try sent)', () => {
    const step = seedStep('webhook', 'owner-customer');
    expect(outboxBody(build(step))).toBe(outboxBody(build(structuredClone(step))));
  });

  it('cuts long text to the schema and the receiver\'s maxBodyBytes, says what it cut, and keeps every change', () => {
    const incident = makeIncident({
      title: '🔥'.repeat(5_000),
      description: 'Raspberry Robin worm 🪱 '.repeat(20_000),
      tags: Array.from({ length: 500 }, (_, i) => `tag ${i} ${'é'.repeat(900)}`),
      devices: Array.from({ length: 400 }, (_, i) => ({ name: `WS-${i}-${'x'.repeat(700)}`, id: null })),
    });
    const changes = Array.from({ length: 40 }, (_, i) => ({ kind: 'tag-added' as const, from: null, to: `t${i}`, id: `tag-added:t${i}#1` }));
    const step = makeStep({ kind: 'webhook', incident, changes });
    for (const maxBodyBytes of [256 * 1024, 16 * 1024]) {
      const request = build(step, note('Escalate to tier 2. '.repeat(1_000)), receiver({ maxBodyBytes }));
      const body = outboxBody(request);
      expect(Buffer.byteLength(body, 'utf8')).toBeLessThanOrEqual(maxBodyBytes);
      const doc = incidentChangeDocument.parse(JSON.parse(body));
      expect(doc.changes.map((c) => c.id)).toEqual(changes.map((c) => c.id));
      expect(doc.truncated).toEqual(request.truncated);
      expect(doc.truncated).toEqual(expect.arrayContaining(['incident.title', 'incident.description', 'incident.tags', 'incident.devices', 'note']));
      expect(doc.incident.title.endsWith('…')).toBe(true);
    }
  });

  it('refuses what is not a send, a note that is not text, and a key that is not the kit\'s', () => {
    const step = makeStep({ kind: 'webhook' });
    expect(() => buildWebhookPayload({ step, receiverName: 's', receiver: receiver(), rendered: note('x'), operation: 'create', ticket: null })).toThrow(KitError);
    expect(() => build(step, note({ text: 'x' }))).toThrow(/"note" part must be text/);
    expect(() => build(makeStep({ kind: 'webhook', idempotencyKey: 'key\r\nX-Evil: 1' }), note('x'))).toThrow(/sha256/);
  });
});

describe('the request', () => {
  it('POSTs JSON to the URL itself with both idempotency headers and the static headers', () => {
    const r = receiver({ headers: { 'X-Tenant': 'contoso', 'X-Route': 'sentinel high' } });
    const request = build(makeStep({ kind: 'webhook' }), note('n'), r);
    expect(request).toMatchObject({ format: 'webhook.json', method: 'POST', path: '', contentType: 'application/json' });
    expect(request.headers).toEqual({ 'X-Tenant': 'contoso', 'X-Route': 'sentinel high', 'Idempotency-Key': KEY, 'X-SPK-Idempotency-Key': KEY });
  });

  it('static headers cannot replace the kit\'s own headers or start a header of their own', () => {
    for (const name of ['Authorization', 'content-type', 'Idempotency-Key', 'X-SPK-Signature', 'x-spk-timestamp', 'Host', 'User-Agent', 'Bad Name', 'X:Y']) {
      expect(webhookReceiver.safeParse({ kind: 'webhook', headers: { [name]: 'x' } }).success, name).toBe(false);
    }
    for (const value of ['a\r\nX-Evil: 1', 'a\nb', 'ü', 'x'.repeat(1025)]) {
      expect(webhookReceiver.safeParse({ kind: 'webhook', headers: { 'X-Ok': value } }).success, JSON.stringify(value)).toBe(false);
    }
    expect(receiverSchema.safeParse({ kind: 'webhook', url: 'https://soar.example/hook' }).success).toBe(false);
    expect(receiverSchema.safeParse({ kind: 'webhook', url: 'env:SOAR_URL', signingSecret: 'env:SOAR_SECRET', maxBodyBytes: 1000 }).success).toBe(false);
  });
});

describe('signing', () => {
  it('matches the documented test vector (docs/RECEIVERS.md)', () => {
    const body = '{"schemaVersion":"1","type":"sentinel.incident.change"}';
    expect(webhookSignature(SECRET, 1795772160, body)).toBe('v1=55843b88c5197eff57cfe54dfe8ca19bec44edc0d7998ec0244cb528abcc5247');
    expect(verifySpkSignature(body, '1795772160', 'v1=55843b88c5197eff57cfe54dfe8ca19bec44edc0d7998ec0244cb528abcc5247', SECRET, 1795772160_000)).toBe(true);
    // a later scheme next to v1 does not stop a v1 verifier
    expect(verifySpkSignature(body, '1795772160', 'v2=abc, v1=55843b88c5197eff57cfe54dfe8ca19bec44edc0d7998ec0244cb528abcc5247', SECRET, 1795772160_000)).toBe(true);
    expect(verifySpkSignature(`${body} `, '1795772160', webhookSignature(SECRET, 1795772160, body), SECRET, 1795772160_000)).toBe(false);
    expect(verifySpkSignature(body, '1795772160', webhookSignature(SECRET, 1795772160, body), SECRET, (1795772160 + 301) * 1000)).toBe(false);
    expect(verifySpkSignature(body, '1795772161', webhookSignature(SECRET, 1795772160, body), SECRET, 1795772160_000)).toBe(false);
  });
});

describe('createWebhookConnector against the fake receiver', () => {
  let server: FakeServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  async function setup(options: { now?: () => number; bearer?: boolean; handler?: (h: ReturnType<typeof createFakeWebhook>['handler']) => Parameters<typeof startFakeServer>[0] } = {}) {
    let clock = Date.UTC(2026, 10, 27, 9, 36);
    const now = options.now ?? (() => clock);
    const soar = createFakeWebhook({ signingSecret: SECRET, now, ...(options.bearer ? { bearerToken: BEARER } : {}) });
    server = await startFakeServer(options.handler ? options.handler(soar.handler) : soar.handler);
    const env = { SOAR_URL: `${server.url}${soar.path}`, SOAR_SECRET: SECRET, SOAR_TOKEN: BEARER };
    const r = receiver({ url: 'env:SOAR_URL', signingSecret: 'env:SOAR_SECRET', ...(options.bearer ? { bearerToken: 'env:SOAR_TOKEN' } : {}), headers: { 'X-Tenant': 'contoso' } });
    const connector = createWebhookConnector({ receiverName: 'soc-soar', receiver: r, env, now, fetchTimeoutMs: 1_000 });
    const step = seedStep('webhook', 'owner-customer');
    const deliver = (s: DeliveryStep = step) => connector.execute({ step: s, receiverName: 'soc-soar', receiver: r, rendered: render(s), existingTicket: null });
    return { soar, server, deliver, step, tick: (ms: number) => (clock += ms), r, env };
  }

  it('sends the signed document; the fake verifies it as a receiver following the docs would', async () => {
    const { soar, server, deliver, step } = await setup({ bearer: true });
    await expect(deliver()).resolves.toEqual({ action: 'sent', ticket: null, outbox: null });
    expect(soar.rejections).toEqual([]);
    expect(soar.accepted).toHaveLength(1);
    const sent = server.requests[0]!;
    expect(sent.headers['x-spk-timestamp']).toBe(String(Date.UTC(2026, 10, 27, 9, 36) / 1000));
    expect(sent.headers['x-spk-signature']).toBe(webhookSignature(SECRET, Number(sent.headers['x-spk-timestamp']), sent.body));
    expect(sent.headers).toMatchObject({ authorization: `Bearer ${BEARER}`, 'idempotency-key': step.idempotencyKey, 'x-tenant': 'contoso', 'content-type': 'application/json' });
    expect(sent.headers['user-agent']).toMatch(/^sentinel-playbook-kit\//);
    // the bytes sent are the outbox's bytes: what `spk render` shows is what was signed
    expect(sent.body).toBe(outboxBody(build(step)));
  });

  it('without a bearer token there is no Authorization header, and the signature alone proves the sender', async () => {
    const { soar, server, deliver } = await setup();
    await deliver();
    expect(server.requests[0]!.headers.authorization).toBeUndefined();
    expect(soar.accepted).toHaveLength(1);
  });

  it('an answer lost after the receiver acted: the retry carries the same key and body, and the receiver processes it once', async () => {
    const { soar, server, deliver, tick } = await setup({ handler: (h) => failTimes(1, reset(), h, { when: 'after' }) });
    await expect(deliver()).rejects.toMatchObject({ kind: 'retryable' });
    tick(90_000);
    await deliver();
    expect(soar.accepted).toHaveLength(1);
    expect(soar.duplicates).toBe(1);
    const [first, second] = server.requests;
    expect(second!.body).toBe(first!.body);
    expect(second!.headers['idempotency-key']).toBe(first!.headers['idempotency-key']);
    // each attempt is signed afresh, so a retry hours later is still inside the receiver's replay window
    expect(Number(second!.headers['x-spk-timestamp'])).toBe(Number(first!.headers['x-spk-timestamp']) + 90);
    expect(second!.headers['x-spk-signature']).not.toBe(first!.headers['x-spk-signature']);
  });

  it('a receiver refuses a captured request replayed outside its window (401: auth, not retried as transient)', async () => {
    const { soar, server, deliver, tick } = await setup();
    await deliver();
    const captured = server.requests[0]!;
    tick(10 * 60_000);
    const replayed = await fetch(`${server.url}${soar.path}`, {
      method: 'POST',
      headers: Object.fromEntries(Object.entries(captured.headers).filter(([k]) => !['host', 'content-length', 'connection'].includes(k)) as Array<[string, string]>),
      body: captured.body,
    });
    expect(replayed.status).toBe(401);
    expect(soar.accepted).toHaveLength(1);
  });

  it('refuses to send without a signing secret, with a short one, or to a plain-http host', async () => {
    const { env, r } = await setup();
    const request = { step: makeStep({ kind: 'webhook' }), receiverName: 'soc-soar', receiver: r, rendered: note('n'), existingTicket: null };
    const run = (receiverFields: Partial<WebhookReceiver>, e: Record<string, string> = env) =>
      createWebhookConnector({ receiverName: 'soc-soar', receiver: { ...r, ...receiverFields }, env: e }).execute(request);
    await expect(run({ signingSecret: undefined })).rejects.toMatchObject({ kind: 'config', message: expect.stringMatching(/signingSecret is not set/) });
    await expect(run({}, { ...env, SOAR_SECRET: 'short' })).rejects.toMatchObject({ kind: 'config', message: expect.stringMatching(/at least 32 characters/) });
    await expect(run({}, { ...env, SOAR_URL: 'http://soar.example/webhook/x' })).rejects.toMatchObject({ kind: 'config' });
    await expect(run({ url: undefined })).rejects.toMatchObject({ kind: 'config' });
    // the message names the setting, never the value it found
    const weak = 'weak-secret-value';
    const err = (await run({}, { ...env, SOAR_SECRET: weak }).catch((x: unknown) => x)) as KitError;
    expect(err.message).not.toContain(weak);
  });

  it('any 2xx is delivered, whatever its body; a body whose JSON says ok/success false is a terminal refusal', async () => {
    const answers = [reply(200, 'OK', { 'content-type': 'text/plain' }), reply(202), reply(204), reply(200, {}), reply(200, { ok: true }), reply(201, '<html>thanks</html>', { 'content-type': 'text/html' }), reply(200, '{"success":"false"}')];
    let next = 0;
    const refusal = reply(200, { success: false, reason: 'story disabled' });
    const { deliver } = await setup({ handler: () => () => answers[next++] ?? refusal });
    for (let i = 0; i < answers.length; i++) await expect(deliver(), `answer ${i}`).resolves.toMatchObject({ action: 'sent' });
    await expect(deliver()).rejects.toMatchObject({ kind: 'terminal', statusCode: 200, message: expect.stringContaining('"success": false') });
    expect(leadingJsonObject('{"success": false, "reason": "a } in \\"text\\""}\ntrailer')).toEqual({ success: false, reason: 'a } in "text"' });
    expect(leadingJsonObject('[{"ok":false}]')).toBeNull();
    expect(leadingJsonObject('{"ok":false')).toBeNull();
  });
});

/** the escaping corpus of test/render/escaping.test.ts, and what else could break a JSON document or a header */
const HOSTILE: string[] = [
  '<script>alert(1)</script>',
  '"><svg onload=alert(1)>',
  '</td></tr></table><a href="https://evil.example">click</a>',
  '<!channel> <@U0123ABC> <http://evil.example|Open in Defender>',
  '[Open in Defender](https://evil.example/login) **bold** `code`',
  '{{DATE(2017-02-14T06:08:39Z, SHORT)}} ${incident.title} {{incident.title}} {{{x}}} {{> change-headline}}',
  '"}],"marks":[{"type":"link","attrs":{"href":"https://evil.example"}}],"x":[{"a":"',
  '","manualActionRequired":false,"x":"',
  '"}, "note": "forged", "schemaVersion": "2", "z": {"',
  'C:\\Windows\\System32\\ \\" \\\\u0041 \\n',
  'line\u2028separator\u2029paragraph',
  '[code]<script>alert(1)</script>[/code]',
  '</Say><Redirect>https://evil.example/twiml</Redirect><Say>',
  'x\r\nIdempotency-Key: forged\r\nX-SPK-Signature: v1=00\r\n\r\nbody',
  'a\u0000b\u0007c\u001bd\u007fe\u0085f\u000bg\u000ch',
  '\u202Etxt.exe \u2066isolate\u2069 \u200Fmark',
  '🔥😀👩‍💻🇺🇸 #️⃣',
  'A'.repeat(100_000),
  '&<'.repeat(50_000),
  '\uD800 lone \uDFFF surrogates',
  'nonchars \uFFFE\uFFFF',
  'javascript:alert(1)',
  '&amp;&lt;&#x3C;&#60;',
  '\uE000marker\uE001 \uE001',
  'Z̴̡̛a̸l̵g̶o̷ 事件 инцидент',
  '\u0000',
  '__proto__',
];
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F\u200E\u200F\u202A-\u202E\u2066-\u2069\uE000\uE001\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function shape(v: unknown): unknown {
  if (Array.isArray(v)) return v.length === 0 ? [] : ['…', shape(v[0])];
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, shape(x)]));
  return typeof v;
}

function strings(v: unknown, out: string[] = []): string[] {
  if (typeof v === 'string') out.push(v);
  else if (Array.isArray(v)) v.forEach((x) => strings(x, out));
  else if (v && typeof v === 'object') Object.values(v).forEach((x) => strings(x, out));
  return out;
}

describe('hostile incident text is inert in the document as sent', () => {
  const hostileStep = (text: string) =>
    seedStep('webhook', 'owner-customer', {
      incident: makeIncident({
        title: text,
        description: text,
        classificationComment: text,
        provider: text,
        devices: [{ name: text, id: text }],
        users: [{ name: text, userPrincipalName: text, objectId: null }],
        alerts: { count: 1, titles: [text], products: [text], tactics: [text] },
        tags: [text],
        links: { defender: text, sentinel: null },
      }),
      changes: [{ kind: 'tag-added', from: null, to: text, id: 'tag-added:x#1' }],
      guidanceOnly: true,
      exclusionMatches: [`device:${text}`],
    });
  const baseline = build(hostileStep('Harmless incident text'));

  HOSTILE.forEach((text, i) => {
    it(`#${i} ${JSON.stringify(text.slice(0, 40))}`, () => {
      const step = hostileStep(text);
      // a template that writes incident text straight into the note, as a SOC lead might
      const own = compileTemplates([{ path: 'webhook/raw.hbs', source: '{{#*inline "note"}}{{{incident.title}}} "}]{{incident.description}}{{/inline}}' }]);
      for (const rendered of [render(step), renderStep(own, { ...step, template: 'raw' }, { receiverName: 'soc-soar', ticket: null })]) {
        const request = build(step, rendered);
        const body = outboxBody(request);
        const doc = incidentChangeDocument.parse(JSON.parse(body));
        const { truncated, ...fields } = doc;
        const { truncated: _none, ...baseFields } = JSON.parse(outboxBody(baseline)) as IncidentChangeDocument;
        expect(shape(fields), 'the document has the baseline\'s fields, nothing more').toEqual(shape(baseFields));
        for (const t of truncated) expect(t).toMatch(/^(incident\.[a-zA-Z.]+|note|changes|exclusionMatches)$/);
        expect(doc).toMatchObject({ schemaVersion: '1', manualActionRequired: true, idempotencyKey: KEY });
        for (const s of strings(doc)) expect(s).not.toMatch(UNSAFE);
        expect(doc.incident.links.defender).toBeNull();
        expect(request.headers).toEqual(baseline.headers);
        expect(Buffer.byteLength(body)).toBeLessThanOrEqual(256 * 1024);
        const html = webhookPreview({ entry: { path: 'soc-soar/1-1.webhook.json', receiver: 'soc-soar', incidentKey: '1', format: 'webhook.json', body }, document: doc, label: 'Webhook' }).html;
        expect(html).not.toMatch(/<script|<svg|<a href="https:\/\/evil|href="javascript:/i);
      }
    });
  });
});
