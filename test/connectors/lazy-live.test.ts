/**
 * A Function App that configures only Slack loads no email, SMS or ticket transport: the registry imports a
 * kind's live connector on that kind's first live delivery (ConnectorKind.live). Run in a child process
 * with loader hooks that record every module it resolves, after the app's entry points are loaded and one
 * step has reached a loopback Slack webhook.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { startFakeServer, type FakeServer } from '../helpers/fake-server.js';
import { createFakeSlack } from './fakes/slack.js';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../..', import.meta.url));
const fixture = join(root, 'test', 'fixtures', 'lazy-live');
const slack = createFakeSlack({ botToken: 'xoxb-unused' });
let server: FakeServer;
let dir: string;
let loaded: string[];
let answer: unknown;

beforeAll(async () => {
  server = await startFakeServer(slack.handler);
  dir = mkdtempSync(join(tmpdir(), 'spk-lazy-'));
  const log = join(dir, 'modules.txt');
  const { stdout } = await run(process.execPath, ['--import', 'tsx', '--import', join(fixture, 'register.mjs'), join(fixture, 'slack-only.ts')], {
    cwd: root,
    env: { ...process.env, SPK_MODULE_LOG: log, SLACK_WEBHOOK_URL: `${server.url}${slack.webhookPath}`, OUTBOX_DIR: join(dir, 'outbox') },
    timeout: 120_000,
  });
  answer = JSON.parse(stdout);
  loaded = [...new Set(readFileSync(log, 'utf8').split('\n').filter(Boolean))]
    .filter((url) => url.startsWith('file:'))
    .map((url) => relative(root, fileURLToPath(url)).replaceAll('\\', '/'));
}, 180_000);

afterAll(async () => {
  await server?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('a Function App that configures only Slack', () => {
  it('delivered through the Slack transport, which was loaded', () => {
    expect(answer).toMatchObject({ action: 'sent' });
    expect(slack.webhookMessages).toHaveLength(1);
    expect(loaded).toContain('functions/connectors/slack/slack.ts');
  });

  it('loads no email or SMS transport, and no other kind\'s live connector', () => {
    const transports = loaded.filter((path) =>
      /^functions\/connectors\/(email\/(email|acs|graph|smtp)|sms\/(sms|acs|twilio|recipients)|twilio\/(rest|account)|recipients|voice\/(call|ack)|teams\/teams|webhook\/webhook|jira\/jira|servicenow\/servicenow|azuredevops\/azuredevops|zendesk\/zendesk|freshservice\/freshservice|pagerduty\/pagerduty|tickets\/engine)\.ts$/.test(path),
    );
    expect(transports).toEqual([]);
  });

  it('still has every kind\'s schema and payload builder, which validating and the outbox need', () => {
    expect(loaded).toContain('functions/connectors/email/schema.ts');
    expect(loaded).toContain('functions/connectors/sms/payload.ts');
  });
});
