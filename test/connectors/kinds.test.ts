/**
 * The registry (functions/connectors/kinds.ts) is the one list of receiver kinds. What still lives
 * outside the kind folders — the Bicep secret list and the shipped receivers.yaml — is checked against it
 * here, and each kind module is checked against its own schema.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { z } from 'zod';
import { KINDS, LIVE_KINDS, RECEIVER_KINDS, deliversLive, endpointFieldText, endpointOf, kindOf } from '../../functions/connectors/kinds.js';
import { deploymentProblems } from '../../functions/config/parse.js';
import { secretRef } from '../../functions/config/receiver-fields.js';
import { receiverSchema } from '../../functions/config/schema.js';
import { OUTBOX_FORMATS } from '../../functions/connectors/outbox/outbox.js';
import { partsFor } from '../../functions/render/parts.js';
import { loadCompiledTemplate, projectRoot } from '../bicep/arm.js';

const shape = (k: (typeof KINDS)[number]) => k.schema.shape as Record<string, z.ZodType>;
const unwrapped = (t: z.ZodType): z.ZodType => (t instanceof z.ZodOptional || t instanceof z.ZodDefault ? unwrapped(t.unwrap() as z.ZodType) : t);

describe('each kind module agrees with its own schema', () => {
  it.each(KINDS.map((k) => [k.kind, k] as const))('%s', (name, kind) => {
    const fields = shape(kind);
    expect(unwrapped(fields['kind']!)).toBeInstanceOf(z.ZodLiteral);
    expect((fields['kind'] as z.ZodLiteral<string>).value).toBe(name);
    // the secret fields are exactly the fields typed as secret references
    const secretFields = Object.keys(fields).filter((f) => unwrapped(fields[f]!) === secretRef);
    expect([...kind.secretFields].sort()).toEqual(secretFields.sort());
    for (const f of kind.endpointFields) expect(Object.keys(fields), `endpoint field ${f}`).toContain(f);
    expect(kind.endpointFields.length).toBeGreaterThan(0);
    expect(kind.parts.length).toBeGreaterThan(0);
    expect(new Set(kind.parts.map((p) => p.name)).size).toBe(kind.parts.length);
    expect(partsFor(kind.kind)).toBe(kind.parts);
    expect(kind.format).toMatch(/^[a-z]+(\.[a-z]+)?$/);
    expect(OUTBOX_FORMATS).toContain(kind.format);
    expect(kindOf(kind.kind)).toBe(kind);
  });

  it('lists every kind once, in the order of the registry, with one outbox format each plus failed.json', () => {
    expect(RECEIVER_KINDS).toEqual(KINDS.map((k) => k.kind));
    expect(new Set(OUTBOX_FORMATS).size).toBe(OUTBOX_FORMATS.length);
    expect([...OUTBOX_FORMATS].sort()).toEqual([...KINDS.map((k) => k.format), 'failed.json'].sort());
    expect([...LIVE_KINDS].sort()).toEqual(KINDS.filter((k) => 'live' in k && typeof k.live === 'function').map((k) => k.kind).sort());
  });

  it('a receiver is live through any one of its endpoint fields, and never when dryRun', () => {
    for (const kind of KINDS) {
      for (const field of kind.endpointFields) {
        const minimal = minimalReceiver(kind.kind);
        const schema = shape(kind)[field]!;
        // a URL where the field takes one, else a bare host name (smtpHost)
        const value = unwrapped(schema) === secretRef ? 'env:SOME_SETTING' : schema.safeParse('https://target.example/').success ? 'https://target.example/' : 'target.example';
        const receiver = receiverSchema.parse({ ...minimal, [field]: value });
        expect(endpointOf(receiver), `${kind.kind}.${field}`).toBe(value);
        expect(deliversLive(receiver)).toBe(true);
        expect(deliversLive(receiverSchema.parse({ ...minimal, [field]: value, dryRun: true }))).toBe(false);
      }
      expect(endpointOf(receiverSchema.parse(minimalReceiver(kind.kind)))).toBeUndefined();
      expect(endpointFieldText(kind.kind)).toBe(kind.endpointFields.join(' or '));
    }
  });
});

describe('the deploy check, for a receiver without its endpoint', () => {
  // every kind delivers live in this version; a kind without a live connector is LIVE_KINDS without it
  const config = () => ({ receivers: { 'soc-lead-call': receiverSchema.parse(minimalReceiver('voice')) }, playbooks: [], exclusions: { devices: [], users: [], groups: [] } });

  it('of a live kind, names the endpoint to give it or dryRun', () => {
    expect(LIVE_KINDS.has('voice')).toBe(true);
    expect(deploymentProblems(config(), LIVE_KINDS).map((p) => p.message)).toEqual([
      expect.stringMatching(/^receiver "soc-lead-call" has no endpoint: .*; give it an endpoint \(twilioAccountSid\) or mark it dryRun: true$/),
    ]);
  });

  it('of a kind this version cannot deliver live, says so and asks for dryRun', () => {
    const withoutVoice = new Set([...LIVE_KINDS].filter((k) => k !== 'voice'));
    expect(deploymentProblems(config(), withoutVoice).map((p) => p.message)).toEqual([
      expect.stringMatching(/^receiver "soc-lead-call" has no endpoint: .*; this version has no live voice connector: mark it dryRun: true/),
    ]);
  });
});

/** the shipped receiver of that kind, with every endpoint and secret field taken out */
function minimalReceiver(kind: string): Record<string, unknown> {
  const found = Object.values(shippedReceivers()).find((r) => r['kind'] === kind);
  if (!found) throw new Error(`playbooks/receivers.yaml ships no ${kind} receiver`);
  const k = kindOf(kind as (typeof RECEIVER_KINDS)[number]);
  return Object.fromEntries(Object.entries(found).filter(([f]) => !k.endpointFields.includes(f as never) && !k.secretFields.includes(f as never)));
}

