/**
 * JSON Schemas for editors (yaml-language-server `$schema` comments in the shipped YAML), generated from
 * the zod schemas so the editor and `spk validate` can never disagree. `npm run schema` writes schema/.
 */
import { z } from 'zod';
import { exclusionsFileSchema, playbookSchema, receiversFileSchema } from './schema.js';

export function jsonSchemas(): Record<string, unknown> {
  const gen = (schema: z.ZodType, title: string) => ({
    ...z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }),
    title,
  });
  return {
    'playbook.schema.json': gen(playbookSchema, 'Sentinel Playbook Kit playbook (playbooks/*.yaml)'),
    'receivers.schema.json': gen(receiversFileSchema, 'Sentinel Playbook Kit receivers (playbooks/receivers.yaml)'),
    'exclusions.schema.json': gen(exclusionsFileSchema, 'Sentinel Playbook Kit exclusions (playbooks/exclusions.yaml)'),
  };
}
