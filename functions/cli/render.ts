/** `spk render`: one template against one event, as text parts or as the exact payload the target gets. */
import { parseArgs } from 'node:util';
import { resolve } from 'node:path';
import { loadKitOrThrow } from '../config/load.js';
import { KitError } from '../core/errors.js';
import { parseEvent } from '../core/parse-event.js';
import { matchExclusions } from '../core/exclusions.js';
import type { Change, Incident } from '../core/model.js';
import { idempotencyKey, compactIncident } from '../core/plan.js';
import { eventFingerprint, planEvent } from '../core/plan-event.js';
import type { DeliveryStep } from '../core/delivery.js';
import { isTicketKind } from '../config/schema.js';
import { renderStep, templateContext } from '../render/engine.js';
import { payloadBuilderOf } from '../connectors/registry.js';
import { outboxBody } from '../connectors/request.js';
import { operationsFor, type PayloadBuilder } from '../connectors/types.js';
import type { ReceiverConfig } from '../config/schema.js';
import { SAMPLE_INCIDENT, SEED_MOMENTS } from './samples.js';
import { parseChangeArg } from './routes.js';
import { readEventArg } from './events.js';
import { UsageError, type CliIo } from './io.js';

const HELP = `usage: spk render --receiver NAME [--template NAME] [--event FILE [--line N]] [--change K=V] [--guidance] [--payload | --context] [--config DIR]

One template against one event: the rendered parts, the exact payload the target gets, or the template context.

  --receiver NAME   which receiver (its kind picks the template folder)
  --template NAME   template name (default: the one the pipeline plans for this receiver; otherwise
                    incident-change for notifiers, ticket for tickets)
  --event FILE      the incident to render: a raw Sentinel trigger body or Graph incident, one JSON document
                    or JSON lines (default: the built-in sample incident 4711). The step the pipeline plans
                    for this receiver is rendered (its playbooks, changes, template, exclusions), as if the
                    kit saw the event first
  --line N          the event on line N of a JSON-lines file (needed when the file has several events)
  --change K=V      render for this change instead of the event's own, e.g. owner=Customer status=Closed
                    tag-added="Awaiting Customer Action" (kinds as in spk routes test)
  --guidance        render the guidance-only variant, as when an excluded device, user or group is involved
  --payload         print the exact body the target would get, per operation, instead of the template parts
  --context         print the template context (what {{...}} can use) as JSON
  --config DIR      the playbooks folder (default: playbooks)
  -h, --help        show this help
exit: 0 rendered, 1 a config, event or template error, 64 usage error`;

export async function renderCommand(argv: string[], io: CliIo): Promise<number> {
  try {
    return await render(argv, io);
  } catch (e) {
    // the shared event reader does not know which command it serves
    if (e instanceof UsageError && !/^(spk |usage: )/.test(e.message)) throw new UsageError(`spk render: ${e.message}`);
    throw e;
  }
}

