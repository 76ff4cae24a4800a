/**
 * Zendesk (engine + zendesk/target.ts) against the fake Zendesk, through the one ticket contract.
 * Zendesk's external_id list is read-after-write, so the harness's search lag is 0.
 */
import { createZendeskConnector } from '../../functions/connectors/zendesk/zendesk.js';
import type { ReceiverOf } from '../../functions/config/schema.js';
import { startFakeServer, type FakeHandler, type FakeResult, type RecordedRequest } from '../helpers/fake-server.js';
import { createFakeZendesk, renderedZendesk } from './fakes/zendesk.js';
import { ticketTargetContract, type TicketCall, type TicketHarness } from './tickets/contract.js';

const EMAIL = 'soc-bot@contoso.com';
const TOKEN = 'zd-contract-token-0123456789abcdef';
const WRONG = 'zd-wrong-token-fedcba9876543210';

function callOf(req: RecordedRequest): TicketCall | null {
  if (req.path === '/api/v2/tickets.json') return req.method === 'POST' ? 'create' : 'find';
  if (req.method === 'PUT') return /"status":"solved"/.test(req.body) ? 'transition' : 'comment';
  return null;
}

async function makeZendeskHarness(): Promise<TicketHarness> {
  let clock = Date.UTC(2026, 10, 26, 9, 36);
  const zendesk = createFakeZendesk({ email: EMAIL, apiToken: TOKEN, now: () => clock });
  const pending: Array<{ call: TicketCall; failure: FakeResult; when: 'before' | 'after'; left: number }> = [];
  const handler: FakeHandler = async (req, params) => {
    const call = callOf(req);
    const hit = pending.find((p) => p.call === call && p.left > 0);
    if (!hit) return zendesk.handler(req, params);
    hit.left--;
    if (hit.when === 'after') await zendesk.handler(req, params);
    return hit.failure;
  };
  const server = await startFakeServer(handler);
  const receiver: ReceiverOf<'zendesk'> = { kind: 'zendesk', baseUrl: server.url, email: 'env:ZENDESK_EMAIL', apiToken: 'env:ZENDESK_API_TOKEN' };
  const make = (token: string, onTicketCreated?: Parameters<typeof createZendeskConnector>[0]['onTicketCreated']) =>
    createZendeskConnector({
      receiverName: 'soc-zendesk',
      receiver,
      env: { ZENDESK_EMAIL: EMAIL, ZENDESK_API_TOKEN: token },
      fetchTimeoutMs: 5000,
      ...(onTicketCreated ? { onTicketCreated } : {}),
    });
  return {
    receiverName: 'soc-zendesk',
    kind: 'zendesk',
    reopens: true,
    searchLagMs: 0,
    connector: (options = {}) => make(TOKEN, options.onTicketCreated),
    connectorWithWrongCredentials: () => make(WRONG),
    wrongSecret: WRONG,
    request: (step, existingTicket) => ({ step, receiverName: 'soc-zendesk', receiver, rendered: renderedZendesk(step.incident), existingTicket }),
    fail: (call, failure, options = {}) => pending.push({ call, failure, when: options.when ?? 'before', left: options.times ?? 1 }),
    tickets: (incidentKey) =>
      zendesk.withExternalId(incidentKey).map((t) => ({ state: t.status === 'solved' || t.status === 'closed' ? 'resolved' : 'open', comments: t.comments.length })),
    requestCount: () => server.requests.length,
    advance: (ms) => {
      clock += ms;
    },
    close: () => server.close(),
  };
}

ticketTargetContract('zendesk', makeZendeskHarness);
