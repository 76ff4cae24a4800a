/**
 * Loopback fakes of the two email APIs the kit sends through:
 *
 *  - Azure Communication Services Email (2023-03-31): `POST /emails:send` checked against the published
 *    EmailMessage schema (copied below from Azure/azure-rest-api-specs, CommunicationServicesEmail.json),
 *    answered 202 with an EmailSendResult, `Operation-Location` and `retry-after`; `GET
 *    /emails/operations/{id}` moves the operation NotStarted → Running → Succeeded (or Failed). Auth is
 *    the access-key HMAC, verified by fake-server.ts's createFakeAcs, or an Entra bearer token.
 *    ACS does not document what a second send with the same Operation-Id does, so the fake does the
 *    worst by default: it sends again.
 *  - Microsoft Graph `POST /v1.0/users/{id}/sendMail`: bearer token, mailbox lookup, the application
 *    access policy, x- headers only, 202 with no body. Graph has no idempotency: every accepted call sends.
 *
 * Error bodies follow each API's `{ error: { code, message } }`; the exact wording is not captured from
 * the services.
 */
import type { AccessToken, GetTokenOptions, TokenCredential } from '@azure/identity';
import type { Incident } from '../../../functions/core/model.js';
import { escapeHtml } from '../../../functions/render/escape.js';
import type { RenderedMessage } from '../../../functions/render/types.js';
import { makeIncident } from '../../fixtures/incident.js';
import { createFakeAcs, reply, routes, type FakeHandler, type FakeReply, type RecordedRequest } from '../../helpers/fake-server.js';

/** A managed identity stand-in: hands out `token` and records the scopes it was asked for. */
export function fakeCredential(token: string, now: () => number = Date.now): TokenCredential & { scopes: string[][] } {
  const scopes: string[][] = [];
  return {
    scopes,
    async getToken(asked: string | string[], _options?: GetTokenOptions): Promise<AccessToken> {
      scopes.push(Array.isArray(asked) ? asked : [asked]);
      return { token, expiresOnTimestamp: now() + 3_600_000 };
    },
  };
}

/** The three parts an email template fills, built by hand (escaped as render escapes HTML) so these tests do not depend on templates. */
export function renderedEmail(incident: Incident = makeIncident(), extra: { html?: string; text?: string } = {}): RenderedMessage {
  const title = `Sentinel incident ${incident.number ?? incident.key}: ${incident.title}`;
  return {
    kind: 'email',
    template: 'incident-change',
    parts: {
      subject: title,
      html: extra.html ?? `<!DOCTYPE html><html><body><h1>${escapeHtml(title)}</h1><p>${escapeHtml(incident.description)}</p></body></html>`,
      text: extra.text ?? `${title}\n\n${incident.description}`,
    },
  };
}

type Schema = {
  type?: string;
  required?: string[];
  properties?: Record<string, Schema>;
  additionalProperties?: Schema;
  items?: Schema;
  $ref?: string;
  enum?: string[];
  format?: string;
};

/** EmailMessage and what it refers to, as published (descriptions, examples and client names left out) */
const ACS_DEFINITIONS: Record<string, Schema> = {
  EmailMessage: {
    type: 'object',
    required: ['senderAddress', 'content', 'recipients'],
    properties: {
      headers: { type: 'object', additionalProperties: { type: 'string' } },
      senderAddress: { type: 'string' },
      content: { $ref: '#/definitions/EmailContent' },
      recipients: { $ref: '#/definitions/EmailRecipients' },
      attachments: { type: 'array', items: { $ref: '#/definitions/EmailAttachment' } },
      replyTo: { type: 'array', items: { $ref: '#/definitions/EmailAddress' } },
      userEngagementTrackingDisabled: { type: 'boolean' },
    },
  },
  EmailAddress: { type: 'object', required: ['address'], properties: { address: { type: 'string' }, displayName: { type: 'string' } } },
  EmailContent: { type: 'object', required: ['subject'], properties: { subject: { type: 'string' }, plainText: { type: 'string' }, html: { type: 'string' } } },
  EmailAttachment: {
    type: 'object',
    required: ['name', 'contentType', 'contentInBase64'],
    properties: { name: { type: 'string' }, contentType: { type: 'string' }, contentInBase64: { type: 'string', format: 'byte' } },
  },
  EmailRecipients: {
    type: 'object',
    required: ['to'],
    properties: {
      to: { type: 'array', items: { $ref: '#/definitions/EmailAddress' } },
      cc: { type: 'array', items: { $ref: '#/definitions/EmailAddress' } },
      bcc: { type: 'array', items: { $ref: '#/definitions/EmailAddress' } },
    },
  },
};

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The schema's rules, and one the schema leaves open: no property it does not name (the fake is
 * stricter than ACS may be, so a misspelt field fails here rather than being dropped there).
 */
