/**
 * Every request says who sent it, `sentinel-playbook-kit/<version>`, so a vendor's support (or the
 * customer's proxy log) can tell the kit's traffic apart and knows which release to blame.
 *
 * The version comes from package.json through a JSON import, which esbuild inlines into the bundle.
 * spk.ts reads package.json at run time relative to its own file, which works for the one CLI
 * bundle; the Function App bundle is split into chunks (dist/app/chunks/…), so a path relative to
 * this module would point at a different folder depending on which chunk it lands in.
 */
import pkg from '../../../package.json' with { type: 'json' };
import type { HttpPolicy } from './client.js';

export const KIT_VERSION: string = pkg.version;
export const KIT_USER_AGENT = `sentinel-playbook-kit/${KIT_VERSION}`;

export const USER_AGENT_POLICY_NAME = 'userAgent';

/** Sets User-Agent unless the caller set one (a target that wants a product token of its own). */
export function userAgentPolicy(userAgent: string = KIT_USER_AGENT): HttpPolicy {
  return {
    name: USER_AGENT_POLICY_NAME,
    sendRequest(request, next) {
      if (!request.headers.has('user-agent')) request.headers.set('user-agent', userAgent);
      return next(request);
    },
  };
}
