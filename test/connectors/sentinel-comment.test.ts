import { afterEach, describe, expect, it } from 'vitest';
import { failure, useFakeServers } from '../helpers/errors.js';
import type { TokenCredential } from '@azure/identity';
import {
  addIncidentComment,
  commentIdFor,
  commentMessage,
  parseIncidentArmId,
  SENTINEL_API_VERSION,
  SENTINEL_COMMENT_MAX_CHARS,
  type CommentOutcome,
} from '../../functions/connectors/sentinel/comment.js';
import { KitError } from '../../functions/core/errors.js';
import { makeIncident } from '../fixtures/incident.js';
import { rateLimited, reply, serverError, startFakeServer, type FakeHandler, type FakeServer } from '../helpers/fake-server.js';

const incident = makeIncident();
const ARM_ID = incident.ids.sentinelArmId!;
const COMMENTS_PATH =
  '/subscriptions/d0cfe6b2-9ac0-4464-9919-dccaee2e48c0/resourceGroups/rg-sentinel/providers/Microsoft.OperationalInsights/workspaces/law-sentinel/providers/Microsoft.SecurityInsights/incidents/73e01a99-5cd7-4139-a149-9f2736ff2ab5/comments/';

const scopesAsked: string[] = [];
const credential: TokenCredential = {
  getToken: async (scopes) => {
    scopesAsked.push(...(Array.isArray(scopes) ? scopes : [scopes]));
    return { token: 'dummy-arm-token', expiresOnTimestamp: Date.now() + 3_600_000 };
  },
};

const fakeArm = useFakeServers();

/** ARM's answer to IncidentComments_CreateOrUpdate: the comment resource. */
const armComment: FakeHandler = (req) => {
  const message = (JSON.parse(req.body) as { properties: { message: string } }).properties.message;
  const name = req.path.split('/').pop();
  return reply(201, {
    id: req.path,
    name,
    type: 'Microsoft.SecurityInsights/Incidents/Comments',
    properties: { message, createdTimeUtc: '2026-11-26T09:37:00Z', author: { name: 'spk-func', objectId: '9b0c8a4e-3c61-4b8f-9d4f-3f6d2a1e0b7c' } },
  });
};

describe('commentIdFor', () => {
  it('is a stable UUID per idempotency key and differs between keys', () => {
    const a = commentIdFor('a'.repeat(64));
    expect(a).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(commentIdFor('a'.repeat(64))).toBe(a);
    expect(commentIdFor('b'.repeat(64))).not.toBe(a);
  });
});

describe('parseIncidentArmId', () => {
  it('reads subscription, resource group, workspace and incident (segment names in any case)', () => {
    expect(parseIncidentArmId(ARM_ID)).toEqual({
      subscriptionId: 'd0cfe6b2-9ac0-4464-9919-dccaee2e48c0',
      resourceGroup: 'rg-sentinel',
      workspaceName: 'law-sentinel',
      incidentId: '73e01a99-5cd7-4139-a149-9f2736ff2ab5',
    });
  });

  it('anything else is a validation error', () => {
    expect(() => parseIncidentArmId('/subscriptions/x/resourceGroups/y')).toThrow(KitError);
  });
});

describe('commentMessage', () => {
  const jiraTicket = { receiver: 'soc-jira', incidentKey: '12345', id: '10000', key: 'SOC-1', url: 'https://contoso.atlassian.net/browse/SOC-1', state: 'open' as const };

  it('says per receiver what happened and links the tickets', () => {
    const message = commentMessage(
      [
        { receiver: 'soc-teams', kind: 'teams', action: 'sent', ticket: null },
        { receiver: 'soc-jira', kind: 'jira', action: 'created', ticket: jiraTicket },
      ],
      incident,
    );
    expect(message).toContain('incident 3177');
    expect(message).toContain('<li>soc-teams (teams): notified</li>');
    expect(message).toContain('<li>soc-jira (jira): ticket created: <a href="https://contoso.atlassian.net/browse/SOC-1">SOC-1</a></li>');
  });

  it('leaves no live markup from text the kit did not write', () => {
    const message = commentMessage(
      [
        {
          receiver: '<img src=x onerror=alert(1)>',
          kind: 'jira',
          action: 'updated',
          ticket: { ...jiraTicket, key: '<script>alert(1)</script>"onmouseover="x', url: 'javascript:alert(1)' },
        },
      ],
      makeIncident({ number: null, key: '<b>1</b>' }),
    );
    expect(message).not.toMatch(/<img|<script|javascript:|<b>1/);
    expect(message).not.toContain('"onmouseover');
    expect(message).toContain('&quot;onmouseover=&quot;x');
  });

  it('links only https ticket URLs', () => {
    const message = commentMessage([{ receiver: 'r', kind: 'jira', action: 'created', ticket: { ...jiraTicket, url: 'http://contoso.atlassian.net/browse/SOC-1' } }], incident);
    expect(message).not.toContain('<a ');
    expect(message).toContain('SOC-1');
  });

  it('stays within 30000 characters and says how many lines were left out', () => {
    const outcomes: CommentOutcome[] = Array.from({ length: 2000 }, (_, i) => ({ receiver: `receiver-${i}`, kind: 'teams', action: 'sent', ticket: null }));
    const message = commentMessage(outcomes, incident);
    expect(message.length).toBeLessThanOrEqual(SENTINEL_COMMENT_MAX_CHARS);
    const shown = (message.match(/<li>receiver-/g) ?? []).length;
    expect(message).toContain(`… and ${2000 - shown} more`);
  });
});

