import type { InvocationContext } from '@azure/functions';
import { createJsonLogger, type Logger } from '../core/log.js';

/** structured lines into the invocation's log (Application Insights traces in Azure) */
export function invocationLogger(context: InvocationContext): Logger {
  return createJsonLogger((line) => context.log(line), { invocationId: context.invocationId, functionName: context.functionName });
}
