/**
 * Target clients: `createTargetClient({ target, baseUrl, auth, check })` is how a connector talks to
 * its target. See client.ts for the policy order, auth.ts for the strategies, checks.ts for the
 * per-target checks of a 2xx, send.ts for the one-attempt transport and its status classification.
 */
export * from './auth.js';
export * from './checks.js';
export * from './client.js';
export * from './send.js';
export * from './user-agent.js';
