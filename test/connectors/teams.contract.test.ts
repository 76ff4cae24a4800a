/** Teams (Workflows webhook) against its fake, through the one notifier contract. */
import { TEAMS_MAX_BYTES } from '../../functions/connectors/teams/payload.js';
import { createTeamsConnector } from '../../functions/connectors/teams/teams.js';
import type { ReceiverOf } from '../../functions/config/schema.js';
import { makeIncident, makeStep } from '../fixtures/incident.js';
import { renderedTeams } from '../fixtures/rendered.js';
import { createFakeTeams, reply, startFakeServer, type FakeHandler, type FakeResult } from '../helpers/fake-server.js';
import { notifierContract, type NotifierHarness } from './notifiers/contract.js';

const SIG = 'c2lnLXZhbHVlLWZvci1jb250cmFjdC10ZXN0cw';
const receiver: ReceiverOf<'teams'> = { kind: 'teams', webhookUrl: 'env:SOC_TEAMS_WEBHOOK' };
const failedWith = (text: string) => reply(200, `Webhook message delivery failed with error: ${text}`, { 'content-type': 'text/plain' });

async function makeTeamsHarness(): Promise<NotifierHarness> {
  const teams = createFakeTeams({ sig: SIG });
  const queued: Array<{ result: FakeResult; left: number }> = [];
  const handler: FakeHandler = (req, params) => {
    const next = queued.find((q) => q.left > 0);
    if (!next) return teams.handler(req, params);
    next.left--;
    return next.result;
  };
  const server = await startFakeServer(handler);
  const url = `${server.url}${teams.path}?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=${SIG}`;
  const step = makeStep();
  const request = (rendered = renderedTeams(step.incident)) => ({ step, receiverName: 'soc-teams', receiver, rendered, existingTicket: null });
  return {
    // a hung connection must end the call; the fake never answers it, so the outcome does not depend on timing
    connector: () => createTeamsConnector({ receiverName: 'soc-teams', receiver, env: { SOC_TEAMS_WEBHOOK: url }, fetchTimeoutMs: 250 }),
    request: () => request(),
    oversizedRequest: () => {
      const incident = makeIncident({ description: 'Raspberry Robin worm spread. '.repeat(8000) });
      return request(renderedTeams(incident));
    },
    maxBytes: TEAMS_MAX_BYTES,
    answerNext: (result, times = 1) => queued.push({ result, left: times }),
    successesThatFailed: [
      { reply: failedWith('Microsoft Teams endpoint returned HTTP error 429 with ContextId tcid=0,server=msgapi'), kind: 'rate-limited', retryAfterMs: 15_000 },
      { reply: failedWith('Microsoft Teams endpoint returned HTTP error 502 with ContextId tcid=0'), kind: 'retryable' },
      { reply: failedWith('Microsoft Teams endpoint returned HTTP error 400 with ContextId tcid=0'), kind: 'terminal' },
      { reply: failedWith('Microsoft Teams endpoint returned HTTP error 403 with ContextId tcid=0'), kind: 'auth' },
      { reply: failedWith('the connector could not be reached'), kind: 'retryable' },
    ],
    accepted: () => teams.messages,
    bodies: () => server.requests.map((r) => r.body),
    url,
    secrets: [SIG],
    close: () => server.close(),
  };
}

notifierContract('teams', makeTeamsHarness);
