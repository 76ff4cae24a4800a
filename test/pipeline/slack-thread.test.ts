/**
 * Slack threads through the real pipeline: the sample day's moments of one incident reach a live Slack
 * receiver (Web API, loopback fake) as one top-level message and replies in its thread. The first
 * message's channel and ts travel as the connector's returned ticket into the kit's ticket store
 * (record.ts) and come back as the next delivery's existingTicket (render.ts loads it for a live
 * notifier), including after a chat.postMessage whose answer was lost.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadKitOrThrow } from '../../functions/config/load.js';
import type { DeliveryStep } from '../../functions/core/delivery.js';
import { ingest } from '../../functions/pipeline/ingest.js';
import { createRuntime } from '../../functions/pipeline/kit.js';
import { processDelivery } from '../../functions/pipeline/process-delivery.js';
import { createMemoryStores } from '../../functions/state/index.js';
import { reset, startFakeServer, type FakeHandler, type FakeServer } from '../helpers/fake-server.js';
import { createFakeSlack } from '../connectors/fakes/slack.js';
import { REPO, sampleLines } from './harness.js';

const TOKEN = 'xoxb-1234567890-0987654321-c2xhY2stdGhyZWFkLXRlc3Q';
const CHANNEL = 'C0123456789';

const servers: FakeServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function liveSlackKit(options: { loseFirstPostAnswer?: boolean } = {}) {
  // well under the pacer's 1 s, so scheduling jitter on a busy machine is not mistaken for a burst
  const slack = createFakeSlack({ botToken: TOKEN, channels: [CHANNEL], minPostIntervalMs: 600 });
  let lose = options.loseFirstPostAnswer ?? false;
  const handler: FakeHandler = async (req, params) => {
    if (lose && req.path === '/api/chat.postMessage') {
      lose = false;
      await slack.handler(req, params); // Slack posts; the answer never arrives
      return reset();
    }
    return slack.handler(req, params);
  };
  const server = await startFakeServer(handler);
  servers.push(server);

  let clock = Date.now();
  const stores = createMemoryStores({ now: () => clock });
  const kit = await loadKitOrThrow(join(REPO, 'playbooks'), { cwd: REPO });
  const receivers = { ...kit.config.receivers, 'soc-slack': { kind: 'slack' as const, botToken: 'env:SLACK_BOT_TOKEN', channel: CHANNEL, apiUrl: `${server.url}/api` } };
  const runtime = createRuntime({ ...kit, config: { ...kit.config, receivers } }, stores, {
    outboxDir: await mkdtemp(join(tmpdir(), 'spk-slack-thread-')),
    env: { SLACK_BOT_TOKEN: TOKEN },
    fetchTimeoutMs: 2_000,
    now: () => new Date(clock),
  });

  // the whole sample day, planned; only soc-slack's steps are delivered here
  const steps: DeliveryStep[] = [];
  for (const line of await sampleLines()) steps.push(...(await ingest(line, runtime.ingestDeps)).steps.filter((s) => s.receiver === 'soc-slack'));
  const deliver = (step: DeliveryStep, attempt = 1) => processDelivery({ step, attempt }, runtime.deliveryDeps);
  return { slack, stores, steps, deliver, advance: (ms: number) => void (clock += ms) };
}

/** how the ledger names a delivery that reached the target (an excluded device makes it guidance-only) */
const delivered = (step: DeliveryStep) => (step.guidanceOnly ? 'guidance-only' : 'sent');

describe('Slack through the pipeline: one incident, one thread', () => {
  it('the first moment posts, every later one replies in its thread, and the store keeps the first message', async () => {
    const { slack, stores, steps, deliver } = await liveSlackKit();
    const incident = steps.filter((s) => s.incidentKey === '3101');
    expect(incident.length).toBeGreaterThanOrEqual(3);
    for (const step of incident) expect(await deliver(step)).toMatchObject({ action: delivered(step), error: null });

    const top = slack.topLevel(CHANNEL);
    expect(top).toHaveLength(1);
    expect(slack.replies(CHANNEL, top[0]!.ts).map((m) => m.metadata?.event_payload.idempotency_key)).toEqual(incident.slice(1).map((s) => s.idempotencyKey));
    expect(await stores.tickets.get('soc-slack', '3101')).toMatchObject({ id: `${CHANNEL}/${top[0]!.ts}`, receiver: 'soc-slack', incidentKey: '3101' });
    // the pacer kept one post per second per channel: the fake would have answered 429 otherwise
    expect(slack.rejections).toEqual([]);
    // a duplicate queue message of a delivered step is dropped by the ledger, not replied again
    expect((await deliver(incident[1]!)).action).toBe('skipped-duplicate');
    expect(slack.messages).toHaveLength(incident.length);
  });

  it('a first post whose answer was lost is found on the retry, stored, and the next moment threads under it', async () => {
    const { slack, stores, steps, deliver, advance } = await liveSlackKit({ loseFirstPostAnswer: true });
    const [first, second] = steps.filter((s) => s.incidentKey === '3103');
    const lost = await deliver(first!);
    expect(lost.action).toBe('requeued');
    expect(slack.topLevel(CHANNEL)).toHaveLength(1);
    expect(await stores.tickets.get('soc-slack', '3103')).toBeNull();

    advance(10 * 60_000); // past the retry's delay and the lane it held
    const retried = await deliver(first!, 2);
    expect(retried.action).toBe(delivered(first!));
    expect(slack.topLevel(CHANNEL)).toHaveLength(1);
    const parent = slack.topLevel(CHANNEL)[0]!;
    expect(retried.ticket?.id).toBe(`${CHANNEL}/${parent.ts}`);
    expect((await stores.tickets.get('soc-slack', '3103'))?.id).toBe(`${CHANNEL}/${parent.ts}`);

    expect((await deliver(second!)).action).toBe(delivered(second!));
    expect(slack.topLevel(CHANNEL)).toHaveLength(1);
    expect(slack.replies(CHANNEL, parent.ts).map((m) => m.metadata?.event_payload.idempotency_key)).toEqual([second!.idempotencyKey]);
  });
});
