/**
 * Slack's own behaviour, against the loopback fake: the incident's first message and its thread or
 * edits, the message kept as a TicketRef, lost answers that must not post twice, Slack's `ok:false`
 * codes, Retry-After, the per-channel pacer, and the hostile corpus inert in what Slack stores.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { outboxBody } from '../../functions/connectors/request.js';
import { slackMessageOf, slackTicketRef } from '../../functions/connectors/slack/message-ref.js';
import { createChannelPacer, type ChannelPacer } from '../../functions/connectors/slack/pacer.js';
import {
  buildSlackPayload,
  buildSlackPost,
  buildSlackUpdate,
  SLACK_MAX_BLOCKS_TEXT_CHARS,
  SLACK_MAX_BODY_BYTES,
} from '../../functions/connectors/slack/payload.js';
import type { SlackReceiver } from '../../functions/connectors/slack/schema.js';
import { slackReceiver } from '../../functions/connectors/slack/schema.js';
import { createSlackConnector } from '../../functions/connectors/slack/slack.js';
import type { PayloadInput } from '../../functions/connectors/types.js';
import type { DeliveryStep, TicketRef } from '../../functions/core/delivery.js';
import { KitError } from '../../functions/core/errors.js';
import { compileTemplates, renderStep } from '../../functions/render/engine.js';
import type { RenderedMessage } from '../../functions/render/types.js';
import { makeIncident, makeStep } from '../fixtures/incident.js';
import { loadShippedTemplates, seedStep } from '../render/shipped.js';
import { rateLimited, reply, reset, startFakeServer, type FakeHandler, type FakeResult, type FakeServer } from '../helpers/fake-server.js';
import { createFakeSlack, oversizedSlack, renderedSlack, type FakeSlackOptions } from './fakes/slack.js';

const TOKEN = 'xoxb-1234567890-0987654321-c29tZS1ib3QtdG9rZW4tZm9yLXRlc3Rz';
const CHANNEL = 'C0123456789';
const OTHER = 'C0987654321';
const keyOf = (n: number) => n.toString(16).padStart(64, '0');
const unpaced = (): ChannelPacer => createChannelPacer({ intervalMs: 0 });

const open: FakeServer[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => s.close()));
});

interface Injected {
  method: string;
  result: FakeResult;
  when: 'before' | 'after';
}

/** a fake Slack on loopback; `inject` fails the next call of a method, before or after the fake acted */
async function slackApi(options: Partial<FakeSlackOptions> = {}, receiverExtra: Partial<SlackReceiver> = {}) {
  const slack = createFakeSlack({ botToken: TOKEN, channels: [CHANNEL, OTHER], ...options });
  const injected: Injected[] = [];
  const handler: FakeHandler = async (req, params) => {
    const i = injected.findIndex((x) => req.path === `/api/${x.method}` || (x.method === 'webhook' && req.path.startsWith('/services/')));
    if (i < 0) return slack.handler(req, params);
    const [x] = injected.splice(i, 1);
    if (x!.when === 'after') await slack.handler(req, params);
    return x!.result;
  };
  const server = await startFakeServer(handler);
  open.push(server);
  const receiver: SlackReceiver = { kind: 'slack', botToken: 'env:SLACK_BOT_TOKEN', channel: CHANNEL, apiUrl: `${server.url}/api`, ...receiverExtra };
  const env = { SLACK_BOT_TOKEN: TOKEN, SLACK_WEBHOOK: `${server.url}${slack.webhookPath}` };
  const connector = (pacer: ChannelPacer = unpaced(), r: SlackReceiver = receiver) =>
    createSlackConnector({ receiverName: 'soc-slack', receiver: r, env, fetchTimeoutMs: 500, pacer });
  const step = (n: number, over: Partial<DeliveryStep> = {}) => makeStep({ kind: 'slack', receiver: 'soc-slack', idempotencyKey: keyOf(n), ...over });
  const deliver = (s: DeliveryStep, existingTicket: TicketRef | null, opts: { attempt?: number; rendered?: RenderedMessage; pacer?: ChannelPacer; receiver?: SlackReceiver } = {}) =>
    connector(opts.pacer, opts.receiver).execute({
      step: s,
      receiverName: 'soc-slack',
      receiver: opts.receiver ?? receiver,
      rendered: opts.rendered ?? renderedSlack(s.incident, `moment ${s.idempotencyKey.slice(-2)}`),
      existingTicket,
      attempt: opts.attempt ?? 1,
    });
  const inject = (method: string, result: FakeResult, when: 'before' | 'after' = 'before') => void injected.push({ method, result, when });
  return { slack, server, receiver, env, connector, step, deliver, inject };
}

