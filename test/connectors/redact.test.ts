import { inspect } from 'node:util';
import { failure } from '../helpers/errors.js';
import { afterEach, describe, expect, it } from 'vitest';
import { redactSecrets, redactUrl, secretsOfUrl } from '../../functions/connectors/redact.js';
import { resolveSecret } from '../../functions/connectors/secrets.js';
import { send } from '../../functions/connectors/http/index.js';
import { createTeamsConnector } from '../../functions/connectors/teams/teams.js';
import { KitError } from '../../functions/core/errors.js';
import { makeStep } from '../fixtures/incident.js';
import { renderedTeams } from '../fixtures/rendered.js';
import { createFakeTeams, reply, reset, startFakeServer, type FakeServer } from '../helpers/fake-server.js';

const SIG = 'Zm9vYmFyLXNpZ25hdHVyZS1zZWNyZXQtdmFsdWUtMTIz';
const WORKFLOW_PATH = '/workflows/6a9e2f00c1d94b7c8f5e0d4a3b2c1e0f/triggers/manual/paths/invoke';
const workflowUrl = (origin: string) => `${origin}${WORKFLOW_PATH}?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=${SIG}`;

const servers: FakeServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

/** Everything a log line could show about an error: message, stack and the whole cause chain. */
function everythingShown(err: Error): string {
  return `${err.message}\n${inspect(err, { depth: 10 })}`;
}

describe('redactUrl', () => {
  it('keeps scheme, host and the first path segment of a Workflows URL and drops sig, sp and sv', () => {
    const shown = redactUrl(workflowUrl('https://prod-12.westeurope.logic.azure.com:443'));
    expect(shown).toBe('https://prod-12.westeurope.logic.azure.com/workflows/…');
    expect(shown).not.toContain(SIG);
    expect(shown).not.toMatch(/sig|sp=|sv=|triggers/);
  });

  it('drops the token path of a Slack webhook and any user info', () => {
    expect(redactUrl('https://hooks.slack.com/services/T0000/B0000/XXXXXXXXXXXXXXXXXXXXXXXX')).toBe('https://hooks.slack.com/services/…');
    expect(redactUrl('https://user:pa55word@example.com/api')).toBe('https://example.com/api');
    expect(redactUrl('https://example.com')).toBe('https://example.com');
    expect(redactUrl('not a url ?sig=abc')).not.toContain('sig');
  });
});

describe('redactSecrets', () => {
  it('replaces every given secret, also URL-encoded, longest first', () => {
    const token = 'ATATT3xFfGF0-secret/with+chars';
    const text = `auth failed for ${token} (sent as ${encodeURIComponent(token)})`;
    const out = redactSecrets(text, [token, undefined, null]);
    expect(out).not.toContain(token);
    expect(out).not.toContain(encodeURIComponent(token));
    expect(out.match(/\[redacted\]/g)).toHaveLength(2);
  });

  it('cuts URLs with a query or deep path even when nobody listed them as secrets', () => {
    const out = redactSecrets(`could not reach ${workflowUrl('https://prod-1.logic.azure.com')} today`, []);
    expect(out).toBe('could not reach https://prod-1.logic.azure.com/workflows/… today');
    expect(redactSecrets('see https://contoso.atlassian.net/browse', [])).toBe('see https://contoso.atlassian.net/browse');
  });

  it('a secret cut off by the excerpt length leaves no prefix behind', async () => {
    const token = 'tok_0123456789abcdefghijklmnopqrstuvwxyz';
    const s = await startFakeServer(() => reply(400, `${'e'.repeat(290)} ${token}`));
    servers.push(s);
    const err = await failure(send({ method: 'GET', url: s.url, target: 'x', secrets: [token] }));
    expect(err.message).not.toContain('tok_0123');
  });

  it('ignores values too short to be secrets', () => {
    expect(redactSecrets('a b c', ['a', ''])).toBe('a b c');
  });
});

