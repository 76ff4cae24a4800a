import { afterEach, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { buildTeamsPayload, TEAMS_MAX_BYTES } from '../../functions/connectors/teams/payload.js';
import { createTeamsConnector } from '../../functions/connectors/teams/teams.js';
import { outboxBody } from '../../functions/connectors/request.js';
import type { ReceiverOf } from '../../functions/config/schema.js';
import { KitError } from '../../functions/core/errors.js';
import type { Incident } from '../../functions/core/model.js';
import type { RenderedMessage } from '../../functions/render/types.js';
import { makeIncident, makeStep } from '../fixtures/incident.js';
import { renderedTeams, teamsCard } from '../fixtures/rendered.js';
import { createFakeTeams, rateLimited, startFakeServer, type FakeServer } from '../helpers/fake-server.js';

const receiver: ReceiverOf<'teams'> = { kind: 'teams', webhookUrl: 'env:SOC_TEAMS_WEBHOOK' };

function build(rendered: RenderedMessage, incident: Incident = makeIncident()) {
  return buildTeamsPayload({ step: makeStep({ incident }), receiverName: 'soc-teams', receiver, rendered, operation: 'send', ticket: null });
}

type Card = { version: string; body: Array<Record<string, unknown>>; actions?: Array<Record<string, unknown>> };
function cardOf(body: string): Card {
  const envelope = JSON.parse(body) as { attachments: Array<{ content: Card }> };
  return envelope.attachments[0]!.content;
}
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const openUrls = (card: Card) => (card.actions ?? []).filter((a) => a.type === 'Action.OpenUrl');

describe('buildTeamsPayload', () => {
  it('wraps the card in the Workflows message envelope', () => {
    const incident = makeIncident();
    const payload = build(renderedTeams(incident), incident);
    expect(payload.format).toBe('teams.json');
    expect(payload.contentType).toBe('application/json');
    expect(payload.truncated).toEqual([]);
    const envelope = JSON.parse(outboxBody(payload)) as Record<string, unknown>;
    expect(envelope).toMatchObject({
      type: 'message',
      attachments: [{ contentType: 'application/vnd.microsoft.card.adaptive', contentUrl: null, content: { type: 'AdaptiveCard', version: '1.5' } }],
    });
    expect((envelope.attachments as unknown[]).length).toBe(1);
  });

  it('downgrades a 1.6 card to 1.5, fills in a missing version, and refuses a version Teams cannot know', () => {
    const incident = makeIncident();
    expect(cardOf(outboxBody(build(renderedTeams(incident, teamsCard(incident, { version: '1.6' }))))).version).toBe('1.5');
    expect(cardOf(outboxBody(build(renderedTeams(incident, teamsCard(incident, { version: '1.2' }))))).version).toBe('1.2');
    const noVersion = teamsCard(incident);
    delete noVersion.version;
    expect(cardOf(outboxBody(build(renderedTeams(incident, noVersion)))).version).toBe('1.5');
    expect(() => build(renderedTeams(incident, teamsCard(incident, { version: '2.0' })))).toThrow(KitError);
  });

  it('adds exactly one Action.OpenUrl to the Defender incident page, first, and keeps other links', () => {
    const incident = makeIncident();
    const card = cardOf(outboxBody(build(renderedTeams(incident))));
    const links = openUrls(card);
    expect(links.filter((a) => a.url === incident.links.defender)).toHaveLength(1);
    expect(card.actions?.[0]).toMatchObject({ type: 'Action.OpenUrl', url: incident.links.defender });
    expect(links.some((a) => String(a.url).startsWith('https://learn.microsoft.com/'))).toBe(true);
  });

  it("keeps the template's own incident action (and its title) instead of adding a second one", () => {
    const incident = makeIncident();
    const card = teamsCard(incident);
    card.actions = [
      { type: 'Action.OpenUrl', title: 'Investigate now', url: incident.links.defender },
      { type: 'Action.OpenUrl', title: 'Also Sentinel', url: incident.links.sentinel },
    ];
    const out = cardOf(outboxBody(build(renderedTeams(incident, card))));
    const toIncident = openUrls(out).filter((a) => a.url === incident.links.defender || a.url === incident.links.sentinel);
    expect(toIncident).toEqual([{ type: 'Action.OpenUrl', title: 'Investigate now', url: incident.links.defender }]);
  });

  it('falls back to the Sentinel link when there is no Defender link', () => {
    const incident = makeIncident({ links: { defender: null, sentinel: makeIncident().links.sentinel } });
    const out = cardOf(outboxBody(build(renderedTeams(incident), incident)));
    expect(out.actions?.[0]).toMatchObject({ url: incident.links.sentinel, title: 'Open incident in Microsoft Sentinel' });
  });

  it('drops OpenUrl actions that are not absolute https, anywhere in the card', () => {
    const incident = makeIncident();
    const card = teamsCard(incident);
    card.actions = [{ type: 'Action.OpenUrl', title: 'x', url: 'javascript:alert(1)' }];
    (card.body as unknown[]).push(
      { type: 'ActionSet', actions: [{ type: 'Action.OpenUrl', title: 'plain', url: 'http://evil.example' }] },
      { type: 'Container', items: [], selectAction: { type: 'Action.OpenUrl', url: '/relative' } },
    );
    const body = outboxBody(build(renderedTeams(incident, card)));
    expect(body).not.toContain('javascript:');
    expect(body).not.toContain('http://evil.example');
    expect(body).not.toContain('/relative');
    expect(openUrls(cardOf(body))).toHaveLength(1);
  });

  it('does not change the rendered card it was given', () => {
    const incident = makeIncident();
    const card = teamsCard(incident, { version: '1.6' });
    const before = JSON.stringify(card);
    build(renderedTeams(incident, card));
    expect(JSON.stringify(card)).toBe(before);
  });

  it('refuses a card part that is not an AdaptiveCard', () => {
    const err = (() => {
      try {
        build({ kind: 'teams', template: 'incident-change', parts: { card: 'text' } });
      } catch (e) {
        return e as KitError;
      }
      return undefined;
    })();
    expect(err?.kind).toBe('template');
  });

  it('cuts the longest rich texts to fit 28 KB and lists what was cut', () => {
    const incident = makeIncident({ description: 'Raspberry Robin worm spread. '.repeat(4000) });
    const payload = build(renderedTeams(incident), incident);
    expect(Buffer.byteLength(outboxBody(payload))).toBeLessThanOrEqual(TEAMS_MAX_BYTES);
    expect(payload.truncated).toEqual(['card.body[2].inlines[0].text']);
    const card = cardOf(outboxBody(payload));
    const runs = card.body[2]!.inlines as Array<{ text: string }>;
    expect(runs[0]!.text.endsWith('…')).toBe(true);
    expect((card.body[1]!.inlines as Array<{ text: string }>)[0]!.text).toBe(incident.title);
  });

  it('drops facts when cutting texts is not enough', () => {
    const incident = makeIncident();
    const facts = Array.from({ length: 600 }, (_, i) => ({ title: `Device ${i}`, value: `WS-FIN-${String(i).padStart(4, '0')} (onboarded)` }));
    const payload = build(renderedTeams(incident, teamsCard(incident, { facts })), incident);
    expect(Buffer.byteLength(outboxBody(payload))).toBeLessThanOrEqual(TEAMS_MAX_BYTES);
    expect(payload.truncated).toContain('card.body[3].facts');
    const kept = cardOf(outboxBody(payload)).body[3]!.facts as unknown[];
    expect(kept.length).toBeGreaterThan(0);
    expect(kept.length).toBeLessThan(600);
  });

  it('always fits and never splits a character, whatever the text sizes', () => {
    const text = fc.string({ unit: fc.constantFrom('a', 'é', '中', '😀', '"', '\\', '\n'), maxLength: 20_000 });
    fc.assert(
      fc.property(text, text, fc.integer({ min: 0, max: 400 }), (title, description, factCount) => {
        const incident = makeIncident({ title, description });
        const facts = Array.from({ length: factCount }, (_, i) => ({ title: `k${i}`, value: 'v'.repeat(40) }));
        const payload = build(renderedTeams(incident, teamsCard(incident, { facts })), incident);
        const card = cardOf(outboxBody(payload));
        const runs = card.body.flatMap((b) => (Array.isArray(b.inlines) ? (b.inlines as Array<{ text: string }>) : []));
        return Buffer.byteLength(outboxBody(payload)) <= TEAMS_MAX_BYTES && runs.every((r) => !LONE_SURROGATE.test(r.text));
      }),
      { numRuns: 40 },
    );
  });
});

describe('Teams connector against a fake Workflows endpoint', () => {
  const servers: FakeServer[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.close()));
  });

  async function setup(options: Parameters<typeof createFakeTeams>[0] = { sig: 'c2lnLXZhbHVlLWZvci10ZXN0cw' }) {
    const teams = createFakeTeams(options);
    const server = await startFakeServer(teams.handler);
    servers.push(server);
    const url = `${server.url}${teams.path}?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=${options.sig ?? ''}`;
    const connector = createTeamsConnector({ receiverName: 'soc-teams', receiver, env: { SOC_TEAMS_WEBHOOK: url }, fetchTimeoutMs: 5000 });
    return { teams, server, connector };
  }

  const step = makeStep();
  const request = (rendered: RenderedMessage = renderedTeams(step.incident)) => ({
    step,
    receiverName: 'soc-teams',
    receiver,
    rendered,
    existingTicket: null,
  });

  it('POSTs the envelope as JSON to the webhook URL; 202 means sent', async () => {
    const { teams, server, connector } = await setup();
    const result = await connector.execute(request());
    expect(result).toEqual({ action: 'sent', ticket: null, outbox: null });
    expect(server.requests).toHaveLength(1);
    const req = server.requests[0]!;
    expect(req.method).toBe('POST');
    expect(req.path).toBe(teams.path);
    expect(req.headers['content-type']).toBe('application/json');
    expect(teams.messages).toHaveLength(1);
    expect(JSON.parse(req.body)).toEqual(teams.messages[0]);
    // the builder's JSON, serialised once by the client: the same bytes the outbox file would hold
    expect(req.body).toBe(outboxBody(buildTeamsPayload({ ...request(), operation: 'send', ticket: null })));
  });

  it('a 200 is also sent', async () => {
    const { connector } = await setup({ sig: 'abc12345', acceptStatus: 200 });
    await expect(connector.execute(request())).resolves.toMatchObject({ action: 'sent' });
  });

  it('a message the endpoint finds too large is terminal', async () => {
    const { connector } = await setup({ sig: 'abc12345', maxBytes: 1000 });
    await expect(connector.execute(request())).rejects.toMatchObject({ kind: 'terminal', statusCode: 413 });
  });

  it('throttling is rate-limited with the flow\'s Retry-After', async () => {
    const server = await startFakeServer(() => rateLimited(17));
    servers.push(server);
    const connector = createTeamsConnector({ receiverName: 'soc-teams', receiver, env: { SOC_TEAMS_WEBHOOK: `${server.url}/workflows/x/triggers/manual/paths/invoke?sig=abcdefgh` } });
    await expect(connector.execute(request())).rejects.toMatchObject({ kind: 'rate-limited', retryAfterMs: 17_000 });
  });

  it('an unset webhook setting is a config error naming the reference', async () => {
    const connector = createTeamsConnector({ receiverName: 'soc-teams', receiver, env: {} });
    await expect(connector.execute(request())).rejects.toMatchObject({ kind: 'config', message: expect.stringContaining('env:SOC_TEAMS_WEBHOOK') });
  });

  it('a receiver without webhookUrl is a config error (it belongs to the outbox)', async () => {
    const connector = createTeamsConnector({ receiverName: 'soc-teams', receiver: { kind: 'teams' }, env: {} });
    await expect(connector.execute(request())).rejects.toMatchObject({ kind: 'config', message: expect.stringContaining('outbox') });
  });
});
