/**
 * `spk validate` checks every path a template reads against the documented context, with the
 * context each block gives it, and docs/TEMPLATES.md lists exactly the documented fields.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compileTemplatesReport } from '../../functions/render/engine.js';
import { contextPaths } from '../../functions/render/context-fields.js';
import { templateContext } from '../../functions/render/engine.js';
import type { TemplateFile } from '../../functions/render/types.js';
import { makeStep } from '../fixtures/incident.js';
import { TEMPLATES_DIR, loadShippedTemplates } from './shipped.js';

const SMS = (body: string): TemplateFile => ({ path: 'sms/incident-change.hbs', source: `{{#*inline "text"}}\n${body}\n{{/inline}}` });

function problems(files: TemplateFile[]): string[] {
  return compileTemplatesReport(files).problems.map((p) => p.format());
}

describe('template fields', () => {
  it('names an unknown field with file:line:col and a did-you-mean, in a mustache and in helper arguments', () => {
    expect(problems([SMS('{{incident.titel}}\n  {{truncate incident.titel 300}}')])).toEqual([
      'templates/sms/incident-change.hbs:2:3 unknown field incident.titel — did you mean incident.title?',
      'templates/sms/incident-change.hbs:3:14 unknown field incident.titel — did you mean incident.title?',
    ]);
  });

  it('checks subexpressions, hash values and conditions', () => {
    const out = problems([SMS('{{default (formatDate incident.updatedOn) "x"}}{{list incident.devices prop="name" max=incident.maxx}}{{#if incident.classificaton}}y{{/if}}')]);
    expect(out).toHaveLength(3);
    expect(out[0]).toMatch(/unknown field incident.updatedOn — did you mean incident.updatedAt\?/);
    expect(out[1]).toMatch(/unknown field incident.maxx/);
    expect(out[2]).toMatch(/unknown field incident.classificaton — did you mean incident.classification\?/);
  });

  it('knows the context inside #each and #with, this, ../, @root, @index and block params', () => {
    const ok = [
      '{{#each incident.devices}}{{name}} {{this.id}} {{@index}} {{#if @first}}f{{/if}} {{../playbook}} {{@root.incident.title}}{{/each}}',
      '{{#each changes as |c i|}}{{c.summary}} {{i}} {{c.short}}{{/each}}',
      '{{#with incident.owner}}{{assignedTo}} {{../headline}}{{/with}}',
      '{{#each incident.tags}}{{this}}{{/each}} {{incident.tags.length}} {{incident.tags.[0]}}',
      '{{#each otherChanges}}{{summary}}{{/each}}{{#with ticket}}{{key}}{{/with}}',
      '{{lookup incident.tags 0}}',
    ];
    for (const body of ok) expect(problems([SMS(body)]), body).toEqual([]);
    const bad = problems([
      SMS('{{#each incident.devices}}{{nme}}{{/each}}\n{{#with incident.owner}}{{asignedTo}}{{/with}}\n{{#each changes as |c|}}{{c.sumary}}{{/each}}\n{{@index}}\n{{#each incident.users}}{{../headlin}}{{/each}}'),
    ]);
    expect(bad).toEqual([
      'templates/sms/incident-change.hbs:2:29 unknown field incident.devices[].nme — did you mean incident.devices[].name?',
      'templates/sms/incident-change.hbs:3:27 unknown field incident.owner.asignedTo — did you mean incident.owner.assignedTo?',
      'templates/sms/incident-change.hbs:4:27 unknown field changes[].sumary — did you mean changes[].summary?',
      'templates/sms/incident-change.hbs:5:3 @index is only set inside {{#each}}',
      'templates/sms/incident-change.hbs:6:27 unknown field headlin — did you mean headline?',
    ]);
  });

  it('says a text has no fields and a list needs #each', () => {
    const out = problems([SMS('{{incident.title.length}} {{incident.devices.name}}')]);
    expect(out[0]).toMatch(/unknown field incident.title.length — incident.title is a text/);
    expect(out[1]).toMatch(/unknown field incident.devices.name — incident.devices is a list: use \{\{#each incident.devices\}\}/);
  });

  it('checks a shared partial in the context it is used in, and reports at the partial file', () => {
    const partial = { path: 'partials/device.hbs', source: '{{name}} {{idd}}' };
    const out = problems([SMS('{{#each incident.devices}}{{> device}}{{/each}}'), partial]);
    expect(out).toEqual(['templates/partials/device.hbs:1:12 unknown field incident.devices[].idd — did you mean incident.devices[].id?']);
    // a partial nobody uses is checked against the whole context
    expect(problems([SMS('x'), { path: 'partials/unused.hbs', source: '\n{{incident.severty}}' }])).toEqual([
      'templates/partials/unused.hbs:2:3 unknown field incident.severty — did you mean incident.severity?',
    ]);
  });

  it('reports every unknown field of every file, each once', () => {
    const out = problems([
      SMS('{{incident.titel}}'),
      { path: 'pagerduty/ticket.hbs', source: '{{#*inline "summary"}}{{headlin}}{{/inline}}' },
      { path: 'partials/p.hbs', source: '{{moment2}}' },
    ]);
    expect(out).toHaveLength(3);
  });

  it('passes every shipped template', () => {
    expect(problems(loadShippedTemplates())).toEqual([]);
  });
});

describe('the documented context', () => {
  const doc = readFileSync(join(TEMPLATES_DIR, '..', '..', 'docs', 'TEMPLATES.md'), 'utf8');
  const section = doc.slice(doc.indexOf('## The context'), doc.indexOf('## Helpers'));
  const documented = [...section.matchAll(/^\| `([^`]+)` \|/gm)].map((m) => m[1]);

  it('docs/TEMPLATES.md lists every field of the context and no other', () => {
    const described = contextPaths().map((p) => p.path);
    expect(documented.length).toBeGreaterThan(50);
    expect([...documented].sort()).toEqual([...described].sort());
  });

  it('the context the renderer builds has exactly the described fields', () => {
    const ctx = templateContext(makeStep(), { receiverName: 'r', ticket: { receiver: 'r', incidentKey: 'k', id: '1', key: 'K-1', url: 'https://x.example/1', state: 'open' } });
    const actual: string[] = [];
    const walk = (v: unknown, prefix: string): void => {
      if (Array.isArray(v)) {
        const first = v.find((x) => x !== null && typeof x === 'object');
        if (first) walk(first, `${prefix}[]`);
        return;
      }
      if (v === null || typeof v !== 'object') return;
      for (const [k, child] of Object.entries(v)) {
        const path = prefix ? `${prefix}.${k}` : k;
        actual.push(path);
        walk(child, path);
      }
    };
    walk(ctx, '');
    const described = new Set(contextPaths().map((p) => p.path));
    expect(actual.filter((p) => !described.has(p))).toEqual([]);
  });
});