describe('addIncidentComment against a loopback ARM', () => {
  it('PUTs {properties:{message}} to the incident comment with api-version and a bearer token', async () => {
    const arm = await fakeArm(armComment);
    const commentId = commentIdFor('c'.repeat(64));
    await addIncidentComment({ incidentArmId: ARM_ID, message: '<p>hello</p>', commentId, credential, endpoint: arm.url });
    expect(arm.requests).toHaveLength(1);
    const req = arm.requests[0]!;
    expect(req.method).toBe('PUT');
    expect(req.path).toBe(`${COMMENTS_PATH}${commentId}`);
    expect(req.query.get('api-version')).toBe(SENTINEL_API_VERSION);
    expect(req.headers.authorization).toBe('Bearer dummy-arm-token');
    expect(req.headers['content-type']).toMatch(/^application\/json/);
    expect(JSON.parse(req.body)).toEqual({ properties: { message: '<p>hello</p>' } });
    expect(scopesAsked).toContain(`${arm.url}/.default`);
  });

  it('a retried comment PUTs to the same comment id, so it overwrites instead of adding', async () => {
    const arm = await fakeArm(armComment);
    const commentId = commentIdFor('d'.repeat(64));
    await addIncidentComment({ incidentArmId: ARM_ID, message: 'one', commentId, credential, endpoint: arm.url });
    await addIncidentComment({ incidentArmId: ARM_ID, message: 'one', commentId, credential, endpoint: arm.url });
    expect(new Set(arm.requests.map((r) => r.path)).size).toBe(1);
  });

  it('cuts a message over 30000 characters', async () => {
    const arm = await fakeArm(armComment);
    await addIncidentComment({ incidentArmId: ARM_ID, message: 'x'.repeat(40_000), commentId: commentIdFor('e'), credential, endpoint: arm.url });
    const sent = (JSON.parse(arm.requests[0]!.body) as { properties: { message: string } }).properties.message;
    expect(sent.length).toBe(SENTINEL_COMMENT_MAX_CHARS);
  });

  it('429 → rate-limited with Retry-After, and exactly one attempt (the SDK does not retry)', async () => {
    const arm = await fakeArm(() => rateLimited(11));
    const err = await failure(addIncidentComment({ incidentArmId: ARM_ID, message: 'm', commentId: commentIdFor('f'), credential, endpoint: arm.url }));
    expect(err).toMatchObject({ kind: 'rate-limited', statusCode: 429, retryAfterMs: 11_000 });
    expect(arm.requests).toHaveLength(1);
  });

  it('500 → retryable after one attempt; 403 → auth; 404 → terminal', async () => {
    let answer = serverError(500);
    const arm = await fakeArm(() => answer);
    const call = () => addIncidentComment({ incidentArmId: ARM_ID, message: 'm', commentId: commentIdFor('g'), credential, endpoint: arm.url });
    expect((await failure(call())).kind).toBe('retryable');
    expect(arm.requests).toHaveLength(1);
    answer = reply(403, { error: { code: 'AuthorizationFailed', message: 'The client does not have authorization' } });
    expect((await failure(call())).kind).toBe('auth');
    answer = reply(404, { error: { code: 'NotFound', message: 'Incident not found' } });
    const notFound = await failure(call());
    expect(notFound.kind).toBe('terminal');
    expect(notFound.message).toContain('Incident not found');
  });

  it('connection refused → retryable', async () => {
    const arm = await startFakeServer(armComment);
    await arm.close();
    const err = await failure(addIncidentComment({ incidentArmId: ARM_ID, message: 'm', commentId: commentIdFor('h'), credential, endpoint: arm.url }));
    expect(err.kind).toBe('retryable');
  });

  it('refuses plain http to anything but loopback before calling the credential', async () => {
    let asked = 0;
    const counting: TokenCredential = { getToken: async () => (asked++, { token: 't', expiresOnTimestamp: Date.now() + 1000 }) };
    const err = await failure(
      addIncidentComment({ incidentArmId: ARM_ID, message: 'm', commentId: commentIdFor('i'), credential: counting, endpoint: 'http://management.azure.com' }),
    );
    expect(err.kind).toBe('config');
    expect(asked).toBe(0);
  });
});