function schemaErrors(value: unknown, schema: Schema, at: string, out: string[] = []): string[] {
  if (schema.$ref) return schemaErrors(value, ACS_DEFINITIONS[schema.$ref.replace('#/definitions/', '')]!, at, out);
  const t = schema.type;
  if (t === 'object') {
    if (!isObj(value)) return [...out, `${at} must be an object`];
    for (const r of schema.required ?? []) if (!(r in value)) out.push(`${at}.${r} is required`);
    for (const [k, v] of Object.entries(value)) {
      const p = schema.properties?.[k] ?? schema.additionalProperties;
      if (!p) out.push(`${at}.${k} is not a property of the schema`);
      else schemaErrors(v, p, `${at}.${k}`, out);
    }
  } else if (t === 'array') {
    if (!Array.isArray(value)) return [...out, `${at} must be an array`];
    value.forEach((v, i) => schemaErrors(v, schema.items!, `${at}[${i}]`, out));
  } else if (t === 'string') {
    if (typeof value !== 'string') out.push(`${at} must be a string`);
    else if (schema.format === 'byte' && !/^[A-Za-z0-9+/]*={0,2}$/.test(value)) out.push(`${at} must be base64`);
  } else if (t === 'boolean' && typeof value !== 'boolean') out.push(`${at} must be a boolean`);
  return out;
}

export function acsEmailMessageErrors(body: unknown): string[] {
  return schemaErrors(body, { $ref: '#/definitions/EmailMessage' }, 'emailMessage');
}

const one = (v: string | string[] | undefined): string | undefined => (typeof v === 'string' ? v : undefined);
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const ACS_VERSIONS = new Set(['2023-03-31', '2025-09-01']);

export interface FakeAcsEmailMessage {
  operationId: string;
  message: {
    senderAddress: string;
    recipients: { to: Array<{ address: string; displayName?: string }> };
    content: { subject: string; plainText?: string; html?: string };
    headers?: Record<string, string>;
    replyTo?: Array<{ address: string }>;
    userEngagementTrackingDisabled?: boolean;
  };
  /** the request headers of the send (Operation-Id, Repeatability-*) */
  headers: RecordedRequest['headers'];
}

interface FakeOperation {
  id: string;
  status: 'NotStarted' | 'Running' | 'Succeeded' | 'Failed' | 'Canceled';
  pollsLeft: number;
  error?: { code: string; message: string };
}

export interface FakeAcsEmailOptions {
  /** access-key auth (HMAC), as the portal shows the key */
  accessKey?: string;
  /** Entra auth: the bearer token the resource accepts */
  bearerToken?: string;
  /** MailFrom addresses of the domains linked to the resource */
  senders: string[];
  /** status checks that answer Running before the operation ends; default 1 */
  pollsUntilDone?: number;
  /** retry-after (seconds) on every non-terminal answer; default "1" */
  retryAfter?: string;
  /** a second send with an Operation-Id that already exists: send again (default) or answer 409 */
  reusedOperationId?: 'send-again' | 'conflict';
  /** how the operation of a message ends: an error makes it Failed */
  outcome?: (message: FakeAcsEmailMessage) => { code: string; message: string } | null;
  now?: () => number;
}

export interface FakeAcsEmail {
  handler: FakeHandler;
  /** every message ACS queued for sending, duplicates included */
  sent: FakeAcsEmailMessage[];
  operations: Map<string, FakeOperation>;
  /** why each refused request was refused, for test failure messages */
  rejections: string[];
}

export const ACS_FAKE_MAX_BYTES = 10 * 1024 * 1024;

