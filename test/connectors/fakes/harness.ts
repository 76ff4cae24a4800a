/** Pieces the notifier-contract harnesses of the loopback fakes share (notifiers/contract.ts). */
import type { FakeHandler, FakeResult, FakeServer } from '../../helpers/fake-server.js';

/** a fake behind a queue of answers: the next `times` requests get `result` instead of the fake's own */
export function queueAnswers(next: FakeHandler): { handler: FakeHandler; answerNext: (result: FakeResult, times?: number) => void } {
  const queued: Array<{ result: FakeResult; left: number }> = [];
  const handler: FakeHandler = (req, params) => {
    const q = queued.find((x) => x.left > 0);
    if (!q) return next(req, params);
    q.left--;
    return q.result;
  };
  return { handler, answerNext: (result, times = 1) => void queued.push({ result, left: times }) };
}

/** what a contract harness on a Twilio fake reports: the bodies of its creates, the URL, what must never leak */
export function twilioHarnessParts(server: FakeServer, path: string, account: { accountSid: string; authToken: string }) {
  return {
    bodies: () => server.requests.filter((r) => r.path === path).map((r) => r.body),
    url: `${server.url}${path}`,
    secrets: [account.authToken, account.accountSid, Buffer.from(`${account.accountSid}:${account.authToken}`).toString('base64')],
    close: () => server.close(),
  };
}
