/**
 * Freshservice (engine + freshservice/target.ts) against the fake Freshservice, through the one ticket
 * contract, with a filter that lags a minute behind a create (its consistency is not documented).
 */
import { createFreshserviceConnector } from '../../functions/connectors/freshservice/freshservice.js';
import { freshserviceIncidentTag } from '../../functions/connectors/freshservice/payload.js';
import type { ReceiverOf } from '../../functions/config/schema.js';
import { startFakeServer, type FakeHandler, type FakeResult, type RecordedRequest } from '../helpers/fake-server.js';
import { createFakeFreshservice, renderedFreshservice } from './fakes/freshservice.js';
import { ticketTargetContract, type TicketCall, type TicketHarness } from './tickets/contract.js';

const API_KEY = 'fs-contract-key-0123456789abcdef';
const WRONG = 'fs-wrong-key-fedcba9876543210';
const FILTER_LAG_MS = 60_000;

function callOf(req: RecordedRequest): TicketCall | null {
  if (req.method === 'GET' && req.path === '/api/v2/tickets/filter') return 'find';
  if (req.method === 'POST' && req.path === '/api/v2/tickets') return 'create';
  if (req.method === 'POST' && req.path.endsWith('/notes')) return 'comment';
  if (req.method === 'PUT' && /"status":4/.test(req.body)) return 'transition';
  return null;
}

async function makeFreshserviceHarness(): Promise<TicketHarness> {
  let clock = Date.UTC(2026, 10, 26, 9, 36);
  const fs = createFakeFreshservice({ apiKey: API_KEY, filterLagMs: FILTER_LAG_MS, now: () => clock });
  const pending: Array<{ call: TicketCall; failure: FakeResult; when: 'before' | 'after'; left: number }> = [];
  const handler: FakeHandler = async (req, params) => {
    const call = callOf(req);
    const hit = pending.find((p) => p.call === call && p.left > 0);
    if (!hit) return fs.handler(req, params);
    hit.left--;
    if (hit.when === 'after') await fs.handler(req, params);
    return hit.failure;
  };
  const server = await startFakeServer(handler);
  const receiver: ReceiverOf<'freshservice'> = { kind: 'freshservice', baseUrl: server.url, apiKey: 'env:FRESHSERVICE_API_KEY', requesterEmail: 'soc@contoso.example' };
  const make = (key: string, onTicketCreated?: Parameters<typeof createFreshserviceConnector>[0]['onTicketCreated']) =>
    createFreshserviceConnector({
      receiverName: 'soc-freshservice',
      receiver,
      env: { FRESHSERVICE_API_KEY: key },
      fetchTimeoutMs: 5000,
      now: () => clock,
      ...(onTicketCreated ? { onTicketCreated } : {}),
    });
  return {
    receiverName: 'soc-freshservice',
    kind: 'freshservice',
    reopens: true,
    searchLagMs: FILTER_LAG_MS,
    connector: (options = {}) => make(API_KEY, options.onTicketCreated),
    connectorWithWrongCredentials: () => make(WRONG),
    wrongSecret: WRONG,
    request: (step, existingTicket) => ({ step, receiverName: 'soc-freshservice', receiver, rendered: renderedFreshservice(step.incident), existingTicket }),
    fail: (call, failure, options = {}) => pending.push({ call, failure, when: options.when ?? 'before', left: options.times ?? 1 }),
    tickets: (incidentKey) => fs.withTag(freshserviceIncidentTag(incidentKey)).map((t) => ({ state: t.status >= 4 ? 'resolved' : 'open', comments: t.notes.length })),
    requestCount: () => server.requests.length,
    advance: (ms) => {
      clock += ms;
    },
    close: () => server.close(),
  };
}

ticketTargetContract('freshservice', makeFreshserviceHarness);
