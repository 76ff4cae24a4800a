/**
 * The outbox: the embedded default receiver. Every delivery to a receiver without an endpoint is
 * written as the target would get it, one file per API call (the builder's request body, serialised by
 * the one shared `outboxBody`, a body credential showing its stand-in), under
 * outbox/<receiver>/<incidentKey>-<n>.<ext>. Files appear whole or not at all (written to a temp
 * name, then hard-linked into place, which also refuses to overwrite an existing file).
 */
import { mkdir, link, unlink, writeFile, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import type { ReceiverConfig } from '../../config/schema.js';
import { KINDS } from '../kinds.js';
import type { TicketRef } from '../../core/delivery.js';
import { outboxBody } from '../request.js';
import { operationsFor, type Connector, type DeliveryRequest, type DeliveryResult, type Operation, type OutboxFormat, type PayloadBuilder } from '../types.js';

/** incident keys come from the outside: keep file names to a safe alphabet */
export function safeFileStem(value: string): string {
  const cleaned = value.replace(/[^A-Za-z0-9._-]/g, '_').replace(/^\.+/, '_');
  return cleaned.slice(0, 80) || '_';
}

async function nextFreeNumber(dir: string, stem: string): Promise<number> {
  const names = await readdir(dir).catch(() => [] as string[]);
  let max = 0;
  const re = new RegExp(`^${stem.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}-(\\d+)\\.`);
  for (const n of names) {
    const m = re.exec(n);
    if (m) max = Math.max(max, Number(m[1]));
  }
  return max + 1;
}

/** writes `body` to <dir>/<stem>-<n>.<ext> with the first free n; returns the path */
export async function writeOutboxFile(dir: string, stem: string, ext: string, body: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  const tmp = join(dir, `.${randomUUID()}.tmp`);
  await writeFile(tmp, body, 'utf8');
  try {
    for (let n = await nextFreeNumber(dir, stem); ; n++) {
      const target = join(dir, `${stem}-${n}.${ext}`);
      try {
        await link(tmp, target);
        return target;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
    }
  } finally {
    await unlink(tmp).catch(() => {});
  }
}

export interface OutboxOptions {
  /** the outbox folder, e.g. ./outbox */
  dir: string;
  builder: PayloadBuilder<ReceiverConfig>;
}

function actionFor(op: Operation): DeliveryResult['action'] {
  return op === 'send' ? 'sent' : op === 'create' ? 'created' : op === 'update' ? 'updated' : 'resolved';
}

export function outboxTicketRef(receiverName: string, incidentKey: string, state: TicketRef['state']): TicketRef {
  return { receiver: receiverName, incidentKey, id: `outbox-${safeFileStem(incidentKey)}`, key: `OUTBOX-${safeFileStem(incidentKey)}`, url: null, state };
}

export function createOutboxConnector(options: OutboxOptions): Connector {
  return {
    async execute(req: DeliveryRequest): Promise<DeliveryResult> {
      const dir = join(options.dir, safeFileStem(req.receiverName));
      const stem = safeFileStem(req.step.incidentKey);
      let ticket = req.existingTicket;
      let lastPath: string | null = null;
      let lastOp: Operation = 'send';
      for (const op of operationsFor(req.step, ticket)) {
        const request = options.builder({ step: req.step, receiverName: req.receiverName, receiver: req.receiver, rendered: req.rendered, operation: op, ticket });
        lastPath = await writeOutboxFile(dir, stem, request.format, outboxBody(request));
        lastOp = op;
        if (op !== 'send') ticket = outboxTicketRef(req.receiverName, req.step.incidentKey, op === 'resolve' ? 'resolved' : 'open');
      }
      return { action: actionFor(lastOp), ticket: req.step.stepType === 'ticket' ? ticket : null, outbox: lastPath };
    },
  };
}

/**
 * The marker that says "spk wrote this folder". `--fresh` empties only a folder that carries it, and only
 * of what spk writes there, so pointing `--out` at the wrong place can never cost anyone their files.
 */
export const OUTBOX_MARKER = '.spk-outbox';

const MARKER_TEXT = `This folder is an outbox written by spk simulate (Sentinel Playbook Kit).

spk simulate --fresh empties it again, removing only what spk writes here: index.html and the
receiver folders of outbox files (<receiver>/<incident>-<n>.<format>). It refuses to empty the folder
if anything else is in it. Delete this file and spk will no longer treat the folder as its own.
`;

/** a record spk writes next to the outbox files when a delivery failed for good, for the preview page */
export interface FailedDeliveryRecord {
  receiver: string;
  channel: string;
  incidentKey: string;
  incidentNumber: number | null;
  title: string | null;
  idempotencyKey: string;
  action: 'failed';
  error: string;
  at: string;
}

export const FAILED_FORMAT = 'failed.json';

// from the registry, so a new kind's format is known here too: --fresh must know it is the kit's, and the preview page must show it
const FORMAT_TABLE: Record<string, true> = Object.fromEntries([...KINDS.map((k) => k.format), FAILED_FORMAT].map((f) => [f, true]));
/** every kind of file the kit writes into a receiver's outbox folder */
export const OUTBOX_FORMATS = Object.keys(FORMAT_TABLE) as OutboxFormat[];
const KIT_TOP_FILES = new Set([OUTBOX_MARKER, 'index.html', 'index.html.tmp']);
/** what safeFileStem can produce */
const STEM = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,79}$/;
/** the temp name writeOutboxFile links from; left behind only if the process died mid-write */
const TEMP = /^\.[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\.tmp$/;

function isKitOutboxFile(name: string): boolean {
  if (TEMP.test(name)) return true;
  const m = /^(.+)-\d+\.(.+)$/.exec(name);
  if (!m) return false;
  const ext = m[2]!;
  return STEM.test(m[1]!) && Object.hasOwn(FORMAT_TABLE, ext);
}

export async function hasOutboxMarker(dir: string): Promise<boolean> {
  return readFile(join(dir, OUTBOX_MARKER), 'utf8').then(
    () => true,
    () => false,
  );
}

/**
 * The first entry in `dir` (a path relative to it) that spk would not have written, or null when
 * everything there is the kit's own. Symbolic links are never the kit's: emptying must not follow one.
 */
export async function firstForeignEntry(dir: string): Promise<string | null> {
  const top = await readdir(dir, { withFileTypes: true });
  for (const d of top.sort((a, b) => (a.name < b.name ? -1 : 1))) {
    if (d.isFile() && KIT_TOP_FILES.has(d.name)) continue;
    if (!d.isDirectory() || !STEM.test(d.name)) return d.name;
    for (const f of (await readdir(join(dir, d.name), { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      if (!f.isFile() || !isKitOutboxFile(f.name)) return `${d.name}/${f.name}`;
    }
  }
  return null;
}

/** Removes what spk wrote into an outbox folder, keeping the marker. Call only after firstForeignEntry said null. */
export async function emptyOutbox(dir: string): Promise<void> {
  for (const d of await readdir(dir, { withFileTypes: true })) {
    if (d.name === OUTBOX_MARKER) continue;
    await rm(join(dir, d.name), { recursive: d.isDirectory(), force: true });
  }
}

/** Creates the outbox folder if needed and marks it as spk's. */
export async function claimOutbox(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  if (await hasOutboxMarker(dir)) return;
  // 'wx': two runs claiming one new folder at once must not fail each other
  await writeFile(join(dir, OUTBOX_MARKER), MARKER_TEXT, { encoding: 'utf8', flag: 'wx' }).catch((e: NodeJS.ErrnoException) => {
    if (e.code !== 'EEXIST') throw e;
  });
}

/**
 * Writes <receiver>/<incident>-<n>.failed.json for a delivery that failed for good, so the preview page
 * shows it with its reason. A failure reported again by a later run over the same state (the ledger
 * remembers it) is written once, not once per run.
 */
export async function writeFailedDelivery(outboxDir: string, record: FailedDeliveryRecord): Promise<string> {
  const dir = join(outboxDir, safeFileStem(record.receiver));
  const stem = safeFileStem(record.incidentKey);
  const names = await readdir(dir).catch(() => [] as string[]);
  for (const n of names) {
    if (!n.startsWith(`${stem}-`) || !n.endsWith(`.${FAILED_FORMAT}`)) continue;
    const known = await readFile(join(dir, n), 'utf8')
      .then((t) => JSON.parse(t) as Partial<FailedDeliveryRecord> | null)
      .catch(() => null);
    if (known?.idempotencyKey === record.idempotencyKey) return join(dir, n);
  }
  return writeOutboxFile(dir, stem, FAILED_FORMAT, JSON.stringify(record, null, 2));
}
