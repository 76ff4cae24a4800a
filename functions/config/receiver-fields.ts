/**
 * The field types every receiver kind's schema is made of (functions/connectors/<kind>/schema.ts). Kept
 * apart from config/schema.ts, which composes the kinds' schemas, so a kind's schema never imports the
 * union it is part of.
 */
import { z } from 'zod';

/** A secret is never written in config: only a reference, resolved at run time (app setting / Key Vault reference). */
export const secretRef = z
  .string()
  .regex(/^env:[A-Za-z_][A-Za-z0-9_]*$/, {
    message: 'must be a secret reference like env:NAME (an app setting / Key Vault reference), never a literal secret',
  })
  .describe('Secret reference: env:NAME. In Azure NAME is an app setting that is a Key Vault reference.');

export const httpsUrl = z
  .string()
  .url()
  .refine((u) => /^https?:\/\//i.test(u), { message: 'must be an http(s) URL' });
export const emailAddress = z.string().email();
export const e164 = z.string().regex(/^\+[1-9][0-9]{6,14}$/, { message: 'must be an E.164 phone number like +14255550123' });

/** the fields every receiver has, whatever its kind */
export const receiverBase = {
  description: z.string().optional().describe('What this receiver is for (shown in routes test output).'),
  dryRun: z
    .boolean()
    .optional()
    .describe(
      'true: this receiver deliberately has no endpoint and only writes to the outbox, even in the Function App (recorded as "outbox", never "sent"). Without it, a receiver with no endpoint is refused by `spk validate --deploy` and `npm run package`.',
    ),
};
