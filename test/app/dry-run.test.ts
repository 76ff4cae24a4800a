/**
 * No pretending in Azure: the Function App, built by its real runtime from app settings, refuses a receiver
 * that would silently fall back to the outbox, and records a deliberate dry-run receiver as `outbox`.
 */
import { cp, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { HttpRequest, InvocationContext } from '@azure/functions';
import { dispatchHandler } from '../../functions/app/dispatch.js';
import { deliverHandler } from '../../functions/app/deliver.js';
import { healthHandler } from '../../functions/app/health.js';
import { setAppRuntimeForTests } from '../../functions/app/runtime.js';
import { createAzureStores } from '../../functions/state/index.js';
import { useAzurite, uniqueNames } from '../helpers/azurite.js';
import { REPO, sampleLines } from '../pipeline/harness.js';

const connection = useAzurite();
const logs: string[] = [];
const context = () =>
  new InvocationContext({ functionName: 'test', invocationId: `inv-${Math.random().toString(36).slice(2)}`, logHandler: (_l, ...args) => logs.push(args.map(String).join(' ')) });

const SETTINGS = ['SPK_PLAYBOOKS_DIR', 'SPK_STORAGE_CONNECTION_STRING', 'SPK_QUEUE_NAME', 'SPK_OUTBOX_DIR', 'SPK_COMMENT_BACK'] as const;
const saved = Object.fromEntries(SETTINGS.map((k) => [k, process.env[k]]));
const dirs: string[] = [];

afterEach(() => {
  // each case builds the runtime afresh from its own settings
  setAppRuntimeForTests(null);
  logs.length = 0;
});
afterAll(async () => {
  for (const k of SETTINGS) {
    if (saved[k] === undefined) delete process.env[k];
    else process.env[k] = saved[k];
  }
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

/** the shipped playbooks folder, optionally with every receiver marked dryRun: true */
async function playbooksCopy(markDryRun: boolean): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'spk-dryrun-'));
  dirs.push(dir);
  await cp(join(REPO, 'playbooks'), dir, { recursive: true });
  if (markDryRun) {
    const file = join(dir, 'receivers.yaml');
    const text = await readFile(file, 'utf8');
    await writeFile(file, text.replace(/^( {4})kind: (\w+)$/gm, '$1kind: $2\n$1dryRun: true'));
  }
  return dir;
}

async function useSettings(playbooksDir: string): Promise<string> {
  const outbox = await mkdtemp(join(tmpdir(), 'spk-dryrun-outbox-'));
  dirs.push(outbox);
  process.env.SPK_PLAYBOOKS_DIR = playbooksDir;
  process.env.SPK_STORAGE_CONNECTION_STRING = connection();
  process.env.SPK_QUEUE_NAME = uniqueNames().queueName;
  process.env.SPK_OUTBOX_DIR = outbox;
  process.env.SPK_COMMENT_BACK = 'false';
  return outbox;
}

describe('the Function App with receivers that have no endpoint', () => {
  it('refuses to run them unmarked: health is unhealthy (configuration) and the log names the receiver and the fix', async () => {
    await useSettings(await playbooksCopy(false));
    const res = await healthHandler(new HttpRequest({ method: 'GET', url: 'http://localhost/api/health' }), context());
    expect(res.status).toBe(503);
    expect((res.jsonBody as { reason: string }).reason).toBe('configuration');
    const log = logs.join('\n');
    // the log line is JSON, so the receiver names arrive with escaped quotes
    expect(log).toMatch(/receivers\.yaml:\d+:\d+ receiver \\"soc-teams\\" has no endpoint[^\n]*webhookUrl[^\n]*dryRun: true/);
    expect(log).toMatch(/receiver \\"soc-slack\\" has no endpoint[^\n]*webhookUrl or botToken[^\n]*dryRun: true/);
    expect(log).toMatch(/receiver \\"soc-email\\" has no endpoint[^\n]*acsEndpoint or graphBaseUrl or smtpHost[^\n]*dryRun: true/);
    expect(log).toMatch(/receiver \\"soc-lead-call\\" has no endpoint[^\n]*twilioAccountSid[^\n]*dryRun: true/);

    // and dispatch plans nothing it would only pretend to deliver
    const [first] = await sampleLines();
    const dispatched = await dispatchHandler(new HttpRequest({ method: 'POST', url: 'http://localhost/api/dispatch', body: { string: JSON.stringify(first) }, headers: { 'content-type': 'application/json' } }), context());
    expect(dispatched.status).toBeGreaterThanOrEqual(500);
  });

  it('delivers receivers marked dryRun: true to the outbox and records them as "outbox", never "sent"', async () => {
    const outbox = await useSettings(await playbooksCopy(true));
    const [first] = await sampleLines();
    const res = await dispatchHandler(new HttpRequest({ method: 'POST', url: 'http://localhost/api/dispatch', body: { string: JSON.stringify(first) }, headers: { 'content-type': 'application/json' } }), context());
    expect(res.status).toBe(202);
    const steps = (res.jsonBody as { steps: Array<{ idempotencyKey: string; receiver: string }> }).steps;
    expect(steps.length).toBeGreaterThan(5);

    // read the deliveries queue the runtime wrote to, as the host would hand them to deliver
    const stores = await createAzureStores({ connectionString: connection(), queueName: process.env.SPK_QUEUE_NAME! });
    for (let round = 0; round < 3; round++) {
      for (const m of await stores.queue.receive(32, 30_000)) {
        await deliverHandler(m.delivery, context());
        await stores.queue.delete(m);
      }
    }
    const actions = await Promise.all(steps.map(async (s) => (await stores.ledger.get(s.idempotencyKey))?.action));
    expect(new Set(actions)).toEqual(new Set(['outbox']));
    expect((await readdir(outbox)).length).toBeGreaterThan(0);
    const log = logs.join('\n');
    expect(log).toContain('written to the outbox only');
    expect(log).not.toMatch(/delivered: (sent|created|updated|resolved)/);
  });
});