const receiversText = readFileSync(path.join(projectRoot, 'playbooks', 'receivers.yaml'), 'utf8');
function shippedReceivers(): Record<string, Record<string, unknown>> {
  return (parse(receiversText) as { receivers: Record<string, Record<string, unknown>> }).receivers;
}

describe('what lives outside the kind folders follows the registry', () => {
  it('playbooks/receivers.yaml ships a receiver of every kind, with each secret field as an env: example', () => {
    const lines = receiversText.split('\n');
    for (const kind of KINDS) {
      const names = Object.entries(shippedReceivers()).filter(([, r]) => r['kind'] === kind.kind).map(([n]) => n);
      expect(names.length, `a shipped ${kind.kind} receiver`).toBeGreaterThan(0);
      for (const field of kind.secretFields) {
        const start = lines.findIndex((l) => l === `  ${names[0]}:`);
        const block = lines.slice(start + 1, lines.findIndex((l, i) => i > start && /^ {2}\S/.test(l)) >>> 0);
        expect(block.some((l) => new RegExp(`^\\s*(#\\s*)?${field}:\\s*env:[A-Za-z_][A-Za-z0-9_]*\\s*$`).test(l)), `${names[0]}.${field}`).toBe(true);
      }
    }
  });

  it("the Bicep receiverSecrets default offers every secret the shipped receivers' secret fields reference", () => {
    const template = loadCompiledTemplate();
    const defaults = (template.parameters?.['receiverSecrets'] as { defaultValue: { appSetting: string }[] }).defaultValue;
    const offered = new Set(defaults.map((d) => d.appSetting));
    const wanted = new Set<string>();
    const lines = receiversText.split('\n');
    let kind: (typeof KINDS)[number] | undefined;
    for (const line of lines) {
      const kindLine = /^\s{4}kind:\s*(\S+)\s*$/.exec(line);
      if (kindLine) kind = KINDS.find((k) => k.kind === kindLine[1]);
      const ref = /^\s*(?:#\s*)?([A-Za-z]+):\s*env:([A-Za-z_][A-Za-z0-9_]*)\s*$/.exec(line);
      if (ref && kind && kind.secretFields.includes(ref[1] as never)) wanted.add(ref[2]!);
    }
    expect(wanted.size).toBeGreaterThanOrEqual(KINDS.filter((k) => k.secretFields.length > 0).length);
    expect([...wanted].filter((w) => !offered.has(w))).toEqual([]);
  });
});