async function render(argv: string[], io: CliIo): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
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
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (e) {
    throw new UsageError(`spk render: ${(e as Error).message}\n${HELP}`);
  }
  if (values.help) {
    io.stdout(HELP);
    return 0;
  }
  if (!values.receiver) throw new UsageError(`spk render: --receiver is required\n${HELP}`);
  if (values.line !== undefined && !values.event) throw new UsageError(`spk render: --line needs --event FILE\n${HELP}`);
  if (values.payload && values.context) throw new UsageError(`spk render: give --payload or --context, not both\n${HELP}`);
  const change = values.change === undefined ? undefined : parseChangeArg(values.change);
  const eventRaw = values.event ? await readEventArg(resolve(io.cwd, values.event), values.line, values.event) : undefined;
  const kit = await loadKitOrThrow(resolve(io.cwd, values.config), { cwd: io.cwd });
  const receiver = kit.config.receivers[values.receiver];
  if (!receiver) throw new UsageError(`unknown receiver "${values.receiver}" (receivers: ${Object.keys(kit.config.receivers).join(', ')})`);

  let incident: Incident = SAMPLE_INCIDENT;
  let changes: Change[] = [SEED_MOMENTS[0]!.change];
  let planned: DeliveryStep | undefined;
  if (eventRaw !== undefined) {
    let event;
    try {
      event = parseEvent(eventRaw);
    } catch (e) {
      if (e instanceof KitError) throw new KitError(e.message, { kind: e.kind, cause: e, where: { ...e.where, file: values.event!, ...(values.line ? { line: Number(values.line) } : {}) } });
      throw e;
    }
    // the pipeline's own plan: the merged, bounded view and the step it would queue for this receiver
    const plan = planEvent(kit.config, null, event, new Date(), { fingerprint: eventFingerprint(eventRaw) });
    incident = plan.view;
    if (plan.changes.length) changes = plan.changes;
    planned = plan.steps.find((s) => s.receiver === values.receiver && (values.template === undefined || s.template === values.template));
  }
  if (change) changes = [change];
  const ticketKind = isTicketKind(receiver.kind);
  const template = values.template ?? (ticketKind ? 'ticket' : 'incident-change');
  const exclusionMatches = matchExclusions(kit.config.exclusions, incident);
  const built: DeliveryStep = {
    idempotencyKey: idempotencyKey(incident.key, 'spk-render', values.receiver, changes.map((c) => c.id)),
    incidentKey: incident.key,
    playbook: 'spk-render',
    receiver: values.receiver,
    kind: receiver.kind,
    stepType: ticketKind ? 'ticket' : 'notify',
    ticketAction: ticketKind ? (changes.some((c) => c.kind === 'status' && c.to === 'Closed') ? 'resolve' : 'upsert') : null,
    template,
    changes,
    guidanceOnly: values.guidance || exclusionMatches.length > 0,
    exclusionMatches: values.guidance && exclusionMatches.length === 0 ? ['(forced with --guidance)'] : exclusionMatches,
    incident: compactIncident(incident),
    plannedAt: new Date().toISOString(),
  };
  // a --change asks for a step the pipeline did not plan, so only then is the render's own step used
  const step: DeliveryStep =
    planned && !change
      ? {
          ...planned,
          guidanceOnly: values.guidance || planned.guidanceOnly,
          exclusionMatches: values.guidance && planned.exclusionMatches.length === 0 ? ['(forced with --guidance)'] : planned.exclusionMatches,
        }
      : built;
  if (values.context) {
    io.stdout(JSON.stringify(templateContext(step, { receiverName: values.receiver, ticket: null }), null, 2));
    return 0;
  }
  const rendered = renderStep(kit.templates, step, { receiverName: values.receiver, ticket: null, ...(kit.config.exclusions.reason ? { exclusionReason: kit.config.exclusions.reason } : {}) });
  if (values.payload) {
    const builder = payloadBuilderOf(receiver.kind);
    for (const op of operationsFor(step, null)) {
      // no ticket is known here, so a path that names one shows the API's template ({issueIdOrKey}, {sys_id}, {id});
      // a webhook or a message (email, SMS, TwiML) goes to the endpoint itself and shows no path
      const p = builder({ step, receiverName: values.receiver, receiver, rendered, operation: op, ticket: null });
      const call = p.path === '' ? '' : ` ${p.method} ${p.path}`;
      const credential = p.credential ? ` ${p.credential.field}: from ${p.credential.from}` : '';
      io.stdout(`# ${op} → .${p.format} (${p.contentType})${call}${credential}${p.truncated.length ? ` truncated: ${p.truncated.join(', ')}` : ''}`);
      io.stdout(outboxBody(p));
    }
    return 0;
  }
  for (const [part, value] of Object.entries(rendered.parts)) {
    io.stdout(`--- ${part} ---`);
    io.stdout(typeof value === 'string' ? value : JSON.stringify(value, null, 2));
  }
  return 0;
}
