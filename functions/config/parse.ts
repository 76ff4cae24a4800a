/**
 * Parsing of the customisation files (YAML text → validated config) with every problem reported as
 * `file:line:col message`. Pure: the caller reads the files (functions/config/load.ts).
 */
import { LineCounter, parseDocument, isMap, isNode, isScalar, type Document } from 'yaml';
import type { z } from 'zod';
import { KitError } from '../core/errors.js';
import { deliversLive, endpointFieldText, endpointOf } from '../connectors/kinds.js';
import {
  exclusionsFileSchema,
  isTicketKind,
  playbookSchema,
  receiversFileSchema,
  type Exclusions,
  type PlaybookConfig,
  type ReceiverConfig,
} from './schema.js';

export interface KitConfig {
  receivers: Record<string, ReceiverConfig>;
  playbooks: PlaybookConfig[];
  exclusions: Exclusions;
}

export interface SourceFile {
  /** path as it should appear in messages, e.g. "playbooks/receivers.yaml" */
  path: string;
  source: string;
}

/** where each receivers object came from, so cross-file checks can point at a receiver's line */
const RECEIVER_LOCATIONS = new WeakMap<object, { file: string; located: Located }>();

export const EMPTY_EXCLUSIONS: Exclusions = { devices: [], users: [], groups: [] };

interface Located {
  doc: Document;
  lines: LineCounter;
}

function parseYaml(file: SourceFile, problems: KitError[]): (Located & { value: unknown }) | null {
  const lines = new LineCounter();
  const doc = parseDocument(file.source, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    for (const err of doc.errors) {
      const pos = lines.linePos(err.pos[0]);
      problems.push(
        new KitError(`YAML: ${err.message.split('\n')[0]}`, {
          kind: 'config',
          where: { file: file.path, line: pos.line, column: pos.col },
        }),
      );
    }
    return null;
  }
  return { doc, lines, value: doc.toJS({ maxAliasCount: 100 }) };
}

/** line/col in YAML `source` of a dotted field path like `triggeringLogic.conditions.0.conditionType` */
export function locateField(source: string, field: string): { line: number; column: number } {
  const lines = new LineCounter();
  const doc = parseDocument(source, { lineCounter: lines });
  const path = field.split('.').filter(Boolean).map((p) => (/^\d+$/.test(p) ? Number(p) : p));
  return locate({ doc, lines }, path);
}

/** line/col of the YAML node at `path`, or of its nearest existing parent */
export function locate(located: Located, path: ReadonlyArray<PropertyKey>): { line: number; column: number } {
  for (let n = path.length; n >= 0; n--) {
    const node = located.doc.getIn(path.slice(0, n) as unknown[], true);
    if (isNode(node) && node.range) {
      const pos = located.lines.linePos(node.range[0]);
      return { line: pos.line, column: pos.col };
    }
  }
  return { line: 1, column: 1 };
}

/** position of the key `key` inside the map at `path` (for "unknown field" messages) */
function locateKey(located: Located, path: ReadonlyArray<PropertyKey>, key: string): { line: number; column: number } | null {
  const map = located.doc.getIn(path as unknown[], true);
  if (!isMap(map)) return null;
  for (const pair of map.items) {
    if (isScalar(pair.key) && String(pair.key.value) === key && pair.key.range) {
      const pos = located.lines.linePos(pair.key.range[0]);
      return { line: pos.line, column: pos.col };
    }
  }
  return null;
}

