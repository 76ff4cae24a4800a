/**
 * The Twilio account a receiver acts as, and the client that signs in as it: the Account SID (in every
 * path), and Basic auth with an API key pair (`twilioApiKeySid` + `twilioApiKeySecret`, Twilio's
 * preferred credential) or else the account's Auth Token. Shared by the SMS (provider twilio) and voice
 * receivers, whose fields have the same names.
 *
 * Secrets are resolved per delivery, so a rotated Key Vault secret is picked up without a restart; none of
 * them, nor the Account SID in Twilio's path, ever appears in an error: the client lists them all as secrets.
 */
import { KitError } from '../../core/errors.js';
import { basicAuth, createTargetClient, type TargetClient } from '../http/index.js';
import { resolveSecret } from '../secrets.js';
import { TWILIO_ACCOUNT_SID, TWILIO_API_KEY_SID, TWILIO_API_URL, TWILIO_DEFAULT_RETRY_AFTER_MS } from './rest.js';

export interface TwilioAccountFields {
  twilioAccountSid?: string | undefined;
  twilioAuthToken?: string | undefined;
  twilioApiKeySid?: string | undefined;
  twilioApiKeySecret?: string | undefined;
  twilioApiUrl?: string | undefined;
}

export interface TwilioAccountOptions {
  receiver: TwilioAccountFields;
  /** receivers.<name>.<field> */
  field: (name: keyof TwilioAccountFields & string) => string;
  env: Record<string, string | undefined>;
  /** who needs the credential, in messages: "provider twilio", "a live call" */
  needs: string;
  fetchTimeoutMs?: number | undefined;
  now?: () => number;
}

export interface TwilioAccount {
  client: TargetClient;
  /** trimmed; in every path */
  accountSid: string;
  /** the Account SID, the user and the secret Basic auth presents: none may appear in an error */
  secrets: string[];
}

function configError(message: string, field: string): KitError {
  return new KitError(message, { kind: 'config', where: { field } });
}

/** Resolves the account's credential (before any request: each problem is a configuration error naming its field) and makes its client. */
export function twilioAccount(options: TwilioAccountOptions): TwilioAccount {
  const { receiver, field, env, needs } = options;
  const sid = resolveSecret(receiver.twilioAccountSid, env, field('twilioAccountSid'));
  if (sid === undefined) throw configError(`${field('twilioAccountSid')} is not set: ${needs} needs the Account SID`, field('twilioAccountSid'));
  const accountSid = sid.trim();
  if (!TWILIO_ACCOUNT_SID.test(accountSid)) throw configError(`${field('twilioAccountSid')}: the app setting does not hold an Account SID (AC followed by 32 hex digits)`, field('twilioAccountSid'));
  const keySid = resolveSecret(receiver.twilioApiKeySid, env, field('twilioApiKeySid'));
  const keySecret = resolveSecret(receiver.twilioApiKeySecret, env, field('twilioApiKeySecret'));
  if ((keySid === undefined) !== (keySecret === undefined)) {
    const missing = keySid === undefined ? 'twilioApiKeySid' : 'twilioApiKeySecret';
    throw configError(`${field(missing)} is not set: an API key needs both twilioApiKeySid and twilioApiKeySecret`, field(missing));
  }
  let user: string;
  let secret: string;
  if (keySid !== undefined && keySecret !== undefined) {
    if (!TWILIO_API_KEY_SID.test(keySid.trim())) throw configError(`${field('twilioApiKeySid')}: the app setting does not hold an API key SID (SK followed by 32 hex digits)`, field('twilioApiKeySid'));
    user = keySid.trim();
    secret = keySecret;
  } else {
    const token = resolveSecret(receiver.twilioAuthToken, env, field('twilioAuthToken'));
    if (token === undefined) {
      throw configError(`${field('twilioAuthToken')} is not set: ${needs} needs twilioAuthToken, or twilioApiKeySid with twilioApiKeySecret`, field('twilioAuthToken'));
    }
    user = accountSid;
    secret = token;
  }
  const secrets = [accountSid, user, secret];
  const client = createTargetClient({
    target: 'twilio',
    baseUrl: receiver.twilioApiUrl ?? TWILIO_API_URL,
    field: receiver.twilioApiUrl ? field('twilioApiUrl') : field('twilioAccountSid'),
    auth: basicAuth(user, secret),
    timeoutMs: options.fetchTimeoutMs,
    defaultRetryAfterMs: TWILIO_DEFAULT_RETRY_AFTER_MS,
    secrets,
    ...(options.now ? { now: options.now } : {}),
  });
  return { client, accountSid, secrets };
}