const failure = (p: Promise<unknown>) =>
  p.then(
    () => {
      throw new Error('expected the delivery to fail');
    },
    (e: unknown) => e as KitError,
  );

function payloadInput(receiver: SlackReceiver, over: Partial<PayloadInput<SlackReceiver>> = {}): PayloadInput<SlackReceiver> {
  const step = makeStep({ kind: 'slack', receiver: 'soc-slack' });
  return { step, receiverName: 'soc-slack', receiver, rendered: renderedSlack(step.incident), operation: 'send', ticket: null, ...over };
}
const body = (r: ReturnType<typeof buildSlackPost>) => JSON.parse(outboxBody(r)) as Record<string, any>;

describe('the Slack builder', () => {
  const web: SlackReceiver = { kind: 'slack', botToken: 'env:T', channel: CHANNEL };
  const parent = { channel: CHANNEL, ts: '1712345678.000100' };
  const ticket = slackTicketRef('soc-slack', '12345', parent);

  it('tags every posted message with the incident, receiver and step, so a retry can find it', () => {
    const i = payloadInput(web);
    expect(body(buildSlackPayload(i)).metadata).toEqual({
      event_type: 'sentinel_incident_change',
      event_payload: { incident_key: '12345', playbook: 'owner-defender-experts', receiver: 'soc-slack', idempotency_key: i.step.idempotencyKey },
    });
  });

  it('with the first message known: a thread reply by default, chat.update for edit and both', () => {
    const reply = buildSlackPayload(payloadInput(web, { ticket }));
    expect(reply.path).toBe('/chat.postMessage');
    expect(body(reply)).toMatchObject({ channel: CHANNEL, thread_ts: parent.ts });
    for (const updates of ['edit', 'both'] as const) {
      const edit = buildSlackPayload(payloadInput({ ...web, updates }, { ticket }));
      expect(edit.path).toBe('/chat.update');
      const b = body(edit);
      expect(b).toMatchObject({ channel: CHANNEL, ts: parent.ts });
      // the edited message keeps the metadata it was posted with
      expect(b.metadata).toBeUndefined();
      expect(b.thread_ts).toBeUndefined();
    }
    expect(body(buildSlackUpdate(payloadInput(web), parent)).blocks.length).toBeGreaterThan(0);
  });

  it('a webhook receiver never gets Web API arguments, whatever the store holds', () => {
    const b = body(buildSlackPayload(payloadInput({ kind: 'slack', webhookUrl: 'env:W' }, { ticket })));
    expect(Object.keys(b).sort()).toEqual(['blocks', 'text', 'unfurl_links', 'unfurl_media']);
  });

  it('holds all block text to the cumulative budget (Slack refuses ~12,000) and the body to its byte bound', () => {
    const r = buildSlackPost(payloadInput(web, { rendered: oversizedSlack() }));
    const b = body(r);
    const texts = (b.blocks as Array<{ text?: { text: string } }>).map((x) => x.text?.text ?? '');
    expect(texts.join('').length).toBeLessThanOrEqual(SLACK_MAX_BLOCKS_TEXT_CHARS);
    expect(texts.every((t) => t.trim() !== '')).toBe(true);
    expect(Buffer.byteLength(outboxBody(r))).toBeLessThanOrEqual(SLACK_MAX_BODY_BYTES);
    expect(r.truncated).toContain('text');
    expect(r.truncated.some((f) => /^blocks\[\d+\]\.text$/.test(f))).toBe(true);
  });

  it('takes only a channel id: a #name cannot be looked up again', () => {
    expect(slackReceiver.safeParse({ kind: 'slack', botToken: 'env:T', channel: '#soc-alerts' }).success).toBe(false);
    expect(slackReceiver.safeParse({ kind: 'slack', botToken: 'env:T', channel: CHANNEL, updates: 'both' }).success).toBe(true);
    expect(slackReceiver.safeParse({ kind: 'slack', botToken: 'env:T', channel: CHANNEL, updates: 'replace' }).success).toBe(false);
  });
});

