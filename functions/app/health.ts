/** health — GET: is the config loadable and the state reachable? Says what is wrong, never a secret. */
import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { KitError } from '../core/errors.js';
import { invocationLogger } from './log.js';
import { appRuntime } from './runtime.js';

export async function healthHandler(_request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  const log = invocationLogger(context);
  try {
    const runtime = await appRuntime(log);
    const queued = await runtime.stores.queue.approximateCount();
    return { status: 200, jsonBody: { status: 'ok', receivers: Object.keys(runtime.deliveryDeps.receivers).length, queued } };
  } catch (e) {
    // anonymous endpoint: say which part is unhealthy, keep the details (paths, receiver names) in the logs
    log.error('health check failed', { error: e instanceof Error ? e.message : String(e) });
    const kind = e instanceof KitError ? e.kind : 'internal';
    return { status: 503, jsonBody: { status: 'unhealthy', reason: kind === 'config' ? 'configuration' : kind === 'auth' ? 'storage access' : 'state unavailable', invocationId: context.invocationId } };
  }
}

app.http('health', { methods: ['GET'], authLevel: 'anonymous', route: 'health', handler: healthHandler });
