/**
 * Fuzzed bodies for POST /api/dispatch: seeded and deterministic (the same seed and n give the same bodies,
 * byte for byte), so a failure in the soak run is reproduced by its seed and index alone.
 *
 * Most bodies start from the real trigger bodies in samples/defender-experts-day.jsonl and break them the ways a
 * caller can (dropped, renamed or retyped fields, numbers as strings, nulls everywhere, deeper nesting, huge or
 * hostile strings, lone surrogates, duplicated keys, truncated JSON, trailing garbage, the wrong content type,
 * arrays or scalars at the top level, bodies over 1 MB and over the 4 MiB limit); some are left valid, or made a
 * brand-new incident, so a run cannot pass by rejecting everything; the rest is random JSON from fast-check.
 *
 * Each body's `label` starts with its kind (`<kind>:` …), one of FUZZ_KINDS. `contentType` undefined means
 * `application/json`; an empty string means "send no content-type header".
 */
import { seededRandom } from '../helpers/fake-server.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';

export interface FuzzedBody {
  body: string;
  contentType?: string;
  label: string;
}

export const FUZZ_KINDS = [
  'original',
  'new-incident',
  'graph',
  'mutate',
  'numbers-as-strings',
  'null-everywhere',
  'huge-string',
  'unicode',
  'duplicate-key',
  'truncated',
  'trailing-garbage',
  'empty',
  'non-json',
  'content-type',
  'deep-nesting',
  'top-level',
  'over-1mb',
  'over-limit',
  'random-json',
  'random-shape',
] as const;
export type FuzzKind = (typeof FUZZ_KINDS)[number];

/** how often each kind is drawn (relative); the big ones are rare so N=400 stays fast */
const WEIGHTS: Record<FuzzKind, number> = {
  original: 6,
  'new-incident': 6,
  graph: 4,
  mutate: 22,
  'numbers-as-strings': 3,
  'null-everywhere': 3,
  'huge-string': 3,
  unicode: 5,
  'duplicate-key': 4,
  truncated: 4,
  'trailing-garbage': 3,
  empty: 2,
  'non-json': 3,
  'content-type': 4,
  'deep-nesting': 3,
  'top-level': 3,
  'over-1mb': 1.5,
  'over-limit': 1,
  'random-json': 6,
  'random-shape': 8,
};

const SAMPLE = join(import.meta.dirname, '../../samples/defender-experts-day.jsonl');
let samples: string[] | null = null;

/** the sample day's trigger bodies, as JSON text (one per line of the .jsonl) */
export function sampleBodies(): string[] {
  samples ??= readFileSync(SAMPLE, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '');
  return samples;
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Path = Array<string | number>;

class Dice {
  constructor(readonly next: () => number) {}
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
  pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.next() * xs.length)]!;
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  weighted<K extends string>(weights: Record<K, number>): K {
    const entries = Object.entries(weights) as Array<[K, number]>;
    let r = this.next() * entries.reduce((s, [, w]) => s + w, 0);
    for (const [k, w] of entries) if ((r -= w) < 0) return k;
    return entries[entries.length - 1]![0];
  }
}

/** fields the parsers read: mutating these finds more than mutating an ARM id nobody looks at */
const HOT_PATHS: Path[] = [
  ['objectSchemaType'],
  ['objectEventType'],
  ['eventUniqueId'],
  ['workspaceId'],
  ['object'],
  ['object', 'name'],
  ['object', 'id'],
  ['object', 'properties'],
  ['object', 'properties', 'title'],
  ['object', 'properties', 'description'],
  ['object', 'properties', 'severity'],
  ['object', 'properties', 'status'],
  ['object', 'properties', 'classification'],
  ['object', 'properties', 'classificationReason'],
  ['object', 'properties', 'classificationComment'],
  ['object', 'properties', 'owner'],
  ['object', 'properties', 'owner', 'assignedTo'],
  ['object', 'properties', 'owner', 'objectId'],
  ['object', 'properties', 'owner', 'userPrincipalName'],
  ['object', 'properties', 'labels'],
  ['object', 'properties', 'alerts'],
  ['object', 'properties', 'relatedEntities'],
  ['object', 'properties', 'incidentNumber'],
  ['object', 'properties', 'providerName'],
  ['object', 'properties', 'providerIncidentId'],
  ['object', 'properties', 'incidentUrl'],
  ['object', 'properties', 'lastModifiedTimeUtc'],
  ['object', 'properties', 'createdTimeUtc'],
  ['object', 'properties', 'additionalData'],
  ['object', 'properties', 'additionalData', 'alertsCount'],
  ['object', 'properties', 'additionalData', 'providerIncidentUrl'],
  ['object', 'properties', 'additionalData', 'tactics'],
  ['incidentUpdates'],
  ['incidentUpdates', 'updatedFields'],
  ['incidentUpdates', 'updatedBy'],
  ['incidentUpdates', 'labels'],
];

