/** The per-recipient memory moved to ../recipients.ts, shared with the voice kind; acs.ts still imports it from here. */
export * from '../recipients.js';
