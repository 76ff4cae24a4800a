/**
 * Azure DevOps (engine + azuredevops/target.ts) against the fake organization, through the one ticket
 * contract: with a PAT on the Basic process (To Do / Doing / Done), and with a managed-identity token on
 * the Agile process (New / Active / Closed), where WIQL lags behind creates to prove the settle delay.
 */
import type { TokenCredential } from '@azure/identity';
import { createAzuredevopsConnector } from '../../functions/connectors/azuredevops/azuredevops.js';
import { adoIncidentTag } from '../../functions/connectors/azuredevops/payload.js';
import type { ReceiverOf } from '../../functions/config/schema.js';
import { startFakeServer, type FakeHandler, type FakeResult, type RecordedRequest } from '../helpers/fake-server.js';
import { AGILE_TASK_STATES, BASIC_STATES, createFakeAzureDevOps, renderedAdo, type FakeAdoState } from './fakes/azuredevops.js';
import { ticketTargetContract, type TicketCall, type TicketHarness } from './tickets/contract.js';

const PAT = 'ado-contract-pat-0123456789abcdefghijklmnopqrstuvwxyz';
const WRONG = 'ado-wrong-pat-9876543210zyxwvutsrqponmlkjihgfedcba';
const ENTRA = 'eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.contract-entra-token';

function callOf(req: RecordedRequest): TicketCall | null {
  if (req.method === 'POST' && req.path.endsWith('/_apis/wit/wiql')) return 'find';
  if (req.method === 'POST' && /\/_apis\/wit\/workitems\/\$/.test(req.path)) return 'create';
  if (req.method === 'PATCH') return req.body.includes('/fields/System.State') ? 'transition' : 'comment';
  return null;
}

function fakeCredential(token: string): TokenCredential {
  return { getToken: async () => ({ token, expiresOnTimestamp: Date.now() + 3_600_000 }) };
}

function makeAdoHarness(setup: { states: FakeAdoState[]; auth: 'pat' | 'entra'; wiqlLagMs: number }) {
  return async (): Promise<TicketHarness> => {
    let clock = Date.UTC(2026, 10, 26, 9, 36);
    const ado = createFakeAzureDevOps({ project: 'SecOps', types: { Task: setup.states }, pat: PAT, bearerToken: ENTRA, wiqlLagMs: setup.wiqlLagMs, now: () => clock });
    const pending: Array<{ call: TicketCall; failure: FakeResult; when: 'before' | 'after'; left: number }> = [];
    const handler: FakeHandler = async (req, params) => {
      const call = callOf(req);
      const hit = pending.find((p) => p.call === call && p.left > 0);
      if (!hit) return ado.handler(req, params);
      hit.left--;
      if (hit.when === 'after') await ado.handler(req, params);
      return hit.failure;
    };
    const server = await startFakeServer(handler);
    const done = setup.states.find((s) => s.category === 'Completed')!.name;
    const receiver: ReceiverOf<'azuredevops'> = {
      kind: 'azuredevops',
      organizationUrl: server.url,
      project: 'SecOps',
      workItemType: 'Task',
      doneState: done,
      ...(setup.auth === 'pat' ? { pat: 'env:ADO_PAT' } : {}),
    };
    // the one secret either way: the PAT, or the token the identity hands out
    const make = (secret: string, onTicketCreated?: Parameters<typeof createAzuredevopsConnector>[0]['onTicketCreated']) =>
      createAzuredevopsConnector({
        receiverName: 'soc-ado',
        receiver,
        env: { ADO_PAT: secret },
        fetchTimeoutMs: 5000,
        credential: fakeCredential(setup.auth === 'entra' ? secret : 'not-asked-with-a-pat'),
        ...(onTicketCreated ? { onTicketCreated } : {}),
      });
    const secret = setup.auth === 'pat' ? PAT : ENTRA;
    return {
      receiverName: 'soc-ado',
      kind: 'azuredevops',
      reopens: true,
      searchLagMs: setup.wiqlLagMs,
      connector: (options = {}) => make(secret, options.onTicketCreated),
      connectorWithWrongCredentials: () => make(WRONG),
      wrongSecret: WRONG,
      request: (step, existingTicket) => ({ step, receiverName: 'soc-ado', receiver, rendered: renderedAdo(), existingTicket }),
      fail: (call, failure, options = {}) => pending.push({ call, failure, when: options.when ?? 'before', left: options.times ?? 1 }),
      tickets: (incidentKey) =>
        ado.withTag(adoIncidentTag(incidentKey)).map((w) => {
          const category = ado.categoryOf(w);
          return { state: category === 'Completed' || category === 'Removed' ? 'resolved' : 'open', comments: w.comments.length };
        }),
      requestCount: () => server.requests.length,
      advance: (ms) => {
        clock += ms;
      },
      close: () => server.close(),
    };
  };
}

ticketTargetContract('azuredevops (PAT, Basic process)', makeAdoHarness({ states: BASIC_STATES, auth: 'pat', wiqlLagMs: 0 }));
ticketTargetContract('azuredevops (managed identity, Agile process, WIQL lagging)', makeAdoHarness({ states: AGILE_TASK_STATES, auth: 'entra', wiqlLagMs: 20_000 }));
