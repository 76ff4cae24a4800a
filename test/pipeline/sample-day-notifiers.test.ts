/**
 * The sample day with every notifier receiver live: Teams, Slack (Web API, later moments in the thread),
 * email (ACS Email, and a second email receiver over SMTP to a real SMTP server), SMS (ACS SMS), voice (Twilio Calls, with "press 1") and the signed SOAR webhook, each
 * against its loopback fake that checks method, path, auth and body. The config is a temp copy of the
 * shipped playbooks/ with those receivers pointed at the fakes; the real pipeline runs it (ingest → queue →
 * processDelivery) on the in-memory stores. Then the Logic App's retries are played: the whole day again.
 *
 * Each message must arrive exactly once: every notifier step the ledger holds as `sent` reached its target
 * once (by the step's own key where the target keeps one: the webhook's Idempotency-Key, ACS's
 * repeatability id, the email's Message-ID; by count per number for Twilio, which keeps none), no target got
 * anything else, and the replayed day sends nothing.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ReceiverConfig } from '../../functions/config/schema.js';
import type { DeliveryStep } from '../../functions/core/delivery.js';
import { connectorCache } from '../../functions/connectors/registry.js';
import { createChannelPacer } from '../../functions/connectors/slack/pacer.js';
import type { SlackReceiver } from '../../functions/connectors/slack/schema.js';
import { createSlackConnector } from '../../functions/connectors/slack/slack.js';
import type { Connector } from '../../functions/connectors/types.js';
import { ingest } from '../../functions/pipeline/ingest.js';
import { createRuntime } from '../../functions/pipeline/kit.js';
import { processDelivery } from '../../functions/pipeline/process-delivery.js';
import { createMemoryStores } from '../../functions/state/index.js';
import { createFakeAcsEmail } from '../connectors/fakes/email.js';
import { createFakeAcsSms } from '../connectors/fakes/sms.js';
import { createFakeSlack } from '../connectors/fakes/slack.js';
import { createFakeTwilioCalls } from '../connectors/fakes/voice.js';
import { createFakeWebhook } from '../connectors/fakes/webhook.js';
import { startFakeSmtp, type FakeSmtp } from '../connectors/fakes/smtp.js';
import { createFakeTeams, startFakeServer, type FakeServer } from '../helpers/fake-server.js';
import { liveCopyOfPlaybooks, sampleLines } from './harness.js';

const NOTIFIERS = ['soc-teams', 'soc-slack', 'soc-email', 'soc-email-smtp', 'soc-lead-sms', 'soc-lead-call', 'soc-soar'] as const;
type Notifier = (typeof NOTIFIERS)[number];
type HttpNotifier = Exclude<Notifier, 'soc-email-smtp'>;
const HTTP_NOTIFIERS = NOTIFIERS.filter((n): n is HttpNotifier => n !== 'soc-email-smtp');

const SIG = 'SECRETSIGNATURE0123456789abcdef';
const SLACK_TOKEN = 'xoxb-1234567890-0987654321-c2FtcGxlLWRheS1ib3QtdG9rZW4';
const CHANNEL = 'C0123456789';
const ACS_KEY = Buffer.from('sample-day-acs-access-key-0123456789abcdef').toString('base64');
const TWILIO_SID = `AC${'5a'.repeat(16)}`;
const TWILIO_TOKEN = 'sample-day-twilio-auth-token-0000';
const SOAR_SECRET = 'sample-day-soar-signing-secret-0123456789';
const SMTP_USER = 'sentinel-kit@contoso.example';
const SMTP_PASSWORD = 'sample-day-smtp-password-0123';

const teams = createFakeTeams({ sig: SIG });
const slack = createFakeSlack({ botToken: SLACK_TOKEN, channels: [CHANNEL] });
const email = createFakeAcsEmail({ accessKey: ACS_KEY, senders: ['sentinel-kit@contoso.example'], pollsUntilDone: 1, retryAfter: '0' });
const sms = createFakeAcsSms({ accessKey: ACS_KEY, numbers: ['+18005550100'] });
const calls = createFakeTwilioCalls({ accountSid: TWILIO_SID, authToken: TWILIO_TOKEN, callerIds: ['+18005550100'] });
const soar = createFakeWebhook({ signingSecret: SOAR_SECRET });

const servers: Partial<Record<HttpNotifier, FakeServer>> = {};
let smtp: FakeSmtp;
const temp: string[] = [];
const sentSteps = new Map<Notifier, DeliveryStep[]>();
const requestsAfterDay: number[] = [];
const requestsAfterReplay: number[] = [];
let ledgerStatuses: string[] = [];
let poisoned = 0;
const received: Array<{ path: string }> = [];

function requestCount(): number {
  return received.length + smtp.sessions;
}

beforeAll(async () => {
  const handlers = { 'soc-teams': teams.handler, 'soc-slack': slack.handler, 'soc-email': email.handler, 'soc-lead-sms': sms.handler, 'soc-lead-call': calls.handler, 'soc-soar': soar.handler };
  smtp = await startFakeSmtp({ tls: 'none', users: { [SMTP_USER]: SMTP_PASSWORD } });
  for (const name of HTTP_NOTIFIERS) {
    servers[name] = await startFakeServer((req, params) => {
      received.push({ path: req.path });
      return handlers[name](req, params);
    });
  }
  const url = (name: HttpNotifier) => servers[name]!.url;
  const env: NodeJS.ProcessEnv = {
    TEAMS_SOC_WEBHOOK_URL: `${url('soc-teams')}${teams.path}?sig=${SIG}`,
    SLACK_BOT_TOKEN: SLACK_TOKEN,
    ACS_ACCESS_KEY: ACS_KEY,
    TWILIO_ACCOUNT_SID: TWILIO_SID,
    TWILIO_AUTH_TOKEN: TWILIO_TOKEN,
    SOAR_WEBHOOK_URL: `${url('soc-soar')}${soar.path}`,
    SOAR_SIGNING_SECRET: SOAR_SECRET,
    SMTP_USERNAME: SMTP_USER,
    SMTP_PASSWORD,
  };
  const live: Record<HttpNotifier, Record<string, string>> = {
    'soc-teams': { webhookUrl: 'env:TEAMS_SOC_WEBHOOK_URL' },
    'soc-slack': { botToken: 'env:SLACK_BOT_TOKEN', channel: CHANNEL, apiUrl: `${url('soc-slack')}/api` },
    'soc-email': { acsEndpoint: url('soc-email'), acsAccessKey: 'env:ACS_ACCESS_KEY' },
    'soc-lead-sms': { acsEndpoint: url('soc-lead-sms'), acsAccessKey: 'env:ACS_ACCESS_KEY' },
    'soc-lead-call': { twilioAccountSid: 'env:TWILIO_ACCOUNT_SID', twilioAuthToken: 'env:TWILIO_AUTH_TOKEN', twilioApiUrl: url('soc-lead-call'), ackUrl: 'https://spk-func.azurewebsites.net/api/ack/voice' },
    'soc-soar': { url: 'env:SOAR_WEBHOOK_URL', signingSecret: 'env:SOAR_SIGNING_SECRET' },
  };
  // plain text is allowed to a loopback relay only; TLS and its certificate checks are email-smtp.test.ts's
  const smtpFields = { smtpHost: smtp.host, smtpPort: smtp.port, smtpTls: 'none', smtpUsername: 'env:SMTP_USERNAME', smtpPassword: 'env:SMTP_PASSWORD' };
  const { dir, kit } = await liveCopyOfPlaybooks(live, { 'soc-email-smtp': { of: 'soc-email', fields: smtpFields } });
  temp.push(dir);
  const outboxDir = await mkdtemp(join(tmpdir(), 'spk-outbox-'));
  temp.push(outboxDir);

  const stores = createMemoryStores();
  const standard = connectorCache({ outboxDir, env });
  // Slack's one-message-per-second-per-channel pacer runs on the wall clock: here it would only make the day slow
  let slackConnector: Connector | undefined;
  const connectorFor = (name: string, receiver: ReceiverConfig): Connector =>
    receiver.kind === 'slack'
      ? (slackConnector ??= createSlackConnector({ receiverName: name, receiver: receiver as SlackReceiver, env, pacer: createChannelPacer({ intervalMs: 0 }) }))
      : standard(name, receiver);
  const runtime = createRuntime(kit, stores, { outboxDir, env, connectorFor });

  const planned = new Map<string, DeliveryStep>();
  async function drain() {
    for (let spins = 0; spins < 1000; spins++) {
      const msgs = await stores.queue.receive(16, 60_000);
      if (msgs.length === 0) return;
      for (const m of msgs) {
        await processDelivery(m.delivery, runtime.deliveryDeps);
        await stores.queue.delete(m);
      }
    }
    throw new Error('queue never drained');
  }
  const lines = await sampleLines();
  for (let pass = 0; pass < 2; pass++) {
    for (const raw of lines) {
      const r = await ingest(raw, runtime.ingestDeps);
      for (const s of r.steps) planned.set(s.idempotencyKey, s);
      await drain();
    }
    (pass === 0 ? requestsAfterDay : requestsAfterReplay).push(requestCount());
  }
  // every planned step of a notifier, with what the ledger says became of it
  const outcomes = new Set<string>();
  for (const step of planned.values()) {
    if (!(NOTIFIERS as readonly string[]).includes(step.receiver)) continue;
    const entry = await stores.ledger.get(step.idempotencyKey);
    outcomes.add(`${entry?.status}:${entry?.action}`);
    // a guidance-only step (an excluded asset is involved) is still a message: the manual guidance
    if (entry?.action !== 'sent' && entry?.action !== 'guidance-only') continue;
    const list = sentSteps.get(step.receiver as Notifier) ?? [];
    list.push(step);
    sentSteps.set(step.receiver as Notifier, list);
  }
  ledgerStatuses = [...outcomes].sort();
  poisoned = (await stores.queue.peekPoison(32)).length;
}, 240_000);

afterAll(async () => {
  await Promise.all([...Object.values(servers).map((s) => s?.close()), smtp?.close()]);
  await Promise.all(temp.map((d) => rm(d, { recursive: true, force: true })));
});

const stepsOf = (name: Notifier) => sentSteps.get(name) ?? [];

describe('the sample day with every notifier live', () => {
  it('delivered every notifier step as sent, with nothing failed or poisoned', () => {
    for (const name of NOTIFIERS) expect(stepsOf(name).length, name).toBeGreaterThan(0);
    expect(ledgerStatuses).toEqual(['done:guidance-only', 'done:sent']);
    expect(poisoned).toBe(0);
  });

  it('Teams and the SOAR webhook got each step once, by the step\'s own key', () => {
    expect(teams.messages).toHaveLength(stepsOf('soc-teams').length);
    expect(soar.accepted.map((d) => d.idempotencyKey).sort()).toEqual(stepsOf('soc-soar').map((s) => s.idempotencyKey).sort());
    expect(soar.duplicates).toBe(0);
    expect(soar.rejections).toEqual([]);
  });

  it('Slack got one message per incident and every later step once in its thread', () => {
    const steps = stepsOf('soc-slack');
    const incidents = new Set(steps.map((s) => s.incidentKey));
    const top = slack.topLevel(CHANNEL);
    expect(top).toHaveLength(incidents.size);
    const replies = top.reduce((n, m) => n + slack.replies(CHANNEL, m.ts).length, 0);
    expect(top.length + replies).toBe(steps.length);
  });

  it('email and SMS through ACS: one message per step (per recipient), none sent twice', () => {
    expect(email.sent).toHaveLength(stepsOf('soc-email').length);
    expect(new Set(email.sent.map((m) => m.operationId)).size).toBe(email.sent.length);
    expect(email.rejections).toEqual([]);
    expect(sms.sent).toHaveLength(stepsOf('soc-lead-sms').length);
    expect(sms.replays).toBe(0);
    expect(sms.rejections).toEqual([]);
  });

  it('email over SMTP, to a real SMTP server: one mail per step, by its Message-ID, threaded per incident', () => {
    const steps = stepsOf('soc-email-smtp');
    expect(steps.length).toBeGreaterThan(0);
    const ids = smtp.accepted.map((m) => m.parsed.messageId?.replace(/^<|@.*$/g, ''));
    expect(ids.sort()).toEqual(steps.map((s) => s.idempotencyKey).sort());
    expect(smtp.accepted.every((m) => m.user === SMTP_USER && m.envelope.to.join() === 'soc@contoso.example')).toBe(true);
    const threads = new Set(smtp.accepted.map((m) => m.parsed.references));
    expect(threads.size).toBe(new Set(steps.map((s) => s.incidentKey)).size);
  });

  it('voice through Twilio: one call per step to the SOC lead, each asking "press 1" for its own step', () => {
    const steps = stepsOf('soc-lead-call');
    expect(calls.calls).toHaveLength(steps.length);
    const asked = calls.calls.map((c) => /action="[^"]*step=([0-9a-f]{64})/.exec(c.twiml)?.[1]).sort();
    expect(asked).toEqual(steps.map((s) => s.idempotencyKey).sort());
    expect(calls.rejections).toEqual([]);
  });

  it('the replayed day (the Logic App retrying every trigger) sends nothing to any target', () => {
    expect(requestsAfterDay[0]).toBeGreaterThan(0);
    expect(requestsAfterReplay[0]).toBe(requestsAfterDay[0]);
  });
});