const HOSTILE_STRINGS = [
  '',
  ' ',
  '\u0000',
  '\u0000\u0001\u001f\u007f',
  '\u202eevil\u202c',
  '\u200b\u200d\ufeff',
  '𝔘𝔫𝔦𝔠𝔬𝔡𝔢 😀👩‍👩‍👧‍👦',
  'é'.repeat(40),
  '\ud800',
  'a\udc00b',
  '\udbff\udbff',
  '{{constructor.constructor}}',
  '{{#each this}}{{/each}}',
  '<script>alert(1)</script>',
  "'; DROP TABLE incidents; --",
  '../../../../etc/passwd',
  '%00%ff',
  '__proto__',
  'constructor',
  'null',
  'NaN',
  '-0',
  '1e400',
  '0x10',
  '3101',
  'Closed',
  'closed',
  'CLOSED ',
  'High',
  'Informational',
  '9999-99-99T99:99:99Z',
  '+275760-09-13T00:00:00.000Z',
  '1970-01-01T00:00:00.000Z',
  'not a date',
];

const ODD_VALUES: Json[] = [
  null,
  true,
  false,
  0,
  -1,
  1.5,
  -0,
  1e308,
  -1e308,
  2 ** 53 + 1,
  Number.MIN_VALUE,
  '',
  ' ',
  'null',
  '3101',
  [],
  [null],
  [[]],
  [1, 'two', { three: 3 }],
  {},
  { a: 1 },
  { properties: {} },
  { '': '' },
];

function clone<T extends Json>(v: T): T {
  return JSON.parse(JSON.stringify(v)) as T;
}

function getAt(root: Json, path: Path): Json | undefined {
  let node: Json | undefined = root;
  for (const k of path) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<string | number, Json>)[k];
  }
  return node;
}

/** sets (or with `value` undefined, deletes) the node at path; false when its parent is missing */
function setAt(root: Json, path: Path, value: Json | undefined): boolean {
  const parent = getAt(root, path.slice(0, -1));
  const key = path[path.length - 1];
  if (parent === null || parent === undefined || typeof parent !== 'object' || key === undefined) return false;
  if (Array.isArray(parent)) {
    if (typeof key !== 'number' || key >= parent.length) return false;
    if (value === undefined) parent.splice(key, 1);
    else parent[key] = value;
    return true;
  }
  if (value === undefined) delete parent[key as string];
  else parent[key as string] = value;
  return true;
}

function allPaths(root: Json, max = 400): Path[] {
  const out: Path[] = [];
  const walk = (node: Json, path: Path) => {
    if (out.length >= max || node === null || typeof node !== 'object') return;
    const entries: Array<[string | number, Json]> = Array.isArray(node) ? node.map((v, i) => [i, v]) : Object.entries(node);
    for (const [k, v] of entries) {
      out.push([...path, k]);
      walk(v, [...path, k]);
    }
  };
  walk(root, []);
  return out;
}

function mapLeaves(node: Json, f: (leaf: Json, key: string | number) => Json, key: string | number = ''): Json {
  if (Array.isArray(node)) return node.map((v, i) => mapLeaves(v, f, i));
  if (node !== null && typeof node === 'object') return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, mapLeaves(v, f, k)]));
  return f(node, key);
}

/** a string of about `bytes` bytes of UTF-8 (escaping in the JSON text may add a little) */
function stringOfBytes(d: Dice, bytes: number): string {
  const unit = d.pick(['x', 'é', '😀', 'abc def ', '\u200b']);
  return unit.repeat(Math.max(1, Math.floor(bytes / Buffer.byteLength(unit, 'utf8'))));
}

const show = (p: Path) => p.join('.') || '(root)';

function randomString(d: Dice, length: number): string {
  const alphabets = ['x', 'é', '😀', '\u0000', 'ab"\\\n', '\u200b', '<&>'];
  const unit = d.pick(alphabets);
  return unit.repeat(Math.ceil(length / unit.length)).slice(0, length);
}

