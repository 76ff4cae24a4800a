/** health — GET: is the config loadable and the state reachable? Says what is wrong, never a secret. */
import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { invocationLogger } from './log.js';
import { appRuntime } from './runtime.js';

export async function healthHandler(_request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  const log = invocationLogger(context);
  try {
    const runtime = await appRuntime(log);
    const queued = await runtime.stores.queue.approximateCount();
    return { status: 200, jsonBody: { status: 'ok', receivers: Object.keys(runtime.deliverDeps.receivers).length, queued } };
  } catch (e) {
    return { status: 503, jsonBody: { status: 'unhealthy', error: e instanceof Error ? e.message : String(e) } };
  }
}

app.http('health', { methods: ['GET'], authLevel: 'anonymous', route: 'health', handler: healthHandler });
