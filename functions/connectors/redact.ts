/**
 * Keeping secrets out of error messages and logs. A Teams Workflows URL carries its credential in
 * `sig=`, a Slack webhook in its path, and undici puts the full URL into some of its own errors, so
 * every string that may leave a connector goes through here first.
 */

const REDACTED = '[redacted]';

/**
 * The part of a URL that is safe to show: scheme, host (port included) and the first path segment,
 * e.g. `https://prod-12.westeurope.logic.azure.com/workflows/…`. User info, the rest of the path
 * (where Slack and Logic Apps keep tokens), the query (`sig=`) and the fragment are dropped.
 */
export function redactUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return '[unparseable-url]';
  }
  const segments = parsed.pathname.split('/').filter((s) => s.length > 0);
  const first = segments[0];
  const more = segments.length > 1 || parsed.search !== '' || parsed.hash !== '';
  const path = first === undefined ? '' : `/${first}${more ? '/…' : ''}`;
  return `${parsed.protocol}//${parsed.host}${path}`;
}

/**
 * The pieces of a URL that may turn up alone in a vendor's error body (an echoed path or query).
 * Long query values are always included: sig=, token=, code= are credentials wherever they appear.
 * When the whole URL is the credential (Teams Workflows, Slack webhooks), its path and the long
 * path segments after the first are included too.
 */
const LONG_QUERY_VALUE = 16;

export function secretsOfUrl(url: string, wholeUrlIsSecret: boolean): string[] {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return [url];
  }
  const out: string[] = [url];
  // short values (fields=status, maxResults=1) are not credentials, and redacting them would garble messages
  const minValue = wholeUrlIsSecret ? 0 : LONG_QUERY_VALUE;
  for (const [, value] of parsed.searchParams) if (value.length >= minValue) out.push(value);
  for (const raw of parsed.search.replace(/^\?/, '').split('&')) {
    const value = raw.split('=').slice(1).join('=');
    if (value && value.length >= minValue) out.push(value);
  }
  if (wholeUrlIsSecret) {
    out.push(parsed.pathname + parsed.search, parsed.search);
    // every segment after the first (the first is shown in messages), long enough to be a credential
    out.push(...parsed.pathname.split('/').filter((seg) => seg.length > 0).slice(1).filter((seg) => seg.length >= 8));
  }
  return out;
}

// Shorter values would match ordinary words and make messages unreadable without protecting anything.
const MIN_SECRET_LENGTH = 4;

const URL_PATTERN = /\bhttps?:\/\/[^\s"'<>`]+/gi;

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * Replaces every occurrence of each secret (and its URL-encoded form) with `[redacted]`, then cuts
 * any remaining URL that has a query, fragment, user info or a deep path down to `redactUrl` form,
 * because a URL in an error body may itself be a credential the caller did not know to list.
 */
export function redactSecrets(text: string, secrets: ReadonlyArray<string | undefined | null>): string {
  const variants = new Set<string>();
  for (const secret of secrets) {
    if (typeof secret !== 'string' || secret.length < MIN_SECRET_LENGTH) continue;
    variants.add(secret);
    const encoded = encodeURIComponent(secret);
    if (encoded !== secret) variants.add(encoded);
  }
  let out = text;
  // longest first, so a URL secret is replaced whole before a shorter secret inside it is
  for (const v of [...variants].sort((a, b) => b.length - a.length)) {
    out = out.replace(new RegExp(escapeRegExp(v), 'g'), REDACTED);
  }
  return out.replace(URL_PATTERN, (match) => {
    try {
      const u = new URL(match);
      const deep = u.pathname.split('/').filter((s) => s.length > 0).length > 1;
      if (u.search === '' && u.hash === '' && u.username === '' && u.password === '' && !deep) return match;
    } catch {
      return match;
    }
    return redactUrl(match);
  });
}