/** one structural mutation of a parsed sample, in place; returns what it did */
function mutateOnce(d: Dice, root: Json): string {
  const path = d.chance(0.65) ? d.pick(HOT_PATHS) : d.pick(allPaths(root));
  const current = getAt(root, path);
  const op = d.pick(['drop', 'rename', 'retype', 'hostile', 'nest', 'wrap-array', 'swap'] as const);
  switch (op) {
    case 'drop':
      setAt(root, path, undefined);
      return `drop ${show(path)}`;
    case 'rename': {
      const key = path[path.length - 1];
      if (typeof key !== 'string' || current === undefined) return `rename ${show(path)} (absent)`;
      const renamed = d.pick([key.toUpperCase(), `${key} `, `${key}_`, key.slice(1), `$${key}`, '__proto__']);
      setAt(root, path, undefined);
      setAt(root, [...path.slice(0, -1), renamed], current);
      return `rename ${show(path)}→${renamed}`;
    }
    case 'retype': {
      const v = clone(d.pick(ODD_VALUES));
      setAt(root, path, v);
      return `retype ${show(path)}→${JSON.stringify(v)}`;
    }
    case 'hostile': {
      const s = d.pick(HOSTILE_STRINGS);
      setAt(root, path, s);
      return `hostile ${show(path)}→${JSON.stringify(s)}`;
    }
    case 'nest':
      if (current === undefined) return `nest ${show(path)} (absent)`;
      setAt(root, path, d.chance(0.5) ? { value: current, properties: { value: current } } : { [String(path[path.length - 1])]: current });
      return `nest ${show(path)}`;
    case 'wrap-array':
      if (current === undefined) return `wrap-array ${show(path)} (absent)`;
      setAt(root, path, [current, current]);
      return `wrap-array ${show(path)}`;
    case 'swap': {
      const other = d.pick(allPaths(root));
      const v = getAt(root, other);
      if (v === undefined) return `swap ${show(path)} (absent)`;
      setAt(root, path, clone(v));
      return `swap ${show(path)}←${show(other)}`;
    }
  }
}

/** gives a parsed sample a new incident identity (unique per seed and index), so it is planned as a brand-new incident */
function freshIdentity(root: Json, seed: number, index: number): string {
  const id = `fz-${seed >>> 0}-${index}`;
  setAt(root, ['object', 'name'], id);
  setAt(root, ['object', 'properties', 'providerIncidentId'], id);
  setAt(root, ['eventUniqueId'], `${id}-event`);
  return id;
}

/** a Graph security incident made from a Sentinel trigger body (the poller's shape) */
function graphFrom(sentinel: Json): Json {
  const props = (getAt(sentinel, ['object', 'properties']) ?? {}) as Record<string, Json>;
  const status = String(props.status ?? 'New');
  return {
    '@odata.type': '#microsoft.graph.security.incident',
    id: String(props.providerIncidentId ?? 'g-1'),
    displayName: props.title ?? null,
    description: props.description ?? null,
    severity: String(props.severity ?? 'medium').toLowerCase(),
    status: status === 'Closed' ? 'resolved' : status === 'Active' ? 'inProgress' : 'active',
    assignedTo: (getAt(sentinel, ['object', 'properties', 'owner', 'assignedTo']) as Json) ?? null,
    lastUpdateDateTime: props.lastModifiedTimeUtc ?? null,
    createdDateTime: props.createdTimeUtc ?? null,
    incidentWebUrl: (getAt(sentinel, ['object', 'properties', 'additionalData', 'providerIncidentUrl']) as Json) ?? null,
    customTags: [],
    systemTags: [],
  };
}

function nested(depth: number, open: string, close: string, inner = ''): string {
  return open.repeat(depth) + inner + close.repeat(depth);
}

