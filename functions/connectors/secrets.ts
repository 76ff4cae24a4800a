/**
 * Secrets are only ever references (`env:NAME`). In Azure, NAME is an app setting that is a Key Vault
 * reference, so the value never sits in config, in git or in a deployment template.
 */
import { KitError } from '../core/errors.js';

const ENV_REF = /^env:([A-Za-z_][A-Za-z0-9_]*)$/;

/**
 * Resolves `env:NAME` from `env`. `undefined` in → `undefined` out (the receiver has no such credential,
 * which usually means it delivers to the outbox). Errors name the reference or the field, never a value:
 * a literal in the reference's place is most likely the secret itself.
 */
export function resolveSecret(
  ref: string | undefined,
  env: Record<string, string | undefined> = process.env,
  field?: string,
): string | undefined {
  if (ref === undefined) return undefined;
  const where = field === undefined ? undefined : { field };
  const match = ENV_REF.exec(ref);
  if (!match) {
    const at = field === undefined ? '' : `${field}: `;
    throw new KitError(`${at}literal secrets are not allowed; write a reference like env:NAME and set NAME as an app setting`, {
      kind: 'config',
      where,
    });
  }
  const name = match[1] as string;
  const value = env[name];
  if (value === undefined || value.trim() === '') {
    const at = field === undefined ? '' : ` (${field})`;
    throw new KitError(`secret reference ${ref}${at} is not set: app setting ${name} is missing or empty`, {
      kind: 'config',
      where,
    });
  }
  // App Service leaves a Key Vault reference it could not resolve (secret not set yet, no access) as the
  // literal "@Microsoft.KeyVault(...)" text: using it as a credential would only earn a 401 later.
  if (/^@Microsoft\.KeyVault\(/i.test(value.trim())) {
    const at = field === undefined ? '' : ` (${field})`;
    throw new KitError(
      `secret reference ${ref}${at}: app setting ${name} is a Key Vault reference that did not resolve (secret not set, or the app cannot read the vault)`,
      { kind: 'config', where },
    );
  }
  return value;
}
