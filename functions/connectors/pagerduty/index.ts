/** The PagerDuty receiver kind: everything the kit knows about it, for the registry (../kinds.ts). */
import { defineKind } from '../kind.js';
import { buildPagerdutyPayload } from './payload.js';
import { pagerdutyReceiver } from './schema.js';
import { hideRoutingKey, pagerdutyPreview } from './preview.js';

export const pagerdutyKind = defineKind({
  kind: 'pagerduty',
  family: 'ticket',
  label: 'PagerDuty',
  schema: pagerdutyReceiver,
  parts: [{ name: 'summary', format: 'line' }],
  format: 'pagerduty.json',
  endpointFields: ['routingKey'],
  secretFields: ['routingKey', 'apiToken'],
  build: buildPagerdutyPayload,
  preview: pagerdutyPreview,
  redactRaw: hideRoutingKey,
  live: () => import('./pagerduty.js').then((m) => m.createPagerdutyConnector),
});
