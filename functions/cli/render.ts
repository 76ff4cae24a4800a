/** `spk render`: one template against one event, as text parts or as the exact payload the target gets. */
import { parseArgs } from 'node:util';
import { resolve } from 'node:path';
import { loadKitOrThrow } from '../config/load.js';
import { detectChanges } from '../core/detect-changes.js';
import { parseEvent } from '../core/parse-event.js';
import { matchExclusions } from '../core/exclusions.js';
import { idempotencyKey, compactIncident } from '../core/plan.js';
import type { DeliveryStep } from '../core/delivery.js';
import { isTicketKind } from '../core/config-schema.js';
import { renderStep, templateContext } from '../render/engine.js';
import { PAYLOAD_BUILDERS } from '../connectors/registry.js';
import { operationsFor, type PayloadBuilder } from '../connectors/types.js';
import type { ReceiverConfig } from '../core/config-schema.js';
import { SAMPLE_INCIDENT, SEED_MOMENTS } from './samples.js';
import { parseChangeArg, readEventArg } from './routes.js';
import { UsageError, type CliIo } from './io.js';

const HELP = `usage: spk render --receiver NAME [--template NAME] [--event FILE [--line N]] [--change K=V] [--payload] [--context] [--config DIR]

  --receiver NAME   which receiver (its kind picks the template folder)
  --template NAME   template name (default: incident-change for notifiers, ticket for tickets)
  --event FILE      the incident to render (default: a built-in sample); --change picks the change
  --payload         print the exact body the target would get instead of the template parts
  --context         print the template context (what {{...}} can use) as JSON`;

export async function renderCommand(argv: string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      receiver: { type: 'string' },
      template: { type: 'string' },
      event: { type: 'string' },
      line: { type: 'string' },
      change: { type: 'string' },
      payload: { type: 'boolean', default: false },
      context: { type: 'boolean', default: false },
      guidance: { type: 'boolean', default: false },
      config: { type: 'string', default: 'playbooks' },
      help: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (values.help) {
    io.stdout(HELP);
    return 0;
  }
  if (!values.receiver) throw new UsageError(`--receiver is required\n${HELP}`);
  const kit = await loadKitOrThrow(resolve(io.cwd, values.config!), { cwd: io.cwd });
  const receiver = kit.config.receivers[values.receiver];
  if (!receiver) throw new UsageError(`unknown receiver "${values.receiver}" (receivers: ${Object.keys(kit.config.receivers).join(', ')})`);

  let incident = SAMPLE_INCIDENT;
  let changes = [SEED_MOMENTS[0]!.change];
  if (values.event) {
    const event = parseEvent(await readEventArg(resolve(io.cwd, values.event), values.line));
    incident = event.incident;
    const detected = detectChanges(null, event).changes;
    if (detected.length) changes = detected;
  }
  if (values.change) changes = [parseChangeArg(values.change)];
  const ticketKind = isTicketKind(receiver.kind);
  const template = values.template ?? (ticketKind ? 'ticket' : 'incident-change');
  const exclusionMatches = matchExclusions(kit.config.exclusions, incident);
  const step: DeliveryStep = {
    idempotencyKey: idempotencyKey(incident.key, 'spk-render', values.receiver, changes.map((c) => c.id)),
    incidentKey: incident.key,
    playbook: 'spk-render',
    receiver: values.receiver,
    kind: receiver.kind,
    stepType: ticketKind ? 'ticket' : 'notify',
    ticketAction: ticketKind ? (changes.some((c) => c.kind === 'status' && c.to === 'Closed') ? 'resolve' : 'upsert') : null,
    template,
    changes,
    guidanceOnly: values.guidance! || exclusionMatches.length > 0,
    exclusionMatches: values.guidance! && exclusionMatches.length === 0 ? ['(forced with --guidance)'] : exclusionMatches,
    incident: compactIncident(incident),
    plannedAt: new Date().toISOString(),
  };
  if (values.context) {
    io.stdout(JSON.stringify(templateContext(step, { receiverName: values.receiver, ticket: null }), null, 2));
    return 0;
  }
  const rendered = renderStep(kit.templates, step, { receiverName: values.receiver, ticket: null, ...(kit.config.exclusions.reason ? { exclusionReason: kit.config.exclusions.reason } : {}) });
  if (values.payload) {
    const builder = PAYLOAD_BUILDERS[receiver.kind] as PayloadBuilder<ReceiverConfig>;
    for (const op of operationsFor(step, null)) {
      const p = builder({ step, receiverName: values.receiver, receiver, rendered, operation: op, ticket: null });
      io.stdout(`# ${op} → .${p.format} (${p.contentType})${p.truncated.length ? ` truncated: ${p.truncated.join(', ')}` : ''}`);
      io.stdout(p.body);
    }
    return 0;
  }
  for (const [part, value] of Object.entries(rendered.parts)) {
    io.stdout(`--- ${part} ---`);
    io.stdout(typeof value === 'string' ? value : JSON.stringify(value, null, 2));
  }
  return 0;
}
