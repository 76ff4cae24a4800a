/**
 * ServiceNow (engine + servicenow/target.ts) against the fake instance, through the one ticket contract.
 * Run three ways: incident with Basic auth (reopens on reactivation by default), incident with OAuth
 * client credentials, and Security Incident Response's sn_si_incident with its own states and no
 * reopen state (a reactivation arrives as a note).
 */
import { createServicenowConnector } from '../../functions/connectors/servicenow/servicenow.js';
import { servicenowCorrelationIds } from '../../functions/connectors/servicenow/payload.js';
import type { ReceiverOf } from '../../functions/config/schema.js';
import { makeIncident } from '../fixtures/incident.js';
import { startFakeServer, type FakeHandler, type FakeResult, type RecordedRequest } from '../helpers/fake-server.js';
import { createFakeServicenow, renderedServicenow } from './fakes/servicenow.js';
import { ticketTargetContract, type TicketCall, type TicketHarness } from './tickets/contract.js';

const USER = 'svc-sentinel-kit';
const PASSWORD = 'sn-contract-password-0123456789';
const CLIENT_ID = '3f0c9a1e5b7d4c2a9e8f6b4d2c0a1e3f';
const CLIENT_SECRET = 'sn-contract-client-secret-0123456789';
const WRONG = 'sn-wrong-secret-9876543210';

function callOf(req: RecordedRequest, table: string): TicketCall | null {
  if (req.path === `/api/now/table/${table}`) return req.method === 'GET' ? 'find' : req.method === 'POST' ? 'create' : null;
  if (req.method !== 'PATCH' || !req.path.startsWith(`/api/now/table/${table}/`)) return null;
  return 'state' in (JSON.parse(req.body) as Record<string, unknown>) ? 'transition' : 'comment';
}

interface Variant {
  auth: 'basic' | 'oauth';
  table: 'incident' | 'sn_si_incident';
}

function makeServicenowHarness(variant: Variant) {
  return async (): Promise<TicketHarness> => {
    let clock = Date.UTC(2026, 10, 26, 9, 36);
    const sn = createFakeServicenow({ username: USER, password: PASSWORD, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, now: () => clock });
    const pending: Array<{ call: TicketCall; failure: FakeResult; when: 'before' | 'after'; left: number }> = [];
    const handler: FakeHandler = async (req, params) => {
      const call = callOf(req, variant.table);
      const hit = pending.find((p) => p.call === call && p.left > 0);
      if (!hit) return sn.handler(req, params);
      hit.left--;
      if (hit.when === 'after') await sn.handler(req, params);
      return hit.failure;
    };
    const server = await startFakeServer(handler);
    const credentials = variant.auth === 'basic' ? { username: 'env:SN_USER', password: 'env:SN_PASSWORD' } : { clientId: 'env:SN_CLIENT_ID', clientSecret: 'env:SN_CLIENT_SECRET' };
    // SIR: Closed is 3, Cancelled 7; no reopenState, so a reactivated incident's record stays closed
    const states = variant.table === 'sn_si_incident' ? { resolvedState: '3', doneStates: ['3', '7'] } : {};
    const receiver: ReceiverOf<'servicenow'> = { kind: 'servicenow', instanceUrl: server.url, table: variant.table, noteField: 'work_notes', ...credentials, ...states };
    const env = (secret: string) => ({ SN_USER: USER, SN_PASSWORD: secret, SN_CLIENT_ID: CLIENT_ID, SN_CLIENT_SECRET: secret });
    const make = (secret: string, onTicketCreated?: Parameters<typeof createServicenowConnector>[0]['onTicketCreated']) =>
      createServicenowConnector({ receiverName: 'soc-servicenow', receiver, env: env(secret), fetchTimeoutMs: 5000, ...(onTicketCreated ? { onTicketCreated } : {}) });
    const done = new Set(variant.table === 'sn_si_incident' ? ['3', '7'] : ['6', '7', '8']);
    return {
      receiverName: 'soc-servicenow',
      kind: 'servicenow',
      reopens: variant.table === 'incident',
      searchLagMs: 0,
      connector: (options = {}) => make(variant.auth === 'basic' ? PASSWORD : CLIENT_SECRET, options.onTicketCreated),
      connectorWithWrongCredentials: () => make(WRONG),
      wrongSecret: WRONG,
      request: (step, existingTicket) => ({ step, receiverName: 'soc-servicenow', receiver, rendered: renderedServicenow(step.incident), existingTicket }),
      fail: (call, failure, options = {}) => pending.push({ call, failure, when: options.when ?? 'before', left: options.times ?? 1 }),
      tickets: (incidentKey) => {
        const ids = servicenowCorrelationIds({ incident: makeIncident({ key: incidentKey }), incidentKey });
        return sn
          .records(variant.table)
          .filter((r) => ids.includes(r.correlation_id ?? ''))
          .map((r) => ({ state: done.has(r.state ?? '') ? 'resolved' : 'open', comments: sn.journal(r.sys_id!).length }));
      },
      requestCount: () => server.requests.length,
      advance: (ms) => {
        clock += ms;
      },
      close: () => server.close(),
    };
  };
}

ticketTargetContract('servicenow', makeServicenowHarness({ auth: 'basic', table: 'incident' }));
ticketTargetContract('servicenow with OAuth client credentials', makeServicenowHarness({ auth: 'oauth', table: 'incident' }));
ticketTargetContract('servicenow on sn_si_incident (Security Incident Response)', makeServicenowHarness({ auth: 'basic', table: 'sn_si_incident' }));
