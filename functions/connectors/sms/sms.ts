/**
 * SMS, live: the text the builder made (payload.ts: GSM-7 where it can be, cut to maxSegments) to every
 * number in `to`, one message each, through Azure Communication Services (provider acs, the default) or
 * Twilio (provider twilio). Each recipient is its own unit (../recipients.ts): a retry after recipient 1 got
 * the text and recipient 2 did not sends only to recipient 2 — ACS by its repeatability id even across
 * workers, Twilio by this connector's memory of the step within one worker.
 *
 * Secrets are resolved per delivery, so a rotated Key Vault secret is picked up without a restart; none of
 * them, nor the Account SID in Twilio's path, ever appears in an error. The Twilio account and its
 * client are ../twilio/account.ts, shared with voice calls.
 */
import type { TokenCredential } from '@azure/identity';
import type { SmsReceiver } from './schema.js';
import { KitError } from '../../core/errors.js';
import { acsHmacAuth, createTargetClient, entraTokenAuth, type HttpPolicy } from '../http/index.js';
import type { LiveConnectorOptions } from '../kind.js';
import { deliverToEach, RecipientProgress, type RecipientOutcome } from '../recipients.js';
import { resolveSecret } from '../secrets.js';
import { twilioAccount } from '../twilio/account.js';
import type { Connector, DeliveryRequest, DeliveryResult } from '../types.js';
import { ACS_SCOPE, sendAcs } from './acs.js';
import { buildSmsPayload } from './payload.js';
import { sendTwilio } from './twilio.js';

export interface SmsConnectorOptions extends LiveConnectorOptions<SmsReceiver> {
  /** ACS without an access key: the identity to ask for tokens; default DefaultAzureCredential (the managed identity) */
  credential?: TokenCredential;
  /** what each recipient of a step got, across its tries; default one per connector */
  progress?: RecipientProgress;
  /** clock for x-ms-date, Retry-After dates and the progress memory (tests) */
  now?: () => number;
}

function configError(message: string, field: string): KitError {
  return new KitError(message, { kind: 'config', where: { field } });
}

export function createSmsConnector(options: SmsConnectorOptions): Connector {
  const { receiverName, receiver } = options;
  const field = (name: string) => `receivers.${receiverName}.${name}`;
  const now = options.now ?? Date.now;
  const progress = options.progress ?? new RecipientProgress({ now });
  // one Entra policy per connector, so its token is cached across deliveries rather than asked for each time
  let entra: HttpPolicy | undefined;
  const env = () => options.env ?? process.env;

  function text(request: DeliveryRequest): string {
    const built = buildSmsPayload({ step: request.step, receiverName, receiver, rendered: request.rendered, operation: 'send', ticket: null });
    // nothing left after the cut (a budget too small for any word): a blank text would still be billed
    if (!('text' in built.body) || built.body.text.trim() === '') throw new KitError('sms: nothing of the text fits the segment budget', { kind: 'template', where: { field: 'text' } });
    return built.body.text;
  }

  function sender(provider: string): string {
    if (receiver.from === undefined) throw configError(`${field('from')} is not set: provider ${provider} needs the sender number`, field('from'));
    return receiver.from;
  }

  async function viaAcs(request: DeliveryRequest, message: string, to: string[]): Promise<RecipientOutcome[]> {
    if (receiver.acsEndpoint === undefined) {
      const hint = receiver.twilioAccountSid !== undefined ? ' (twilioAccountSid is set: add provider: twilio to send through Twilio)' : '';
      throw configError(`${field('acsEndpoint')} is not set: provider acs needs the ACS endpoint${hint}`, field('acsEndpoint'));
    }
    const from = sender('acs');
    const accessKey = resolveSecret(receiver.acsAccessKey, env(), field('acsAccessKey'));
    let auth: HttpPolicy;
    if (accessKey !== undefined) {
      try {
        auth = acsHmacAuth(accessKey, { now });
      } catch (err) {
        throw configError(`${field('acsAccessKey')}: ${err instanceof Error ? err.message : 'not an ACS access key'}`, field('acsAccessKey'));
      }
    } else {
      entra ??= entraTokenAuth({ scope: ACS_SCOPE, now, ...(options.credential ? { credential: options.credential } : {}) });
      auth = entra;
    }
    const secrets = accessKey === undefined ? [] : [accessKey];
    const client = createTargetClient({
      target: 'acs',
      baseUrl: receiver.acsEndpoint,
      field: field('acsEndpoint'),
      auth,
      timeoutMs: options.fetchTimeoutMs,
      secrets,
      now,
    });
    return sendAcs({
      client,
      from,
      text: message,
      to,
      idempotencyKey: request.step.idempotencyKey,
      plannedAt: request.step.plannedAt,
      firstTry: (request.attempt ?? 1) <= 1,
      secrets,
      ...(request.signal ? { signal: request.signal } : {}),
      now,
    });
  }

  async function viaTwilio(request: DeliveryRequest, message: string, to: string[]): Promise<RecipientOutcome[]> {
    const from = sender('twilio');
    const { client, accountSid, secrets } = twilioAccount({ receiver, field, env: env(), needs: 'provider twilio', fetchTimeoutMs: options.fetchTimeoutMs, now });
    return sendTwilio({ client, accountSid, from, text: message, to, secrets, ...(request.signal ? { signal: request.signal } : {}) });
  }

  return {
    async execute(request: DeliveryRequest): Promise<DeliveryResult> {
      const provider = receiver.provider ?? 'acs';
      const message = text(request);
      await deliverToEach({
        progress,
        stepKey: request.step.idempotencyKey,
        to: receiver.to,
        what: `sms (${provider})`,
        send: (pending) => (provider === 'twilio' ? viaTwilio(request, message, pending) : viaAcs(request, message, pending)),
      });
      return { action: 'sent', ticket: null, outbox: null };
    },
  };
}
