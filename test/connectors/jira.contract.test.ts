/**
 * Jira (engine + jira/target.ts) against the fake Jira Cloud, through the one ticket contract. Run twice:
 * as shipped (a reactivation reaches a done issue as a comment) and with a reopen transition.
 */
import { createJiraConnector } from '../../functions/connectors/jira/jira.js';
import { jiraLabelFor } from '../../functions/connectors/jira/payload.js';
import type { ReceiverOf } from '../../functions/config/schema.js';
import { renderedJira } from '../fixtures/rendered.js';
import { createFakeJira, startFakeServer, type FakeHandler, type FakeResult, type RecordedRequest } from '../helpers/fake-server.js';
import { ticketTargetContract, type TicketCall, type TicketHarness } from './tickets/contract.js';

const EMAIL = 'soc-bot@contoso.com';
const TOKEN = 'ATATT3xFfGF0-contract-token-0123456789';
const WRONG = 'ATATT3xFfGF0-wrong-token-9876543210';
const SEARCH_LAG_MS = 60_000;

function callOf(req: RecordedRequest): TicketCall | null {
  if (req.method !== 'POST') return null;
  if (req.path === '/rest/api/3/search/jql') return 'find';
  if (req.path === '/rest/api/3/issue') return 'create';
  if (req.path.endsWith('/comment')) return 'comment';
  if (req.path.endsWith('/transitions')) return 'transition';
  return null;
}

function makeJiraHarness(reopenTransition?: string) {
  return async (): Promise<TicketHarness> => {
    let clock = Date.UTC(2026, 10, 26, 9, 36);
    const jira = createFakeJira({ project: 'SOC', email: EMAIL, apiToken: TOKEN, searchLagMs: SEARCH_LAG_MS, now: () => clock });
    const pending: Array<{ call: TicketCall; failure: FakeResult; when: 'before' | 'after'; left: number }> = [];
    const handler: FakeHandler = async (req, params) => {
      const call = callOf(req);
      const hit = pending.find((p) => p.call === call && p.left > 0);
      if (!hit) return jira.handler(req, params);
      hit.left--;
      if (hit.when === 'after') await jira.handler(req, params);
      return hit.failure;
    };
    const server = await startFakeServer(handler);
    const receiver: ReceiverOf<'jira'> = {
      kind: 'jira',
      baseUrl: server.url,
      email: 'env:JIRA_EMAIL',
      apiToken: 'env:JIRA_API_TOKEN',
      project: 'SOC',
      issueType: 'Task',
      doneTransition: 'Done',
      labels: [],
    };
    const make = (token: string, onTicketCreated?: Parameters<typeof createJiraConnector>[0]['onTicketCreated']) =>
      createJiraConnector({
        receiverName: 'soc-jira',
        receiver,
        env: { JIRA_EMAIL: EMAIL, JIRA_API_TOKEN: token },
        fetchTimeoutMs: 5000,
        ...(reopenTransition ? { reopenTransition } : {}),
        ...(onTicketCreated ? { onTicketCreated } : {}),
      });
    return {
      receiverName: 'soc-jira',
      kind: 'jira',
      reopens: reopenTransition !== undefined,
      searchLagMs: SEARCH_LAG_MS,
      connector: (options = {}) => make(TOKEN, options.onTicketCreated),
      connectorWithWrongCredentials: () => make(WRONG),
      wrongSecret: WRONG,
      request: (step, existingTicket) => ({ step, receiverName: 'soc-jira', receiver, rendered: renderedJira(step.incident), existingTicket }),
      fail: (call, failure, options = {}) => pending.push({ call, failure, when: options.when ?? 'before', left: options.times ?? 1 }),
      tickets: (incidentKey) =>
        jira.issuesWithLabel(jiraLabelFor(incidentKey)).map((i) => ({ state: i.status.category === 'done' ? 'resolved' : 'open', comments: i.comments.length })),
      requestCount: () => server.requests.length,
      advance: (ms) => {
        clock += ms;
      },
      close: () => server.close(),
    };
  };
}

ticketTargetContract('jira', makeJiraHarness());
ticketTargetContract('jira with a reopen transition', makeJiraHarness('To Do'));
