/**
 * Slack, live: an incoming webhook (every moment a new message; the URL is the credential) or the Web
 * API with a bot token, where the incident's first moment is one chat.postMessage and every later
 * moment a reply in its thread, an edit of it (chat.update), or both (`updates`). The first message's
 * channel and ts are kept in the kit's ticket store (a TicketRef `<channel>/<ts>`, returned in the
 * result; the pipeline stores it and hands it back as `existingTicket`).
 *
 * Slack has no idempotency key, so a chat.postMessage whose answer was lost may have posted. Every
 * message carries metadata (event_type sentinel_incident_change: incident key, receiver, step key), and
 * a retry (attempt > 1) looks for it before posting again: conversations.history for the incident's
 * first message, conversations.replies for a thread reply. chat.update needs no lookup: the same edit
 * twice is the same message. What is left (docs: RECEIVERS.md "Slack"):
 *  - the lookup reads one page (100 messages, or the 15 Slack's 2025 limits allow some apps) since the
 *    step was planned; a lost message behind more than that is not seen, and the retry posts again;
 *  - a first try never looks (a lookup per message would cost the history call every time), so a
 *    *different* step of the incident whose predecessor posted but was never recorded posts a second
 *    top-level message;
 *  - a webhook cannot be asked anything: a retried webhook post whose answer was lost is a duplicate.
 */
import { createHash } from 'node:crypto';
import type { SlackReceiver } from './schema.js';
import { KitError } from '../../core/errors.js';
import { bearerAuth, createTargetClient, slackWebhookCheck, webhookUrlAuth } from '../http/index.js';
import type { LiveConnectorOptions } from '../kind.js';
import { sendArguments } from '../request.js';
import { resolveSecret } from '../secrets.js';
import type { Connector, DeliveryRequest, DeliveryResult, OutboundRequest, PayloadInput } from '../types.js';
import { sameMessage, slackMessageOf, slackTicketRef, type SlackMessageRef } from './message-ref.js';
import { processPacer, type ChannelPacer } from './pacer.js';
import { buildSlackPost, buildSlackUpdate, buildSlackWebhookBody, updateModeOf } from './payload.js';
import { createSlackWebApi, slackCodeOf, slackWebApiCodeCheck, type IncidentMatch, type SlackWebApi } from './web-api.js';

export const SLACK_API_URL = 'https://slack.com/api';
/** a lookup starts this long before the step was planned: Slack's clock and ours need not agree */
export const SLACK_LOOKUP_SKEW_MS = 5 * 60_000;

/** the thread parent is gone (deleted): the moment becomes the incident's new first message */
const PARENT_GONE = new Set(['message_not_found', 'thread_not_found']);
/** the parent cannot be edited (workspace edit window, not the bot's message): the moment goes to the thread instead */
const CANNOT_EDIT = new Set(['edit_window_closed', 'cant_update_message']);

export interface SlackConnectorOptions extends LiveConnectorOptions<SlackReceiver> {
  /** one message per second per channel; default the process's shared pacer */
  pacer?: ChannelPacer;
}

function configError(message: string, field: string): KitError {
  return new KitError(message, { kind: 'config', where: { field } });
}