describe('Slack Web API: the incident as one message and its thread', () => {
  it('posts the first moment once and returns the message as the incident\'s ticket', async () => {
    const { slack, server, deliver, step } = await slackApi();
    const result = await deliver(step(1), null);
    expect(slack.topLevel(CHANNEL)).toHaveLength(1);
    const posted = slack.topLevel(CHANNEL)[0]!;
    expect(result).toEqual({ action: 'sent', outbox: null, ticket: { receiver: 'soc-slack', incidentKey: '12345', id: `${CHANNEL}/${posted.ts}`, key: null, url: null, state: 'open' } });
    expect(slackMessageOf(result.ticket)).toEqual({ channel: CHANNEL, ts: posted.ts });
    const req = server.requests.find((r) => r.path === '/api/chat.postMessage')!;
    expect(req.headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect(req.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(slack.rejections).toEqual([]);
  });

  it('threads later moments under the first (default), with no new ticket to store', async () => {
    const { slack, deliver, step } = await slackApi();
    const first = (await deliver(step(1), null)).ticket;
    const second = await deliver(step(2), first);
    const third = await deliver(step(3), first);
    expect([second.ticket, third.ticket]).toEqual([null, null]);
    expect(slack.topLevel(CHANNEL)).toHaveLength(1);
    const parent = slack.topLevel(CHANNEL)[0]!;
    expect(slack.replies(CHANNEL, parent.ts).map((m) => m.metadata?.event_payload.idempotency_key)).toEqual([keyOf(2), keyOf(3)]);
  });

  it('edit: later moments rewrite the first message; both: rewrite it and reply in its thread', async () => {
    const edit = await slackApi({}, { updates: 'edit' });
    const first = (await edit.deliver(edit.step(1), null)).ticket;
    await edit.deliver(edit.step(2), first);
    expect(edit.slack.messages).toHaveLength(1);
    expect(edit.slack.messages[0]).toMatchObject({ edits: 1, text: expect.stringContaining('moment 02') });
    // an edit keeps the metadata of the post, so the first step is still the one that posted it
    expect(edit.slack.messages[0]!.metadata?.event_payload.idempotency_key).toBe(keyOf(1));

    const both = await slackApi({}, { updates: 'both' });
    const top = (await both.deliver(both.step(1), null)).ticket;
    await both.deliver(both.step(2), top);
    expect(both.slack.topLevel(CHANNEL)).toHaveLength(1);
    expect(both.slack.topLevel(CHANNEL)[0]!.edits).toBe(1);
    expect(both.slack.replies(CHANNEL, both.slack.topLevel(CHANNEL)[0]!.ts)).toHaveLength(1);
    expect(both.slack.calls).toEqual(['chat.postMessage', 'chat.update', 'chat.postMessage']);
  });

  it('edit refused for good (edit window closed): the moment is replied in the thread, not lost', async () => {
    const { slack, deliver, step } = await slackApi({ editWindowClosed: true }, { updates: 'edit' });
    const first = (await deliver(step(1), null)).ticket;
    await expect(deliver(step(2), first)).resolves.toMatchObject({ action: 'sent', ticket: null });
    expect(slack.topLevel(CHANNEL)[0]!.edits).toBe(0);
    expect(slack.replies(CHANNEL, slack.topLevel(CHANNEL)[0]!.ts)).toHaveLength(1);
  });

  it('a deleted first message: the next moment becomes the new first message, and its ref is returned', async () => {
    for (const updates of ['thread', 'edit'] as const) {
      const { slack, deliver, step } = await slackApi({}, { updates });
      const first = (await deliver(step(1), null)).ticket!;
      slack.deleteMessage(CHANNEL, slackMessageOf(first)!.ts);
      const next = await deliver(step(2), first);
      expect(slack.topLevel(CHANNEL)).toHaveLength(1);
      expect(next.ticket?.id).toBe(`${CHANNEL}/${slack.topLevel(CHANNEL)[0]!.ts}`);
      expect(next.ticket?.id).not.toBe(first.id);
    }
  });

  it('a receiver moved to another channel starts a new thread there', async () => {
    const { slack, deliver, step, receiver } = await slackApi();
    const first = (await deliver(step(1), null)).ticket;
    const moved = await deliver(step(2), first, { receiver: { ...receiver, channel: OTHER } });
    expect(slack.topLevel(OTHER)).toHaveLength(1);
    expect(slackMessageOf(moved.ticket)?.channel).toBe(OTHER);
  });
});

describe('Slack Web API: a lost answer does not post twice', () => {
  it('chat.postMessage posted but the answer was lost: the retry finds it by its metadata and posts nothing', async () => {
    const { slack, deliver, step, inject } = await slackApi();
    inject('chat.postMessage', reset(), 'after');
    expect((await failure(deliver(step(1), null))).kind).toBe('retryable');
    expect(slack.topLevel(CHANNEL)).toHaveLength(1);
    const retry = await deliver(step(1), null, { attempt: 2 });
    expect(slack.topLevel(CHANNEL)).toHaveLength(1);
    expect(retry.ticket?.id).toBe(`${CHANNEL}/${slack.topLevel(CHANNEL)[0]!.ts}`);
    expect(slack.calls).toEqual(['chat.postMessage', 'conversations.history']);
  });

  it('the call failed before Slack acted: the retry looks, finds nothing, and posts once', async () => {
    const { slack, deliver, step, inject } = await slackApi();
    inject('chat.postMessage', reply(503, 'upstream down', { 'content-type': 'text/plain' }));
    await failure(deliver(step(1), null));
    await deliver(step(1), null, { attempt: 2 });
    expect(slack.topLevel(CHANNEL)).toHaveLength(1);
  });

  it('a thread reply whose answer was lost is not replied again', async () => {
    const { slack, deliver, step, inject } = await slackApi();
    const first = (await deliver(step(1), null)).ticket;
    inject('chat.postMessage', reset(), 'after');
    await failure(deliver(step(2), first));
    await deliver(step(2), first, { attempt: 2 });
    const parent = slack.topLevel(CHANNEL)[0]!;
    expect(slack.replies(CHANNEL, parent.ts)).toHaveLength(1);
    expect(slack.calls.slice(-1)).toEqual(['conversations.replies']);
  });

  it('both: an edit that landed and a reply that did not — the retry edits again (harmless) and replies once', async () => {
    const { slack, deliver, step, inject } = await slackApi({}, { updates: 'both' });
    const first = (await deliver(step(1), null)).ticket;
    inject('chat.postMessage', reply(500, 'boom', { 'content-type': 'text/plain' }));
    await failure(deliver(step(2), first));
    await deliver(step(2), first, { attempt: 2 });
    const parent = slack.topLevel(CHANNEL)[0]!;
    expect(parent.edits).toBe(2);
    expect(slack.replies(CHANNEL, parent.ts)).toHaveLength(1);
  });

  it('another step posted the first message but was never recorded: a retry adopts it as the thread and returns it', async () => {
    const { slack, deliver, step } = await slackApi();
    const orphan = await deliver(step(1), null); // the kit lost this result (no ticket stored)
    const retry = await deliver(step(2), null, { attempt: 2 });
    expect(slack.topLevel(CHANNEL)).toHaveLength(1);
    expect(retry.ticket?.id).toBe(orphan.ticket?.id);
    expect(slack.replies(CHANNEL, slack.topLevel(CHANNEL)[0]!.ts)).toHaveLength(1);
  });

  it('the remaining window: a lost post behind more messages than one lookup reads is posted again', async () => {
    const { slack, deliver, step, inject } = await slackApi({ maxReadLimit: 15 });
    inject('chat.postMessage', reset(), 'after');
    await failure(deliver(step(1), null));
    for (let i = 0; i < 15; i++) slack.addMessage({ channel: CHANNEL, text: `chatter ${i}` });
    await deliver(step(1), null, { attempt: 2 });
    expect(slack.topLevel(CHANNEL).filter((m) => m.bot_id)).toHaveLength(2);
  });

  it('a bot without channels:history cannot look, so the retry fails auth instead of risking a second post', async () => {
    const { slack, deliver, step, inject } = await slackApi({ scopes: ['chat:write'] });
    inject('chat.postMessage', reset(), 'after');
    await failure(deliver(step(1), null));
    expect(await failure(deliver(step(1), null, { attempt: 2 }))).toMatchObject({ kind: 'auth' });
    expect(slack.topLevel(CHANNEL)).toHaveLength(1);
  });
});

describe('Slack Web API: what each answer means', () => {
  it('classifies the fake\'s own refusals: bad, revoked or missing token auth; unknown channel, not a member terminal', async () => {
    const wrong = await slackApi();
    const r = await failure(
      createSlackConnector({ receiverName: 'soc-slack', receiver: wrong.receiver, env: { SLACK_BOT_TOKEN: 'xoxb-wrong' }, pacer: unpaced() }).execute({
        step: wrong.step(1),
        receiverName: 'soc-slack',
        receiver: wrong.receiver,
        rendered: renderedSlack(),
        existingTicket: null,
      }),
    );
    expect(r.kind).toBe('auth');

    const revoked = await slackApi();
    revoked.slack.revokeToken();
    expect((await failure(revoked.deliver(revoked.step(1), null))).kind).toBe('auth');

    const notMember = await slackApi({ channels: [], notMemberOf: [CHANNEL] });
    expect(await failure(notMember.deliver(notMember.step(1), null))).toMatchObject({ kind: 'terminal', message: expect.stringContaining('not_in_channel') });

    const gone = await slackApi({ channels: [OTHER] });
    expect(await failure(gone.deliver(gone.step(1), null))).toMatchObject({ kind: 'terminal', message: expect.stringContaining('channel_not_found') });
  });

  it('ok:false codes on the first post, as the issue lists them', async () => {
    const cases: Array<[string, string]> = [
      ['ratelimited', 'rate-limited'],
      ['invalid_auth', 'auth'],
      ['token_revoked', 'auth'],
      ['account_inactive', 'auth'],
      ['channel_not_found', 'terminal'],
      ['not_in_channel', 'terminal'],
      ['msg_too_long', 'terminal'],
    ];
    const { slack, deliver, step, inject } = await slackApi();
    for (const [code, kind] of cases) {
      inject('chat.postMessage', reply(200, { ok: false, error: code }, code === 'ratelimited' ? { 'retry-after': '7' } : {}));
      const err = await failure(deliver(step(1), null));
      expect([code, err.kind]).toEqual([code, kind]);
      if (code === 'ratelimited') expect(err.retryAfterMs).toBe(7_000);
      else expect(err.retryAfterMs).toBeUndefined();
    }
    expect(slack.messages).toHaveLength(0);
  });

  it('honours Retry-After in seconds and as an HTTP-date, and keeps the channel quiet until then', async () => {
    const { slack, server, deliver, step, inject } = await slackApi();
    // waits up to 1 s for a slot, so the 4 s Slack asks for is handed back to the queue instead
    const pacer = createChannelPacer({ intervalMs: 0, maxWaitMs: 1_000 });
    inject('chat.postMessage', rateLimited(4));
    expect(await failure(deliver(step(1), null, { pacer }))).toMatchObject({ kind: 'rate-limited', retryAfterMs: 4_000 });
    const calls = server.requests.length;
    // the next delivery to that channel in this process does not call Slack inside the window it named
    const held = await failure(deliver(step(2), null, { pacer }));
    expect(held.kind).toBe('rate-limited');
    expect(held.retryAfterMs).toBeGreaterThan(3_000);
    expect(held.retryAfterMs).toBeLessThanOrEqual(4_000);
    expect(server.requests.length).toBe(calls);
    // another channel is not held back
    await deliver(step(3, { incidentKey: '999' }), null, { pacer, receiver: { kind: 'slack', botToken: 'env:SLACK_BOT_TOKEN', apiUrl: `${server.url}/api`, channel: OTHER } });
    expect(slack.topLevel(OTHER)).toHaveLength(1);

    const second = await slackApi();
    second.inject('chat.postMessage', rateLimited(new Date(Date.now() + 90_000)));
    const err = await failure(second.deliver(second.step(1), null));
    expect(err.kind).toBe('rate-limited');
    expect(err.retryAfterMs).toBeGreaterThan(85_000);
    expect(err.retryAfterMs).toBeLessThanOrEqual(90_000);
  });

  it('refuses a configuration it cannot deliver with, naming the field', async () => {
    const { env } = await slackApi();
    const run = (receiver: SlackReceiver, e: Record<string, string> = env) =>
      failure(
        createSlackConnector({ receiverName: 'soc-slack', receiver, env: e, pacer: unpaced() }).execute({
          step: makeStep({ kind: 'slack' }),
          receiverName: 'soc-slack',
          receiver,
          rendered: renderedSlack(),
          existingTicket: null,
        }),
      );
    expect(await run({ kind: 'slack', botToken: 'env:SLACK_BOT_TOKEN' })).toMatchObject({ kind: 'config', where: { field: 'receivers.soc-slack.channel' } });
    expect(await run({ kind: 'slack', webhookUrl: 'env:SLACK_WEBHOOK', channel: CHANNEL })).toMatchObject({ kind: 'config' });
    expect(await run({ kind: 'slack', botToken: 'env:MISSING', channel: CHANNEL })).toMatchObject({ kind: 'config', message: expect.stringContaining('MISSING') });
    const literal = await run({ kind: 'slack', botToken: TOKEN, channel: CHANNEL });
    expect(literal.kind).toBe('config');
    expect(literal.message).not.toContain(TOKEN);
  });
});

describe('Slack pacing: one message per second per channel', () => {
  it('spaces posts to one channel so Slack never answers 429, and leaves other channels alone', async () => {
    // the fake's minimum is well under the pacer's interval, so scheduling jitter is not mistaken for a burst
    const { slack, server, deliver, step } = await slackApi({ minPostIntervalMs: 150 });
    const pacer = createChannelPacer({ intervalMs: 250 });
    const started = Date.now();
    await Promise.all([
      deliver(step(1, { incidentKey: '1' }), null, { pacer }),
      deliver(step(2, { incidentKey: '2' }), null, { pacer }),
      deliver(step(3, { incidentKey: '3' }), null, { pacer }),
      deliver(step(4, { incidentKey: '4' }), null, { pacer, receiver: { kind: 'slack', botToken: 'env:SLACK_BOT_TOKEN', channel: OTHER, apiUrl: `${server.url}/api` } }),
    ]);
    expect(slack.rejections).toEqual([]);
    expect(slack.topLevel(CHANNEL)).toHaveLength(3);
    expect(slack.topLevel(OTHER)).toHaveLength(1);
    expect(Date.now() - started).toBeGreaterThanOrEqual(490);
  });

  it('a slot further off than the longest wait is not waited for: rate-limited with the wait as Retry-After', async () => {
    let clock = 1_000_000;
    const waits: number[] = [];
    const pacer = createChannelPacer({ intervalMs: 1000, maxWaitMs: 2500, now: () => clock, sleep: async (ms) => void waits.push(ms) });
    for (let i = 0; i < 3; i++) await pacer.take('C1', 'channel C1');
    expect(waits).toEqual([0, 1000, 2000]);
    const err = await failure(pacer.take('C1', 'channel C1'));
    expect(err).toMatchObject({ kind: 'rate-limited', retryAfterMs: 3000 });
    await pacer.take('C2', 'channel C2');
    expect(waits.at(-1)).toBe(0);
    clock += 10_000;
    await pacer.take('C1', 'channel C1');
    expect(waits.at(-1)).toBe(0);
  });
});

describe('Slack incoming webhook', () => {
  it('posts every moment as a new message and keeps nothing to thread under', async () => {
    const { slack, deliver, step, receiver } = await slackApi();
    const hook: SlackReceiver = { kind: 'slack', webhookUrl: 'env:SLACK_WEBHOOK' };
    const first = await deliver(step(1), null, { receiver: hook });
    const second = await deliver(step(2), slackTicketRef('soc-slack', '12345', { channel: CHANNEL, ts: '1712345678.000100' }), { receiver: hook });
    expect([first.ticket, second.ticket]).toEqual([null, null]);
    expect(slack.webhookMessages).toHaveLength(2);
    expect(slack.messages).toHaveLength(0);
    expect(receiver.webhookUrl).toBeUndefined();
  });

  it('a lost webhook answer cannot be looked up: the retry posts again (documented)', async () => {
    const { slack, deliver, step, inject } = await slackApi();
    const hook: SlackReceiver = { kind: 'slack', webhookUrl: 'env:SLACK_WEBHOOK' };
    inject('webhook', reset(), 'after');
    expect((await failure(deliver(step(1), null, { receiver: hook }))).kind).toBe('retryable');
    await deliver(step(1), null, { receiver: hook, attempt: 2 });
    expect(slack.webhookMessages).toHaveLength(2);
  });
});

// a sample of test/render/escaping.test.ts's corpus: what attacks Slack's markup, links, mentions and limits
const HOSTILE: string[] = [
  '<script>alert(1)</script>',
  '<!channel> <!here> <!everyone>',
  '<@U0123ABC> <#C0123ABC> <!subteam^S0123>',
  '<http://evil.example|Open in Defender>',
  '[Open in Defender](https://evil.example/login)',
  '**bold** _italic_ ~strike~ `code` ```block```',
  '> quote\n# Heading\n- item',
  '&amp;&lt;&#x3C;&#60;',
  '&<'.repeat(50_000),
  'A'.repeat(100_000),
  '🔥😀👩‍💻🇺🇸 #️⃣'.repeat(2_000),
  '\uD800 lone \uDFFF surrogates',
  'a\u0000b\u0007c\u001bd\u007fe',
  '"}],"blocks":[{"type":"section","text":{"type":"mrkdwn","text":"<!channel>"}}],"x":"',
  'https://evil.example/login',
];

describe('the hostile corpus, through the shipped template, as Slack stores it', () => {
  const set = compileTemplates(loadShippedTemplates());
  const render = (text: string) => {
    const incident = makeIncident({
      title: text,
      description: text,
      devices: [{ name: text, id: null }],
      users: [{ name: text, userPrincipalName: null, objectId: null }],
      alerts: { count: 1, titles: [text], products: [], tactics: [] },
      tags: [text],
      owner: { assignedTo: text, userPrincipalName: null, objectId: null, email: null, kind: 'user' },
    });
    const s = seedStep('slack', 'owner-customer', { incident, receiver: 'soc-slack' });
    return { step: s, rendered: renderStep(set, s, { receiverName: 'soc-slack', ticket: null }) };
  };
  type Obj = { type?: string; text?: string; url?: string };
  const objects = (v: unknown, out: Obj[] = []): Obj[] => {
    if (Array.isArray(v)) v.forEach((x) => objects(x, out));
    else if (v && typeof v === 'object') {
      out.push(v as Obj);
      Object.values(v).forEach((x) => objects(x, out));
    }
    return out;
  };
  const mrkdwn = (m: { blocks: unknown[] }) => objects(m.blocks).filter((o) => o.type === 'mrkdwn').map((o) => o.text);
  const urls = (m: { blocks: unknown[] }) => objects(m.blocks).filter((o) => typeof o.url === 'string').map((o) => o.url);

  it('adds no mention, link, markup or block to the first message, its thread reply or its edit', async () => {
    const baseline = render('Multi-stage incident');
    for (const updates of ['thread', 'edit'] as const) {
      const { slack, deliver } = await slackApi({}, { updates });
      const base = await deliver(baseline.step, null, { rendered: baseline.rendered });
      const ref = base.ticket!;
      const shape = slack.messages[0]!;
      const baseShape = { types: shape.blocks.map((b) => (b as Obj).type), mrkdwn: mrkdwn(shape), urls: urls(shape) };
      for (const text of HOSTILE) {
        const { step, rendered } = render(text);
        const first = await deliver({ ...step, incidentKey: `h${slack.messages.length}` }, null, { rendered });
        await deliver({ ...step, incidentKey: `h${slack.messages.length}` }, first.ticket ?? ref, { rendered });
      }
      expect(slack.rejections).toEqual([]);
      for (const m of slack.messages) {
        for (const s of [m.text, ...objects(m.blocks).flatMap((o) => (typeof o.text === 'string' ? [o.text] : []))]) {
          expect(s).not.toMatch(/[<>]/);
          expect(s.replace(/&(amp|lt|gt);/g, '')).not.toContain('&');
          expect(s).not.toMatch(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/);
        }
        // incident text lives only in plain_text: the mrkdwn objects are the template's, unchanged
        expect(mrkdwn(m)).toEqual(baseShape.mrkdwn);
        expect(urls(m)).toEqual(baseShape.urls);
        expect(m.blocks.map((b) => (b as Obj).type).every((t) => baseShape.types.includes(t))).toBe(true);
      }
    }
  });
});