function zodProblems(file: SourceFile, located: Located, error: z.ZodError, prefix: ReadonlyArray<PropertyKey> = []): KitError[] {
  return error.issues.flatMap((issue) => {
    if (issue.code === 'unrecognized_keys') {
      const path = [...prefix, ...issue.path];
      return issue.keys.map((key) => {
        const where = locateKey(located, path, key) ?? locate(located, path);
        const field = [...path.map(String), key].join('.');
        return new KitError(`${field}: unknown field "${key}"`, { kind: 'config', where: { file: file.path, line: where.line, column: where.column, field } });
      });
    }
    const path = [...prefix, ...issue.path];
    const badKey = issue.code === 'invalid_key' ? locateKey(located, path.slice(0, -1), String(path[path.length - 1])) : null;
    const where = badKey ?? locate(located, path);
    const field = path.map(String).join('.');
    // zod says only "Invalid key in record"; the key's own rule says what a name must look like
    const message = issue.code === 'invalid_key' && issue.issues[0] ? `the name "${String(issue.path[issue.path.length - 1])}" ${issue.issues[0].message}` : issue.message;
    return new KitError(`${field ? `${field}: ` : ''}${message}`, {
      kind: 'config',
      where: { file: file.path, line: where.line, column: where.column, field },
    });
  });
}

export function parseReceiversFile(file: SourceFile, problems: KitError[]): Record<string, ReceiverConfig> {
  const y = parseYaml(file, problems);
  if (!y) return {};
  const parsed = receiversFileSchema.safeParse(y.value);
  if (!parsed.success) {
    problems.push(...zodProblems(file, y, parsed.error));
    return {};
  }
  const receivers = parsed.data.receivers;
  RECEIVER_LOCATIONS.set(receivers, { file: file.path, located: y });
  return receivers;
}

export function parseExclusionsFile(file: SourceFile, problems: KitError[]): Exclusions {
  const y = parseYaml(file, problems);
  if (!y) return EMPTY_EXCLUSIONS;
  const parsed = exclusionsFileSchema.safeParse(y.value ?? { exclusions: {} });
  if (!parsed.success) {
    problems.push(...zodProblems(file, y, parsed.error));
    return EMPTY_EXCLUSIONS;
  }
  return parsed.data.exclusions;
}

export function parsePlaybookFile(file: SourceFile, problems: KitError[]): PlaybookConfig | null {
  const y = parseYaml(file, problems);
  if (!y) return null;
  const parsed = playbookSchema.safeParse(y.value);
  if (!parsed.success) {
    problems.push(...zodProblems(file, y, parsed.error));
    return null;
  }
  const base = file.path.split('/').pop()!.replace(/\.ya?ml$/i, '');
  const config = { ...parsed.data, name: parsed.data.name ?? base, file: file.path } as PlaybookConfig;
  (config as PlaybookConfig & { [LOCATED]?: Located })[LOCATED] = y;
  return config;
}

const LOCATED = Symbol('located');

function locateIn(playbook: PlaybookConfig, path: ReadonlyArray<PropertyKey>) {
  const y = (playbook as PlaybookConfig & { [LOCATED]?: Located })[LOCATED];
  return y ? locate(y, path) : { line: 1, column: 1 };
}

/**
 * Checks for a config about to run in the Function App. There an outbox is a folder on the host that
 * nobody reads, so a receiver without an endpoint would look delivered and reach no one: it must be
 * marked `dryRun: true` to say that is intended.
 */
export function deploymentProblems(config: KitConfig, liveKinds: ReadonlySet<ReceiverConfig['kind']>, receiversFile = 'playbooks/receivers.yaml'): KitError[] {
  const origin = RECEIVER_LOCATIONS.get(config.receivers);
  const problems: KitError[] = [];
  for (const [name, receiver] of Object.entries(config.receivers)) {
    if (receiver.dryRun === true || endpointOf(receiver) !== undefined) continue;
    const pos = origin ? (locateKey(origin.located, ['receivers'], name) ?? { line: 1, column: 1 }) : {};
    const fix = liveKinds.has(receiver.kind)
      ? `give it an endpoint (${endpointFieldText(receiver.kind)}) or mark it dryRun: true`
      : `this version has no live ${receiver.kind} connector: mark it dryRun: true to deploy it as outbox-only, or remove it and its steps`;
    problems.push(
      new KitError(`receiver "${name}" has no endpoint: in the Function App its deliveries would go to a folder on the host and reach nobody; ${fix}`, {
        kind: 'config',
        where: { file: origin?.file ?? receiversFile, ...pos, field: `receivers.${name}` },
      }),
    );
  }
  return problems;
}