export function createFakeAcsEmail(options: FakeAcsEmailOptions): FakeAcsEmail {
  const hmac = options.accessKey ? createFakeAcs({ accessKey: options.accessKey, ...(options.now ? { now: options.now } : {}) }) : null;
  const sent: FakeAcsEmailMessage[] = [];
  const operations = new Map<string, FakeOperation>();
  const rejections: string[] = [];
  const refuse = (status: number, code: string, message: string): FakeReply => {
    rejections.push(`${code}: ${message}`);
    return reply(status, { error: { code, message } }, { 'x-ms-error-code': code });
  };
  const retryAfter = options.retryAfter ?? '1';
  const result = (op: FakeOperation): FakeReply =>
    reply(200, { id: op.id, status: op.status, ...(op.error ? { error: op.error } : {}) }, op.status === 'NotStarted' || op.status === 'Running' ? { 'retry-after': retryAfter } : {});

  const api = routes({
    'POST /emails:send': (req) => {
      if (!ACS_VERSIONS.has(req.query.get('api-version') ?? '')) return refuse(400, 'UnsupportedApiVersion', `api-version ${req.query.get('api-version')} is not supported`);
      if (!/^application\/json\b/i.test(one(req.headers['content-type']) ?? '')) return refuse(415, 'UnsupportedMediaType', 'Content-Type must be application/json');
      if (Buffer.byteLength(req.body) > ACS_FAKE_MAX_BYTES) return refuse(413, 'RequestEntityTooLarge', 'The email request is over 10 MB');
      let body: unknown;
      try {
        body = JSON.parse(req.body);
      } catch {
        return refuse(400, 'InvalidRequest', 'The body is not JSON');
      }
      const errors = acsEmailMessageErrors(body);
      if (errors.length > 0) return refuse(400, 'InvalidRequest', errors.join('; '));
      const message = body as FakeAcsEmailMessage['message'];
      const count = message.recipients.to.length + ((message.recipients as { cc?: unknown[] }).cc?.length ?? 0) + ((message.recipients as { bcc?: unknown[] }).bcc?.length ?? 0);
      if (count === 0 || count > 50) return refuse(400, 'InvalidRecipients', `${count} recipients: between 1 and 50 are allowed across to, cc and bcc`);
      if (!options.senders.includes(message.senderAddress)) return refuse(400, 'InvalidSenderAddress', 'The sender address is not of a domain linked to this resource');
      for (const [name, value] of Object.entries(message.headers ?? {})) {
        if (/[\r\n]/.test(name + value)) return refuse(400, 'InvalidHeader', `header ${name} has a line break`);
      }
      const given = one(req.headers['operation-id']);
      if (given !== undefined && !UUID.test(given)) return refuse(400, 'InvalidOperationId', 'Operation-Id must be a UUID');
      const id = given ?? crypto.randomUUID();
      if (operations.has(id) && options.reusedOperationId === 'conflict') return refuse(409, 'Conflict', `an operation ${id} exists`);
      const op: FakeOperation = { id, status: 'NotStarted', pollsLeft: options.pollsUntilDone ?? 1 };
      operations.set(id, op);
      sent.push({ operationId: id, message, headers: req.headers });
      const outcome = options.outcome?.(sent.at(-1)!);
      if (outcome) op.error = outcome;
      const location = `http://${one(req.headers.host)}/emails/operations/${id}?api-version=${req.query.get('api-version')}`;
      return reply(202, { id, status: op.status }, { 'operation-location': location, 'retry-after': retryAfter });
    },
    'GET /emails/operations/:id': (req, params) => {
      if (!ACS_VERSIONS.has(req.query.get('api-version') ?? '')) return refuse(400, 'UnsupportedApiVersion', 'api-version is required');
      const op = operations.get(params.id ?? '');
      if (!op) return reply(404, { error: { code: 'NotFound', message: 'The operation was not found.' } });
      if (op.status === 'NotStarted' || op.status === 'Running') {
        if (op.pollsLeft > 0) {
          op.pollsLeft--;
          op.status = 'Running';
        } else op.status = op.error ? 'Failed' : 'Succeeded';
      }
      return result(op);
    },
  });

  const handler: FakeHandler = async (req, params) => {
    if (hmac) {
      const verdict = await hmac.handler(req, params);
      if ('status' in verdict && verdict.status === 401) {
        rejections.push(hmac.rejections.at(-1) ?? 'HMAC refused');
        return verdict;
      }
    } else if (one(req.headers.authorization) !== `Bearer ${options.bearerToken}`) {
      return refuse(401, 'InvalidAuthenticationToken', 'The access token is missing or invalid.');
    }
    return api(req, params);
  };
  return { handler, sent, operations, rejections };
}

export interface FakeGraphMailbox {
  /** the application access policy lets the app send as this mailbox; default true */
  allowed?: boolean;
  /** an Exchange Online mailbox (false: MailboxNotEnabledForRESTAPI); default true */
  rest?: boolean;
}

export interface FakeGraphMailOptions {
  token: string;
  /** user principal names that exist, and what each allows */
  mailboxes: Record<string, FakeGraphMailbox>;
  maxBytes?: number;
}

export interface FakeGraphMail {
  handler: FakeHandler;
  /** every message Graph accepted for sending, duplicates included */
  sent: Array<{ user: string; message: Record<string, any>; saveToSentItems: unknown }>;
  rejections: string[];
}

export const GRAPH_FAKE_MAX_BYTES = 4 * 1024 * 1024;
const GRAPH_MESSAGE_PROPERTIES = new Set(['subject', 'body', 'toRecipients', 'ccRecipients', 'bccRecipients', 'replyTo', 'internetMessageHeaders', 'from', 'importance', 'attachments']);

