/**
 * Email, live: the step's message (payload.ts `emailMessage`, the same one the .eml outbox file
 * holds) sent through Azure Communication Services Email (acs.ts), Microsoft Graph sendMail
 * (graph.ts) or an SMTP server (smtp.ts, the .eml itself), chosen per receiver by `transport`
 * (default: acs when acsEndpoint is set, else graph when graphBaseUrl is, else smtp).
 *
 * Auth: ACS signs with the access key (HMAC-SHA256) when the receiver has `acsAccessKey`, else asks the
 * Function App's managed identity for an Entra token (scope https://communication.azure.com/.default);
 * Graph always uses the managed identity (application permission Mail.Send, scope <graph host>/.default);
 * SMTP signs in with smtpUsername/smtpPassword (AUTH PLAIN or LOGIN inside TLS) or not at all.
 * A token is cached per connector (one connector per receiver and process), so deliveries share it.
 */
import type { TokenCredential } from '@azure/identity';
import type { ConnectionOptions } from 'node:tls';
import { KitError } from '../../core/errors.js';
import { acsHmacAuth, createTargetClient, entraTokenAuth, type HttpPolicy, type TargetClient } from '../http/index.js';
import { DEFAULT_TIMEOUT_MS } from '../http/send.js';
import type { LiveConnectorOptions } from '../kind.js';
import { jsonBytes } from '../request.js';
import { resolveSecret } from '../secrets.js';
import type { Connector, DeliveryRequest, DeliveryResult } from '../types.js';
import { ACS_MAX_BYTES, ACS_MAX_POLLS, ACS_POLL_BUDGET_MS, ACS_SCOPE, acsEmailBody, acsOperationCheck, sendWithAcs } from './acs.js';
import { fitMessage } from './fit.js';
import { GRAPH_MAX_BYTES, graphError, graphScope, graphSendMailBody, graphSendMailCheck, graphSendMailPath } from './graph.js';
import { emailMessage } from './payload.js';
import type { EmailReceiver, EmailTransport } from './schema.js';
import { isLoopbackHost, sendWithSmtp, SMTP_DEFAULT_PORT } from './smtp.js';

export interface EmailConnectorOptions extends LiveConnectorOptions<EmailReceiver> {
  /** the identity for Entra tokens; default DefaultAzureCredential (the managed identity in Azure) */
  credential?: TokenCredential;
  /** waits between ACS status checks; default a timer that the delivery's abort signal ends */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** clock for x-ms-date, Retry-After dates and token expiry */
  now?: () => number;
  acsMaxPolls?: number;
  acsPollBudgetMs?: number;
  /** SMTP: extra TLS options, for a test server's own CA; certificate and name checks stay on */
  smtpTlsOptions?: ConnectionOptions;
}

function configError(message: string, field: string): KitError {
  return new KitError(message, { kind: 'config', where: { field } });
}

/** Which API a receiver sends through; a transport without its endpoint is a config error. */
export function transportOf(receiver: EmailReceiver, receiverName: string): EmailTransport {
  const at = `receivers.${receiverName}`;
  const transport =
    receiver.transport ??
    (receiver.acsEndpoint !== undefined ? 'acs' : receiver.graphBaseUrl !== undefined ? 'graph' : receiver.smtpHost !== undefined ? 'smtp' : undefined);
  if (transport === undefined) throw configError(`${at} has no acsEndpoint, graphBaseUrl or smtpHost: this receiver delivers to the outbox, not by email`, at);
  if (transport === 'acs' && receiver.acsEndpoint === undefined) throw configError(`${at}.acsEndpoint is required with transport: acs`, `${at}.acsEndpoint`);
  if (transport === 'graph' && receiver.graphBaseUrl === undefined) {
    throw configError(`${at}.graphBaseUrl is required with transport: graph (https://graph.microsoft.com/v1.0, or your national cloud's Graph)`, `${at}.graphBaseUrl`);
  }
  if (transport !== 'acs' && receiver.acsAccessKey !== undefined) throw configError(`${at}.acsAccessKey is for transport: acs`, `${at}.acsAccessKey`);
  if (transport === 'smtp') {
    if (receiver.smtpHost === undefined) throw configError(`${at}.smtpHost is required with transport: smtp`, `${at}.smtpHost`);
    if ((receiver.smtpUsername === undefined) !== (receiver.smtpPassword === undefined)) {
      const missing = receiver.smtpUsername === undefined ? 'smtpUsername' : 'smtpPassword';
      throw configError(`${at}.${missing} is required: smtpUsername and smtpPassword go together`, `${at}.${missing}`);
    }
    if (receiver.smtpTls === 'none' && !isLoopbackHost(receiver.smtpHost)) {
      throw configError(`${at}.smtpTls: none is only for a relay on this machine (localhost); use starttls or implicit`, `${at}.smtpTls`);
    }
  } else {
    for (const field of ['smtpHost', 'smtpPort', 'smtpTls', 'smtpUsername', 'smtpPassword'] as const) {
      if (receiver[field] !== undefined) throw configError(`${at}.${field} is for transport: smtp`, `${at}.${field}`);
    }
  }
  return transport;
}

