import { writeFileSync, mkdirSync } from 'node:fs';
import { jsonSchemas } from '../functions/config/json-schema.js';

mkdirSync(new URL('../schema/', import.meta.url), { recursive: true });
for (const [name, schema] of Object.entries(jsonSchemas())) {
  writeFileSync(new URL(`../schema/${name}`, import.meta.url), `${JSON.stringify(schema, null, 2)}\n`);
  console.log(`schema/${name}`);
}
