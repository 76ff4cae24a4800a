/**
 * docs/RECEIVERS.md is the copy-paste contract: every example `receivers:` block must be accepted as it
 * stands, and a required field taken out of it must be refused at its file:line:col.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { z } from 'zod';
import { parseReceiversFile } from '../functions/config/parse.js';
import { KINDS, kindOf, type ReceiverKind } from '../functions/connectors/kinds.js';
import type { KitError } from '../functions/core/errors.js';
import { projectRoot } from './bicep/arm.js';

const doc = readFileSync(path.join(projectRoot, 'docs', 'RECEIVERS.md'), 'utf8');
const blocks = [...doc.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]!).filter((b) => /^receivers:\s*$/m.test(b));

function requiredFields(kind: ReceiverKind): string[] {
  const shape = kindOf(kind).schema.shape as unknown as Record<string, z.ZodType>;
  return Object.keys(shape).filter((f) => f !== 'kind' && !(shape[f] instanceof z.ZodOptional) && !(shape[f] instanceof z.ZodDefault));
}

describe('docs/RECEIVERS.md examples', () => {
  it('show every kind at least once', () => {
    const kinds = new Set(blocks.flatMap((b) => Object.values((parse(b) as { receivers: Record<string, { kind: string }> }).receivers).map((r) => r.kind)));
    expect([...kinds].sort()).toEqual(KINDS.map((k) => k.kind).sort());
  });

  it.each(blocks.map((b, i) => [i + 1, b] as const))('block %i is accepted as written, every secret an env: reference', (_n, block) => {
    const problems: KitError[] = [];
    const receivers = parseReceiversFile({ path: 'docs/RECEIVERS.md', source: block }, problems);
    expect(problems.map((p) => p.format())).toEqual([]);
    expect(Object.keys(receivers).length).toBeGreaterThan(0);
    for (const r of Object.values(receivers)) {
      for (const f of kindOf(r.kind).secretFields) {
        const v = (r as Record<string, unknown>)[f];
        if (v !== undefined) expect(v, `${r.kind}.${f}`).toMatch(/^env:[A-Za-z_][A-Za-z0-9_]*$/);
      }
    }
  });

  it.each(blocks.map((b, i) => [i + 1, b] as const))('block %i without a required field is refused at its line', (_n, block) => {
    const parsed = parse(block) as { receivers: Record<string, { kind: ReceiverKind }> };
    const lines = block.split('\n');
    for (const [name, r] of Object.entries(parsed.receivers)) {
      const field = requiredFields(r.kind).find((f) => lines.some((l) => new RegExp(`^ {4}${f}:`).test(l)));
      const victim = field ?? 'kind';
      // the receiver's own block: from its name to the next receiver
      const start = lines.findIndex((l) => l === `  ${name}:`);
      const at = lines.findIndex((l, i) => i > start && new RegExp(`^ {4}${victim}:`).test(l));
      expect(at, `${name}.${victim} in the example`).toBeGreaterThan(start);
      let end = at + 1;
      while (end < lines.length && /^ {6,}/.test(lines[end]!)) end++;
      const broken = [...lines.slice(0, at), ...lines.slice(end)].join('\n');
      const problems: KitError[] = [];
      parseReceiversFile({ path: 'docs/RECEIVERS.md', source: broken }, problems);
      expect(problems.length, `${name} without ${victim}`).toBeGreaterThan(0);
      expect(problems[0]!.format()).toMatch(new RegExp(`^docs/RECEIVERS\\.md:\\d+:\\d+ receivers\\.${name}`));
    }
  });
});