export function createFakeGraphMail(options: FakeGraphMailOptions): FakeGraphMail {
  const sent: FakeGraphMail['sent'] = [];
  const rejections: string[] = [];
  const refuse = (status: number, code: string, message: string): FakeReply => {
    rejections.push(`${code}: ${message}`);
    return reply(status, { error: { code, message, innerError: { 'request-id': '5b1c1a3c-0000-4000-8000-000000000000' } } });
  };
  const recipientsOk = (v: unknown) =>
    Array.isArray(v) && v.every((r) => isObj(r) && isObj(r.emailAddress) && typeof r.emailAddress.address === 'string' && /^[^\s@]+@[^\s@]+$/.test(r.emailAddress.address));

  const api = routes({
    'POST /v1.0/users/:user/sendMail': (req, params) => {
      if (one(req.headers.authorization) !== `Bearer ${options.token}`) return refuse(401, 'InvalidAuthenticationToken', 'Access token validation failure.');
      const user = Object.keys(options.mailboxes).find((u) => u.toLowerCase() === (params.user ?? '').toLowerCase());
      if (!user) return refuse(404, 'ErrorInvalidUser', `The requested user '${params.user}' is invalid.`);
      const box = options.mailboxes[user]!;
      if (box.allowed === false) return refuse(403, 'ErrorAccessDenied', 'Access to OData is disabled: [RAOP] : Blocked by tenant configured AppOnly AccessPolicy settings.');
      if (box.rest === false) return refuse(404, 'MailboxNotEnabledForRESTAPI', 'The mailbox is either inactive, soft-deleted, or is hosted on-premise.');
      if (!/^application\/json\b/i.test(one(req.headers['content-type']) ?? '')) return refuse(415, 'UnsupportedMediaType', 'Content-Type must be application/json');
      if (Buffer.byteLength(req.body) > (options.maxBytes ?? GRAPH_FAKE_MAX_BYTES)) return refuse(413, 'RequestEntityTooLarge', 'The request is too large.');
      let body: unknown;
      try {
        body = JSON.parse(req.body);
      } catch {
        return refuse(400, 'BadRequest', 'Unable to read JSON request payload.');
      }
      if (!isObj(body) || !isObj(body.message)) return refuse(400, 'ErrorInvalidRequest', 'sendMail needs a message');
      for (const k of Object.keys(body)) if (k !== 'message' && k !== 'saveToSentItems') return refuse(400, 'RequestBodyRead', `The parameter '${k}' in the request payload is not a valid parameter for the operation 'sendMail'.`);
      const m = body.message;
      for (const k of Object.keys(m)) if (!GRAPH_MESSAGE_PROPERTIES.has(k)) return refuse(400, 'RequestBodyRead', `The property '${k}' does not exist on type 'microsoft.graph.message'.`);
      if (typeof m.subject !== 'string') return refuse(400, 'ErrorInvalidRequest', 'subject must be a string');
      if (!isObj(m.body) || !/^(text|html)$/i.test(String(m.body.contentType)) || typeof m.body.content !== 'string') return refuse(400, 'ErrorInvalidRequest', 'body needs contentType Text or HTML and content');
      if (!recipientsOk(m.toRecipients) || (m.toRecipients as unknown[]).length === 0) return refuse(400, 'ErrorInvalidRecipients', 'At least one recipient is not valid.');
      if (m.replyTo !== undefined && !recipientsOk(m.replyTo)) return refuse(400, 'ErrorInvalidRecipients', 'replyTo is not valid');
      if ((m.toRecipients as unknown[]).length > 500) return refuse(400, 'ErrorTooManyRecipients', 'More than 500 recipients.');
      const headers = m.internetMessageHeaders ?? [];
      if (!Array.isArray(headers)) return refuse(400, 'ErrorInvalidRequest', 'internetMessageHeaders must be an array');
      for (const h of headers) {
        if (!isObj(h) || typeof h.name !== 'string' || typeof h.value !== 'string') return refuse(400, 'ErrorInvalidRequest', 'a header needs a name and a value');
        if (!/^x-/i.test(h.name)) return refuse(400, 'InvalidInternetMessageHeader', `The internet message header name '${h.name}' should start with 'x-' or 'X-'.`);
        if (/[\r\n]/.test(h.value)) return refuse(400, 'InvalidInternetMessageHeader', `header ${h.name} has a line break`);
      }
      sent.push({ user, message: m, saveToSentItems: body.saveToSentItems });
      return reply(202);
    },
  });
  return { handler: api, sent, rejections };
}
