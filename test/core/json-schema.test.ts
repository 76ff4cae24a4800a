import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { jsonSchemas } from '../../functions/config/json-schema.js';

describe('editor JSON Schemas in schema/', () => {
  it.each(Object.entries(jsonSchemas()))('%s is up to date with the zod schema (run npm run schema)', (name, schema) => {
    const committed = JSON.parse(readFileSync(new URL(`../../schema/${name}`, import.meta.url), 'utf8'));
    expect(committed).toEqual(JSON.parse(JSON.stringify(schema)));
  });

  it('refuses a literal secret the same way the CLI does', () => {
    const receivers = jsonSchemas()['receivers.schema.json'] as { properties: { receivers: { additionalProperties: { oneOf?: unknown[]; anyOf?: unknown[] } } } };
    const text = JSON.stringify(receivers);
    expect(text).toContain('^env:[A-Za-z_][A-Za-z0-9_]*$');
  });
});