describe('resolveSecret', () => {
  it('resolves env:NAME references from the given environment', () => {
    expect(resolveSecret('env:JIRA_TOKEN', { JIRA_TOKEN: 'tok-123' })).toBe('tok-123');
    expect(resolveSecret(undefined, {})).toBeUndefined();
  });

  it('an unset or empty variable is a config error naming the reference, not a value', () => {
    const unset = (() => {
      try {
        resolveSecret('env:JIRA_TOKEN', { OTHER: 'x' }, 'receivers.soc-jira.apiToken');
      } catch (e) {
        return e as KitError;
      }
      throw new Error('expected a KitError');
    })();
    expect(unset.kind).toBe('config');
    expect(unset.message).toContain('env:JIRA_TOKEN');
    expect(unset.where?.field).toBe('receivers.soc-jira.apiToken');
    expect(() => resolveSecret('env:JIRA_TOKEN', { JIRA_TOKEN: '  ' })).toThrow(/is missing or empty/);
  });

  it('an unresolved Key Vault reference is a config error, never used as the credential', () => {
    const ref = '@Microsoft.KeyVault(VaultName=kv-spk;SecretName=jira-api-token)';
    expect(() => resolveSecret('env:JIRA_API_TOKEN', { JIRA_API_TOKEN: ref })).toThrow(/Key Vault reference that did not resolve/);
  });

  it('a literal is refused without echoing it', () => {
    const literal = 'https://prod-1.logic.azure.com/workflows/abc?sig=LITERALSECRET';
    let err: KitError | undefined;
    try {
      resolveSecret(literal, {});
    } catch (e) {
      err = e as KitError;
    }
    expect(err?.kind).toBe('config');
    expect(err?.message).toMatch(/literal secrets are not allowed/);
    expect(err?.message).not.toContain('LITERALSECRET');
  });
});

describe('no webhook secret in any error the Teams connector raises', () => {
  const step = makeStep();
  const deliver = (url: string) =>
    createTeamsConnector({
      receiverName: 'soc-teams',
      receiver: { kind: 'teams', webhookUrl: 'env:TEAMS_WEBHOOK' },
      env: { TEAMS_WEBHOOK: url },
      fetchTimeoutMs: 2000,
    }).execute({ step, receiverName: 'soc-teams', receiver: { kind: 'teams' }, rendered: renderedTeams(step.incident), existingTicket: null });

  it('connection refused (network error whose cause names the address)', async () => {
    const s = await startFakeServer(() => reply(202));
    const url = workflowUrl(s.url);
    await s.close();
    const err = await failure(deliver(url));
    expect(err.kind).toBe('retryable');
    const shown = everythingShown(err);
    expect(shown).not.toContain(SIG);
    expect(shown).not.toContain('triggers/manual');
  });

  it('connection reset', async () => {
    const s = await startFakeServer(() => reset());
    servers.push(s);
    const err = await failure(deliver(workflowUrl(s.url)));
    expect(everythingShown(err)).not.toContain(SIG);
  });

  it('an error body that echoes the request URL', async () => {
    const s = await startFakeServer((req) => reply(400, { error: { message: `bad request to ${req.path}?${req.query.toString()}` } }));
    servers.push(s);
    const err = await failure(deliver(workflowUrl(s.url)));
    expect(err.kind).toBe('terminal');
    expect(everythingShown(err)).not.toContain(SIG);
  });

  it('a wrong signature (401 from the flow)', async () => {
    const teams = createFakeTeams({ sig: 'the-right-one' });
    const s = await startFakeServer(teams.handler);
    servers.push(s);
    const err = await failure(deliver(workflowUrl(s.url)));
    expect(err.kind).toBe('auth');
    expect(everythingShown(err)).not.toContain(SIG);
  });

  it('a URL the HTTP client cannot parse', async () => {
    const err = await failure(send({ method: 'POST', url: `https://exa mple.com/workflows/x?sig=${SIG}`, target: 'teams' }));
    expect(err.kind).toBe('config');
    expect(everythingShown(err)).not.toContain(SIG);
  });

  it('a webhook URL over plain http to a non-loopback host is refused before any request', async () => {
    const err = await failure(deliver(workflowUrl('http://prod-1.logic.azure.com')));
    expect(err.kind).toBe('config');
    expect(everythingShown(err)).not.toContain(SIG);
  });
});

describe('secretsOfUrl for a URL that is the secret', () => {
  it('names every long path segment after the first, even when the first is short', () => {
    const secret = 'Zq3vN8xLw2Kp9Tr4';
    const found = secretsOfUrl(`https://soar.example/webhook/tenant/${secret}`, true);
    expect(found).toContain(secret);
    expect(found).not.toContain('webhook');
    expect(redactSecrets(`POST failed for ${secret}`, found)).not.toContain(secret);
    // the first segment is what messages show of the URL; it is not named as a secret
    expect(secretsOfUrl('https://hooks.example/services/T0000/B0000/XXXXXXXXXXXXXXXX', true)).not.toContain('services');
  });
});
