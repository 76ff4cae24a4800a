/**
 * dispatch — HTTP POST from the thin Logic App playbook with the Sentinel incident-trigger body.
 * 202 with what was planned; 400 with a clear message for a bad body; a retryable state failure
 * answers 503 so the Logic App's retry policy tries again (the design makes that retry harmless).
 */
import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { KitError } from '../core/errors.js';
import { ingest } from '../pipeline/ingest.js';
import { invocationLogger } from './log.js';
import { appRuntime } from './runtime.js';

const MAX_BODY_BYTES = 4 * 1024 * 1024;

export async function dispatchHandler(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  const log = invocationLogger(context);
  const length = Number(request.headers.get('content-length') ?? '0');
  if (length > MAX_BODY_BYTES) return problem(413, `body is ${length} bytes; the limit is ${MAX_BODY_BYTES}`);
  const type = request.headers.get('content-type') ?? '';
  if (type && !/^application\/(.+\+)?json\b/i.test(type)) return problem(415, `content-type must be application/json, got "${type}"`);
  let body: unknown;
  try {
    const text = await request.text();
    if (text.length > MAX_BODY_BYTES) return problem(413, `body is larger than ${MAX_BODY_BYTES} bytes`);
    if (text.trim() === '') return problem(400, 'empty body: expected the Sentinel incident trigger body (JSON)');
    body = JSON.parse(text);
  } catch (e) {
    return problem(400, `body is not valid JSON: ${(e as Error).message}`);
  }
  try {
    const runtime = await appRuntime(log);
    const result = await ingest(body, { ...runtime.ingestDeps, log });
    log.info('dispatched', { incidentKey: result.incidentKey, changes: result.changes.length, steps: result.steps.length });
    return {
      status: 202,
      jsonBody: {
        incidentKey: result.incidentKey,
        changes: result.changes.map(({ kind, from, to }) => ({ kind, from, to })),
        playbooks: result.playbooks,
        steps: result.steps.map((s) => ({ playbook: s.playbook, receiver: s.receiver, channel: s.kind, idempotencyKey: s.idempotencyKey, guidanceOnly: s.guidanceOnly })),
        stale: result.stale,
        replay: result.replay,
      },
    };
  } catch (e) {
    if (e instanceof KitError && e.kind === 'validation') return problem(400, e.message, e.where?.field);
    if (e instanceof KitError && e.retryable) {
      log.warn('dispatch failed with a retryable error', { error: e.message });
      return { status: 503, headers: { 'retry-after': '5' }, jsonBody: { error: 'temporarily unavailable; retry' } };
    }
    log.error('dispatch failed', { error: e instanceof Error ? e.message : String(e) });
    return { status: 500, jsonBody: { error: 'internal error; see the Function App logs', invocationId: context.invocationId } };
  }
}

function problem(status: number, message: string, field?: string): HttpResponseInit {
  return { status, jsonBody: { error: message, ...(field ? { field } : {}) } };
}

app.http('dispatch', { methods: ['POST'], authLevel: 'function', route: 'dispatch', handler: dispatchHandler });