const WRONG_TYPES = ['text/plain', 'application/xml', 'text/xml', 'text/html', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/octet-stream', 'text/json', 'application/jsonl', 'application/javascript', 'image/png', 'json'];
const FINE_TYPES = ['application/json', 'application/json; charset=utf-8', 'APPLICATION/JSON', 'application/vnd.api+json', 'application/problem+json', ''];

function one(d: Dice, seed: number, index: number, forced?: FuzzKind): FuzzedBody {
  const texts = sampleBodies();
  const pickIndex = d.int(0, texts.length - 1);
  const text = texts[pickIndex]!;
  const base = (): Json => JSON.parse(text) as Json;
  const kind = forced ?? d.weighted(WEIGHTS);
  const contentType = d.chance(0.15) ? d.pick(FINE_TYPES) : undefined;
  const withType = (b: Omit<FuzzedBody, 'contentType'>): FuzzedBody => (contentType === undefined ? b : { ...b, contentType });

  switch (kind) {
    case 'original':
      return withType({ body: text, label: `original: sample line ${pickIndex + 1}` });
    case 'new-incident': {
      const root = base();
      const id = freshIdentity(root, seed, index);
      return withType({ body: JSON.stringify(root), label: `new-incident: sample line ${pickIndex + 1} as ${id}` });
    }
    case 'graph': {
      const root = graphFrom(base());
      const did = d.chance(0.5) ? [mutateOnce(d, root)] : [];
      return withType({ body: JSON.stringify(root), label: `graph: from sample line ${pickIndex + 1}${did.length ? `; ${did.join('; ')}` : ''}` });
    }
    case 'mutate': {
      const root = base();
      if (d.chance(0.4)) freshIdentity(root, seed, index);
      const did = Array.from({ length: d.int(1, 3) }, () => mutateOnce(d, root));
      return withType({ body: JSON.stringify(root) ?? 'null', label: `mutate: sample line ${pickIndex + 1}; ${did.join('; ')}` });
    }
    case 'numbers-as-strings': {
      const root = mapLeaves(base(), (v) => (typeof v === 'number' ? String(v) : v));
      return withType({ body: JSON.stringify(root), label: `numbers-as-strings: sample line ${pickIndex + 1}` });
    }
    case 'null-everywhere': {
      // every leaf null, or every leaf but the title (so it gets past the first check)
      const keepTitle = d.chance(0.5);
      const root = mapLeaves(base(), (v, k) => (keepTitle && k === 'title' ? v : null));
      return withType({ body: JSON.stringify(root), label: `null-everywhere: sample line ${pickIndex + 1}${keepTitle ? ' (title kept)' : ''}` });
    }
    case 'huge-string': {
      const root = base();
      freshIdentity(root, seed, index);
      const path = d.pick(HOT_PATHS.filter((p) => p.length === 3 || p.length === 4));
      const length = d.pick([20_000, 70_000, 250_000]);
      setAt(root, path, randomString(d, length));
      return withType({ body: JSON.stringify(root), label: `huge-string: ${show(path)} is ${length} characters` });
    }
    case 'unicode': {
      const root = base();
      if (d.chance(0.5)) freshIdentity(root, seed, index);
      const path = d.pick(HOT_PATHS);
      const s = d.pick(['\ud800', '\udfff', 'x\ud83d', '\ude00y', '\u0000', '\u202e', 'é😀', '\ufffe\uffff', '\ud83d\ude00'.repeat(300)]);
      const raw = d.chance(0.3);
      setAt(root, path, `${String(getAt(root, path) ?? '')}${s}`);
      // JSON.stringify escapes a lone surrogate (\ud800); `raw` leaves it in the text, where UTF-8 turns it into U+FFFD
      const body = raw ? JSON.stringify(root).replace(/\\u(d[89a-f][0-9a-f]{2})/gi, (_, h: string) => String.fromCharCode(parseInt(h, 16))) : JSON.stringify(root);
      return withType({ body, label: `unicode: ${show(path)} + ${JSON.stringify(s).slice(0, 40)}${raw ? ' (raw in the text)' : ''}` });
    }
    case 'duplicate-key': {
      // JSON.parse keeps the last of duplicated keys; put the odd value first or last
      const key = d.pick(['title', 'name', 'status', 'severity', 'providerIncidentId', 'properties', 'object', 'labels']);
      const value = JSON.stringify(d.pick(ODD_VALUES));
      const at = text.indexOf(`"${key}":`);
      if (at < 0) return withType({ body: text, label: `duplicate-key: "${key}" absent, sample line ${pickIndex + 1} as is` });
      let last = d.chance(0.5);
      let body: string;
      if (last) {
        // after the original value: find the end of the enclosing object by re-serialising with the key moved
        const root = base();
        const paths = allPaths(root).filter((p) => p[p.length - 1] === key);
        const p = paths[0]!;
        const parentText = JSON.stringify(getAt(root, p.slice(0, -1)));
        body = text.replace(parentText, `${parentText.slice(0, -1)},"${key}":${value}}`);
        if (body === text) {
          last = false;
          body = `${text.slice(0, at)}"${key}":${value},${text.slice(at)}`;
        }
      } else {
        body = `${text.slice(0, at)}"${key}":${value},${text.slice(at)}`;
      }
      return withType({ body, label: `duplicate-key: "${key}" repeated with ${value} ${last ? 'after' : 'before'} the original` });
    }
    case 'truncated': {
      const cut = d.int(1, text.length - 1);
      return withType({ body: text.slice(0, cut), label: `truncated: sample line ${pickIndex + 1} cut at ${cut} of ${text.length}` });
    }
    case 'trailing-garbage': {
      const garbage = d.pick(['x', '}', ']', ',', '{}', ' {"a":1}', '\u0000', 'null', '\n{"object":{}}', '<!-- -->', ';']);
      return withType({ body: text + garbage, label: `trailing-garbage: ${JSON.stringify(garbage)}` });
    }
    case 'empty': {
      const body = d.pick(['', ' ', '\n', '\r\n\t ', '\u00a0', '\ufeff']);
      return withType({ body, label: `empty: ${JSON.stringify(body)}` });
    }
    case 'non-json': {
      const body = d.pick([
        '<Incident><title>x</title></Incident>',
        'object=1&title=x',
        'undefined',
        'NaN',
        "{'object': {}}",
        '{object: {properties: {title: "x"}}}',
        '{"a":1,}',
        '[1,2,]',
        '\ufeff{"object":{}}',
        '0x1F',
        '--boundary\r\nContent-Disposition: form-data\r\n\r\n{}\r\n--boundary--',
        '\u0000\u0001\u0002\u00ff',
        '"unterminated',
        '{"a":1e}',
        '{"a":01}',
        '{"a":"\\x41"}',
        '{"a":"\\ud800\\u"}',
      ]);
      return withType({ body, label: `non-json: ${JSON.stringify(body).slice(0, 40)}` });
    }
    case 'content-type': {
      const type = d.pick(WRONG_TYPES);
      return { body: d.chance(0.7) ? text : '<xml/>', contentType: type, label: `content-type: ${type}` };
    }
    case 'deep-nesting': {
      const depth = d.pick([64, 512, 2_000, 10_000, 100_000]);
      const where = d.pick(['top-level', 'inside an incident'] as const);
      const open = d.chance(0.5) ? '[' : '{"a":';
      const deep = open === '[' ? nested(depth, '[', ']') : nested(depth, '{"a":', '}', '1');
      if (where === 'top-level') return withType({ body: deep, label: `deep-nesting: ${depth} levels at the top level (${open})` });
      const root = base();
      freshIdentity(root, seed, index);
      const field = d.pick(['labels', 'alerts', 'relatedEntities', 'extra', 'description']);
      const json = JSON.stringify(root).replace('"properties":{', `"properties":{"${field}":${deep},`);
      return withType({ body: json, label: `deep-nesting: ${depth} levels (${open}) in object.properties.${field}` });
    }
    case 'top-level': {
      const body = d.pick(['[]', `[${text}]`, `[${text},${text}]`, 'null', 'true', '0', '-1.5e3', '"incident"', `"${text.replace(/["\\]/g, '\\$&')}"`, '{}']);
      return withType({ body, label: `top-level: ${body.slice(0, 30)}` });
    }
    case 'over-1mb': {
      // a valid trigger body padded past 1 MB (well under the 4 MiB limit): the kit keeps a bounded part of it
      const root = base() as Record<string, Json>;
      freshIdentity(root, seed, index);
      const size = d.int(1_050_000, 3_000_000);
      const where = d.pick(['padding', 'description', 'labels'] as const);
      if (where === 'padding') root.padding = stringOfBytes(d, size);
      else if (where === 'description') setAt(root, ['object', 'properties', 'description'], stringOfBytes(d, size));
      else setAt(root, ['object', 'properties', 'labels'], Array.from({ length: Math.floor(size / 70) }, (_, i) => ({ labelName: `label-${i}-${'x'.repeat(20)}`, labelType: 'User' })));
      return withType({ body: JSON.stringify(root), label: `over-1mb: ${where} of about ${size} bytes` });
    }
    case 'over-limit': {
      const root = base() as Record<string, Json>;
      root.padding = 'x'.repeat(4 * 1024 * 1024 + d.int(1, 4096));
      return withType({ body: JSON.stringify(root), label: 'over-limit: a trigger body over 4 MiB' });
    }
    case 'random-json': {
      const [v] = fc.sample(fc.jsonValue({ maxDepth: 4 }), { seed: d.int(0, 2 ** 31 - 1), numRuns: 1 });
      return withType({ body: JSON.stringify(v) ?? 'null', label: 'random-json: fast-check jsonValue' });
    }
    case 'random-shape': {
      // the trigger's shape with random values where the parser looks, so the parser (not detectShape) is fuzzed
      const [props] = fc.sample(
        fc.record(
          {
            title: fc.oneof(fc.string(), fc.jsonValue({ maxDepth: 1 })),
            severity: fc.oneof(fc.constantFrom('High', 'Medium', 'Low', 'Informational', 'high'), fc.jsonValue({ maxDepth: 1 })),
            status: fc.oneof(fc.constantFrom('New', 'Active', 'Closed', 'active'), fc.jsonValue({ maxDepth: 1 })),
            providerName: fc.oneof(fc.constant('Microsoft Defender XDR'), fc.string(), fc.jsonValue({ maxDepth: 1 })),
            providerIncidentId: fc.oneof(fc.string({ minLength: 1, maxLength: 40 }), fc.integer(), fc.jsonValue({ maxDepth: 1 })),
            owner: fc.oneof(fc.record({ assignedTo: fc.oneof(fc.string(), fc.constant(null)), objectId: fc.jsonValue({ maxDepth: 1 }) }), fc.jsonValue({ maxDepth: 1 })),
            labels: fc.oneof(fc.array(fc.oneof(fc.string(), fc.record({ labelName: fc.jsonValue({ maxDepth: 1 }) }))), fc.jsonValue({ maxDepth: 2 })),
            alerts: fc.oneof(fc.array(fc.record({ properties: fc.dictionary(fc.constantFrom('alertDisplayName', 'productName', 'tactics', 'friendlyName'), fc.jsonValue({ maxDepth: 1 })) })), fc.jsonValue({ maxDepth: 2 })),
            relatedEntities: fc.oneof(fc.array(fc.record({ kind: fc.constantFrom('Host', 'Account', 'SecurityGroup', 'Ip'), properties: fc.dictionary(fc.constantFrom('hostName', 'accountName', 'upnSuffix', 'friendlyName', 'aadUserId'), fc.jsonValue({ maxDepth: 1 })) })), fc.jsonValue({ maxDepth: 2 })),
            incidentNumber: fc.jsonValue({ maxDepth: 1 }),
            lastModifiedTimeUtc: fc.oneof(fc.date({ noInvalidDate: false }).map((x) => (Number.isNaN(x.getTime()) ? 'Invalid Date' : x.toISOString())), fc.jsonValue({ maxDepth: 1 })),
            additionalData: fc.oneof(fc.record({ alertsCount: fc.jsonValue({ maxDepth: 1 }), providerIncidentUrl: fc.oneof(fc.webUrl(), fc.string()) }), fc.jsonValue({ maxDepth: 1 })),
          },
          { requiredKeys: [] },
        ),
        { seed: d.int(0, 2 ** 31 - 1), numRuns: 1 },
      );
      const [name] = fc.sample(fc.oneof(fc.string({ minLength: 1, maxLength: 64 }), fc.constant(undefined), fc.jsonValue({ maxDepth: 1 })), { seed: d.int(0, 2 ** 31 - 1), numRuns: 1 });
      const body = { objectSchemaType: 'Incident', objectEventType: d.pick(['Create', 'Update']), object: { ...(name === undefined ? {} : { name }), properties: props }, ...(d.chance(0.3) ? { incidentUpdates: { updatedFields: d.pick([['Status'], null, 'Status', [1, {}]]) } } : {}) };
      return withType({ body: JSON.stringify(body), label: 'random-shape: trigger shape, random values' });
    }
  }
}

/**
 * n fuzzed bodies for dispatch, the same for the same seed. The first FUZZ_KINDS.length bodies are one of each
 * kind, in order, so any n >= FUZZ_KINDS.length covers every kind; the rest are drawn by WEIGHTS.
 */
export function* fuzzedBodies(seed: number, n: number): Iterable<FuzzedBody> {
  const d = new Dice(seededRandom(seed));
  for (let i = 0; i < n; i++) yield one(d, seed, i, FUZZ_KINDS[i]);
}

/** the kind a label names (its text before the first colon) */
export function kindOf(label: string): FuzzKind {
  const kind = label.slice(0, label.indexOf(':')) as FuzzKind;
  if (!FUZZ_KINDS.includes(kind)) throw new Error(`label "${label}" names no fuzz kind`);
  return kind;
}
