/** Loads the shipped templates and builds the five seed moments the kit is made for. */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TICKET_KINDS, type ReceiverKind } from '../../functions/config/schema.js';
import type { DeliveryStep } from '../../functions/core/delivery.js';
import type { Change } from '../../functions/core/model.js';
import type { RenderedMessage, TemplateFile } from '../../functions/render/types.js';
import { makeIncident, makeStep } from '../fixtures/incident.js';

export const TEMPLATES_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'playbooks', 'templates');

export function loadShippedTemplates(): TemplateFile[] {
  const files: TemplateFile[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const p = join(dir, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (name.endsWith('.hbs')) files.push({ path: relative(TEMPLATES_DIR, p).split('\\').join('/'), source: readFileSync(p, 'utf8') });
    }
  };
  walk(TEMPLATES_DIR);
  return files;
}

export type SeedMoment = 'owner-defender-experts' | 'owner-customer' | 'status-active' | 'status-closed' | 'awaiting-customer-action';

export const SEED_CHANGES: Record<SeedMoment, Change> = {
  'owner-defender-experts': { kind: 'owner', from: null, to: 'Defender Experts', id: 'owner:defender experts#1' },
  'owner-customer': { kind: 'owner', from: 'Defender Experts', to: 'Customer', id: 'owner:customer#1' },
  'status-active': { kind: 'status', from: 'New', to: 'Active', id: 'status:active#1' },
  'status-closed': { kind: 'status', from: 'Active', to: 'Closed', id: 'status:closed#1' },
  'awaiting-customer-action': { kind: 'tag-added', from: null, to: 'Awaiting Customer Action', id: 'tag-added:awaiting customer action#1' },
};

export const SEED_MOMENTS = Object.keys(SEED_CHANGES) as SeedMoment[];

/** the incident as it looks at that moment */
function incidentAt(moment: SeedMoment) {
  switch (moment) {
    case 'owner-customer':
      return makeIncident({ owner: { assignedTo: 'Customer', userPrincipalName: null, objectId: null, email: null, kind: 'customer' } });
    case 'status-closed':
      return makeIncident({
        status: 'Closed',
        rawStatus: 'Closed',
        classification: 'TruePositive',
        classificationReason: 'SuspiciousActivity',
        determination: 'malware',
        classificationComment: 'Remediated by Defender Experts: device isolated, worm removed.',
      });
    case 'awaiting-customer-action':
      return makeIncident({
        owner: { assignedTo: 'Customer', userPrincipalName: null, objectId: null, email: null, kind: 'customer' },
        tags: ['Defender Experts', 'Awaiting Customer Action'],
      });
    default:
      return makeIncident();
  }
}

export function seedStep(kind: ReceiverKind, moment: SeedMoment, overrides: Partial<DeliveryStep> = {}): DeliveryStep {
  const ticket = TICKET_KINDS.includes(kind);
  return makeStep({
    kind,
    receiver: `soc-${kind}`,
    template: ticket ? 'ticket' : 'incident-change',
    stepType: ticket ? 'ticket' : 'notify',
    ticketAction: ticket ? (moment === 'status-closed' ? 'resolve' : 'upsert') : null,
    playbook: moment,
    changes: [SEED_CHANGES[moment]],
    incident: incidentAt(moment),
    ...overrides,
  });
}

/** every text a reader of this message sees or hears (all parts, or the named ones), JSON flattened, entities decoded */
export function allText(r: RenderedMessage, parts?: string[]): string {
  const texts: string[] = [];
  const collect = (v: unknown): void => {
    if (typeof v === 'string') texts.push(v);
    else if (Array.isArray(v)) v.forEach(collect);
    else if (v && typeof v === 'object') Object.values(v).forEach(collect);
  };
  for (const [name, value] of Object.entries(r.parts)) if (!parts || parts.includes(name)) collect(value);
  // what a reader sees in HTML/XML parts: entities decoded
  return texts
    .join('\n')
    .replace(/&quot;/g, '"')
    .replace(/&(#x27|apos);/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}