export interface CrossCheckOptions {
  /** does a template <name> exist for receiver kind <kind>? */
  hasTemplate?: (kind: ReceiverConfig['kind'], name: string) => boolean;
  /** receiver kinds that have a real (HTTP) connector; others must deliver to the outbox */
  liveKinds?: ReadonlySet<ReceiverConfig['kind']>;
  receiversFile?: string;
}

/** Checks that need more than one file: every step names a receiver of the right kind with a template. */
export function crossCheck(config: KitConfig, options: CrossCheckOptions = {}): KitError[] {
  const problems: KitError[] = [];
  const seen = new Map<string, string>();
  for (const pb of config.playbooks) {
    const other = seen.get(pb.name);
    if (other) {
      problems.push(
        new KitError(`playbook name "${pb.name}" is also used by ${other}`, { kind: 'config', where: { file: pb.file, ...locateIn(pb, ['name']), field: 'name' } }),
      );
    }
    seen.set(pb.name, pb.file);
    pb.steps.forEach((step, i) => {
      const names = 'notify' in step ? (Array.isArray(step.notify) ? step.notify : [step.notify]) : [step.ticket];
      const field = 'notify' in step ? 'notify' : 'ticket';
      names.forEach((name, j) => {
        const path = 'notify' in step && Array.isArray(step.notify) ? ['steps', i, field, j] : ['steps', i, field];
        const at = { file: pb.file, ...locateIn(pb, path), field: path.join('.') };
        const receiver = config.receivers[name];
        if (!receiver) {
          const known = Object.keys(config.receivers).sort().join(', ') || 'none';
          problems.push(new KitError(`unknown receiver "${name}" (receivers: ${known})`, { kind: 'config', where: at }));
          return;
        }
        if (field === 'ticket' && !isTicketKind(receiver.kind)) {
          problems.push(new KitError(`receiver "${name}" is a ${receiver.kind} receiver; ticket steps need jira, servicenow, azuredevops, zendesk, freshservice or pagerduty`, { kind: 'config', where: at }));
          return;
        }
        if (field === 'notify' && isTicketKind(receiver.kind)) {
          problems.push(new KitError(`receiver "${name}" is a ${receiver.kind} ticket receiver; use a ticket: step for it`, { kind: 'config', where: at }));
          return;
        }
        if (options.hasTemplate && !options.hasTemplate(receiver.kind, step.template)) {
          const tplAt = { file: pb.file, ...locateIn(pb, ['steps', i, 'template']), field: `steps.${i}.template` };
          problems.push(
            new KitError(`no template "${step.template}" for ${receiver.kind} (expected playbooks/templates/${receiver.kind}/${step.template}.hbs)`, { kind: 'config', where: tplAt }),
          );
        }
      });
    });
  }
  if (options.liveKinds) {
    const origin = RECEIVER_LOCATIONS.get(config.receivers);
    for (const [name, receiver] of Object.entries(config.receivers)) {
      if (deliversLive(receiver) && !options.liveKinds.has(receiver.kind)) {
        const pos = origin ? (locateKey(origin.located, ['receivers'], name) ?? { line: 1, column: 1 }) : {};
        problems.push(
          new KitError(`receiver "${name}": the ${receiver.kind} connector can only write to the outbox in this version; remove its endpoint/credentials to use the outbox`, {
            kind: 'config',
            where: { file: origin?.file ?? options.receiversFile ?? 'playbooks/receivers.yaml', ...pos, field: `receivers.${name}` },
          }),
        );
      }
    }
  }
  return problems;
}