function timer(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new KitError('acs: the delivery was cancelled while waiting for the email operation', { kind: 'retryable' }));
    const t = setTimeout(done, ms);
    function done() {
      signal?.removeEventListener('abort', abort);
      resolve();
    }
    function abort() {
      clearTimeout(t);
      reject(new KitError('acs: the delivery was cancelled while waiting for the email operation', { kind: 'retryable' }));
    }
    signal?.addEventListener('abort', abort, { once: true });
  });
}

export function createEmailConnector(options: EmailConnectorOptions): Connector {
  const { receiverName, receiver } = options;
  const env = () => options.env ?? process.env;
  const now = options.now ?? Date.now;
  // one Entra policy per connector, so its cached token serves every delivery of this receiver
  let entra: HttpPolicy | undefined;
  let acs: { key: string | undefined; client: TargetClient } | undefined;
  let graph: TargetClient | undefined;

  function acsClient(): TargetClient {
    const field = `receivers.${receiverName}.acsAccessKey`;
    // resolved per delivery so a rotated key is picked up without a restart
    const key = resolveSecret(receiver.acsAccessKey, env(), field);
    if (acs && acs.key === key) return acs.client;
    const auth = key !== undefined ? acsHmacAuth(key, { now }) : (entra ??= entraTokenAuth({ scope: ACS_SCOPE, now, ...(options.credential ? { credential: options.credential } : {}) }));
    const client = createTargetClient({
      target: 'acs',
      baseUrl: receiver.acsEndpoint!,
      field: `receivers.${receiverName}.acsEndpoint`,
      auth,
      check: acsOperationCheck,
      timeoutMs: options.fetchTimeoutMs,
      now,
      secrets: [key],
    });
    acs = { key, client };
    return client;
  }

  function graphClient(): TargetClient {
    const baseUrl = receiver.graphBaseUrl!;
    graph ??= createTargetClient({
      target: 'graph',
      baseUrl,
      field: `receivers.${receiverName}.graphBaseUrl`,
      auth: entraTokenAuth({ scope: graphScope(baseUrl), now, ...(options.credential ? { credential: options.credential } : {}) }),
      check: graphSendMailCheck,
      timeoutMs: options.fetchTimeoutMs,
      now,
    });
    return graph;
  }

  return {
    async execute(request: DeliveryRequest): Promise<DeliveryResult> {
      const transport = transportOf(receiver, receiverName);
      const message = emailMessage({ step: request.step, receiverName, receiver, rendered: request.rendered, operation: 'send', ticket: null });
      const signal = request.signal;
      if (transport === 'acs') {
        const client = acsClient();
        const fitted = fitMessage(message, ACS_MAX_BYTES, (m) => jsonBytes(acsEmailBody(m)), 'acs');
        await sendWithAcs(
          {
            client,
            endpoint: new URL(receiver.acsEndpoint!),
            sleep: options.sleep ?? timer,
            now,
            maxPolls: options.acsMaxPolls ?? ACS_MAX_POLLS,
            pollBudgetMs: options.acsPollBudgetMs ?? ACS_POLL_BUDGET_MS,
          },
          fitted,
          request.attempt ?? 1,
          signal,
        );
      } else if (transport === 'smtp') {
        const tls = receiver.smtpTls ?? 'starttls';
        const username = resolveSecret(receiver.smtpUsername, env(), `receivers.${receiverName}.smtpUsername`);
        const password = resolveSecret(receiver.smtpPassword, env(), `receivers.${receiverName}.smtpPassword`);
        await sendWithSmtp(
          {
            host: receiver.smtpHost!,
            port: receiver.smtpPort ?? SMTP_DEFAULT_PORT[tls],
            tls,
            ...(username !== undefined && password !== undefined ? { credentials: { username, password } } : {}),
            timeoutMs: options.fetchTimeoutMs ?? DEFAULT_TIMEOUT_MS,
            ...(signal ? { signal } : {}),
            ...(options.smtpTlsOptions ? { tlsOptions: options.smtpTlsOptions } : {}),
          },
          message,
        );
      } else {
        const client = graphClient();
        const fitted = fitMessage(message, GRAPH_MAX_BYTES, (m) => jsonBytes(graphSendMailBody(m)), 'graph');
        try {
          await client.send({ method: 'POST', path: graphSendMailPath(fitted), json: graphSendMailBody(fitted), ...(signal ? { signal } : {}) });
        } catch (err) {
          throw graphError(err);
        }
      }
      return { action: 'sent', ticket: null, outbox: null };
    },
  };
}