export function createSlackConnector(options: SlackConnectorOptions): Connector {
  const { receiverName, receiver } = options;
  const pacer = options.pacer ?? processPacer;
  const env = () => options.env ?? process.env;

  async function paced<T>(key: string, what: string, signal: AbortSignal | undefined, send: () => Promise<T>): Promise<T> {
    await pacer.take(key, what, signal);
    try {
      return await send();
    } catch (err) {
      if (err instanceof KitError && err.kind === 'rate-limited') pacer.holdOff(key, err.retryAfterMs ?? 0);
      throw err;
    }
  }

  async function viaWebhook(request: DeliveryRequest, input: PayloadInput<SlackReceiver>): Promise<DeliveryResult> {
    const field = `receivers.${receiverName}.webhookUrl`;
    // resolved per delivery so a rotated Key Vault secret is picked up without a restart
    const url = resolveSecret(receiver.webhookUrl, env(), field)!;
    const client = createTargetClient({ target: 'slack', baseUrl: url, field, auth: webhookUrlAuth(), check: slackWebhookCheck, timeoutMs: options.fetchTimeoutMs, secrets: [url] });
    // the pacer key must not be the URL itself: it is the credential
    const key = `webhook:${createHash('sha256').update(url).digest('hex').slice(0, 32)}`;
    const body = buildSlackWebhookBody(input);
    await paced(key, 'the incoming webhook', request.signal, () => client.send(sendArguments(body, request.signal ? { signal: request.signal } : {})));
    return { action: 'sent', ticket: null, outbox: null };
  }

  async function viaWebApi(request: DeliveryRequest, input: PayloadInput<SlackReceiver>, channel: string): Promise<DeliveryResult> {
    const field = `receivers.${receiverName}.botToken`;
    const token = resolveSecret(receiver.botToken, env(), field)!;
    const baseUrl = receiver.apiUrl ?? SLACK_API_URL;
    const client = createTargetClient({
      target: 'slack',
      baseUrl,
      field: receiver.apiUrl ? `receivers.${receiverName}.apiUrl` : field,
      auth: bearerAuth(token),
      check: slackWebApiCodeCheck,
      timeoutMs: options.fetchTimeoutMs,
      secrets: [token],
    });
    const api = createSlackWebApi(client);
    const { step, signal } = request;
    const retry = (request.attempt ?? 1) > 1;
    const match: IncidentMatch = { incidentKey: step.incidentKey, receiver: receiverName };
    const since = Date.parse(step.plannedAt) - SLACK_LOOKUP_SKEW_MS;
    const paceKey = (c: string) => `${baseUrl}#${c}`;
    const post = (req: OutboundRequest, c: string) => paced(paceKey(c), `channel ${c}`, signal, () => api.post(req, signal));
    const result = (parent: SlackMessageRef | null): DeliveryResult => ({
      action: 'sent',
      // the store learns only what it does not hold yet: a new or replaced first message
      ticket: parent && !sameMessage(parent, slackMessageOf(request.existingTicket)) ? slackTicketRef(receiverName, step.incidentKey, parent) : null,
      outbox: null,
    });

    const postFirst = async () => result(await post(buildSlackPost(input), channel));

    let parent = slackMessageOf(request.existingTicket);
    // a receiver moved to another channel starts a new thread there
    if (parent && parent.channel !== channel) parent = null;
    if (!parent && retry) {
      const found = await api.findIncidentMessage(channel, match, since, signal);
      // this step's own post landed and only the answer was lost
      if (found && found.idempotencyKey === step.idempotencyKey) return result(found);
      parent = found;
    }
    if (!parent) return postFirst();

    const mode = updateModeOf(receiver);
    let reply = mode !== 'edit';
    if (mode !== 'thread') {
      try {
        await api.update(buildSlackUpdate(input, parent), signal);
      } catch (err) {
        const code = slackCodeOf(err);
        if (code && PARENT_GONE.has(code)) return postFirst();
        if (!code || !CANNOT_EDIT.has(code)) throw err;
        // the edit is refused for good, so the moment is told in the thread rather than lost
        reply = true;
      }
    }
    if (reply && !(retry && (await api.hasReply(parent, match, step.idempotencyKey, since, signal)))) {
      try {
        await post(buildSlackPost(input, parent), parent.channel);
      } catch (err) {
        const code = slackCodeOf(err);
        if (code && PARENT_GONE.has(code)) return postFirst();
        throw err;
      }
    }
    return result(parent);
  }

  return {
    async execute(request: DeliveryRequest): Promise<DeliveryResult> {
      const input: PayloadInput<SlackReceiver> = {
        step: request.step,
        receiverName,
        receiver,
        rendered: request.rendered,
        operation: 'send',
        ticket: request.existingTicket,
      };
      if (receiver.botToken !== undefined) {
        if (!receiver.channel) throw configError(`receivers.${receiverName}.channel is required with botToken: the channel id the bot posts to`, `receivers.${receiverName}.channel`);
        return viaWebApi(request, input, receiver.channel);
      }
      if (receiver.webhookUrl !== undefined) {
        if (receiver.channel) {
          throw configError(`receivers.${receiverName}.channel needs botToken: an incoming webhook posts to the channel it was created for`, `receivers.${receiverName}.channel`);
        }
        return viaWebhook(request, input);
      }
      throw configError(`receivers.${receiverName} has neither botToken nor webhookUrl: this receiver delivers to the outbox, not to Slack`, `receivers.${receiverName}`);
    },
  };
}
