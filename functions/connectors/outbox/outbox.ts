/**
 * The outbox: the embedded default receiver. Every delivery to a receiver without an endpoint is
 * written as the target would get it, one file per API call, under
 * outbox/<receiver>/<incidentKey>-<n>.<ext>. Files appear whole or not at all (written to a temp
 * name, then hard-linked into place, which also refuses to overwrite an existing file).
 */
import { mkdir, link, unlink, writeFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import type { ReceiverConfig } from '../../core/config-schema.js';
import type { TicketRef } from '../../core/delivery.js';
import { operationsFor, type Connector, type DeliveryRequest, type DeliveryResult, type Operation, type PayloadBuilder } from '../types.js';

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
    async deliver(req: DeliveryRequest): Promise<DeliveryResult> {
      const dir = join(options.dir, safeFileStem(req.receiverName));
      const stem = safeFileStem(req.step.incidentKey);
      let ticket = req.existingTicket;
      let lastPath: string | null = null;
      let lastOp: Operation = 'send';
      for (const op of operationsFor(req.step, ticket)) {
        const payload = options.builder({ step: req.step, receiverName: req.receiverName, receiver: req.receiver, rendered: req.rendered, operation: op, ticket });
        lastPath = await writeOutboxFile(dir, stem, payload.format, payload.body);
        lastOp = op;
        if (op !== 'send') ticket = outboxTicketRef(req.receiverName, req.step.incidentKey, op === 'resolve' ? 'resolved' : 'open');
      }
      return { action: actionFor(lastOp), ticket: req.step.stepType === 'ticket' ? ticket : null, outbox: lastPath };
    },
  };
}
