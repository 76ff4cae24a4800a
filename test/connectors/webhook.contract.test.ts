/** The webhook (SOAR) connector against its fake receiver, through the one notifier contract. */
import { createWebhookConnector } from '../../functions/connectors/webhook/webhook.js';
import { webhookReceiver } from '../../functions/connectors/webhook/schema.js';
import type { RenderedMessage } from '../../functions/render/types.js';
import { makeIncident, makeStep } from '../fixtures/incident.js';
import { reply, startFakeServer, type FakeHandler, type FakeResult } from '../helpers/fake-server.js';
import { createFakeWebhook } from './fakes/webhook.js';
import { notifierContract, type NotifierHarness } from './notifiers/contract.js';

const SIGNING_SECRET = 'c0ntract-signing-secret-5f0e2b7a9d4c1e8f3a6b';
const BEARER = 'contract-bearer-token-91b2c3d4e5f6';
const MAX_BYTES = 16 * 1024;
const receiver = webhookReceiver.parse({
  kind: 'webhook',
  url: 'env:SOC_SOAR_WEBHOOK_URL',
  signingSecret: 'env:SOC_SOAR_SIGNING_SECRET',
  bearerToken: 'env:SOC_SOAR_TOKEN',
  maxBodyBytes: MAX_BYTES,
});
const rendered = (note = 'Incident 3177: Owner changed to Defender Experts'): RenderedMessage => ({ kind: 'webhook', template: 'incident-change', parts: { note } });

async function makeWebhookHarness(): Promise<NotifierHarness> {
  const soar = createFakeWebhook({ signingSecret: SIGNING_SECRET, bearerToken: BEARER, maxBytes: MAX_BYTES });
  const queued: Array<{ result: FakeResult; left: number }> = [];
  const handler: FakeHandler = (req, params) => {
    const next = queued.find((q) => q.left > 0);
    if (!next) return soar.handler(req, params);
    next.left--;
    return next.result;
  };
  const server = await startFakeServer(handler);
  const url = `${server.url}${soar.path}`;
  const env = { SOC_SOAR_WEBHOOK_URL: url, SOC_SOAR_SIGNING_SECRET: SIGNING_SECRET, SOC_SOAR_TOKEN: BEARER };
  // one step per delivery: the fake dedupes on the key, and the contract counts messages it processed
  let n = 0;
  const request = (incident = makeIncident(), note?: string) => {
    const step = makeStep({ kind: 'webhook', receiver: 'soc-soar', incident, idempotencyKey: (++n).toString(16).padStart(64, '0') });
    return { step, receiverName: 'soc-soar', receiver, rendered: rendered(note), existingTicket: null };
  };
  return {
    // a hung connection must end the call; the fake never answers it, so the outcome does not depend on timing
    connector: () => createWebhookConnector({ receiverName: 'soc-soar', receiver, env, fetchTimeoutMs: 250 }),
    request: () => request(),
    oversizedRequest: () => {
      const incident = makeIncident({
        title: '🔥 Raspberry Robin '.repeat(400),
        description: 'Raspberry Robin worm spread through 🔌 USB devices. '.repeat(8000),
        tags: Array.from({ length: 300 }, (_, i) => `tag-${i}-${'x'.repeat(600)}`),
      });
      return request(incident, 'Escalate. '.repeat(2000));
    },
    maxBytes: MAX_BYTES,
    answerNext: (result, times = 1) => queued.push({ result, left: times }),
    successesThatFailed: [
      { reply: reply(200, '{"success": false, "reason": "workflow is disabled"}', { 'content-type': 'application/json' }), kind: 'terminal' },
      { reply: reply(200, '{"ok":false,"error":"invalid_payload"}', { 'content-type': 'application/json' }), kind: 'terminal' },
      { reply: reply(202, '\n{"status": "rejected", "success": false}\n', { 'content-type': 'application/json' }), kind: 'terminal' },
    ],
    accepted: () => soar.accepted,
    bodies: () => server.requests.map((r) => r.body),
    url,
    secrets: [SIGNING_SECRET, BEARER, soar.path.split('/').at(-1)!],
    close: () => server.close(),
  };
}

notifierContract('webhook', makeWebhookHarness);
