/**
 * Where the two PagerDuty APIs live. The payload builder's event path is the documented `/v2/enqueue`,
 * relative to the Events API's base URL, like every other kind's path is relative to its endpoint.
 *
 * Receivers written before this version give `eventsUrl` as the whole URL
 * (https://events.pagerduty.com/v2/enqueue), and the Events API's own OpenAPI file names its server
 * https://events.pagerduty.com/v2; both keep working: a trailing `/v2/enqueue` or `/v2` is taken off, so
 * the builder's path lands on the same URL. Anything else is a base (a proxy path is kept).
 */
export const PAGERDUTY_EVENTS_URL = 'https://events.pagerduty.com';
export const PAGERDUTY_API_URL = 'https://api.pagerduty.com';
/** the versioning header of the REST API (its OpenAPI default) */
export const PAGERDUTY_REST_ACCEPT = 'application/vnd.pagerduty+json;version=2';

/** The Events API base URL the builder's `/v2/enqueue` is appended to. Not validated here: the client checks it. */
export function pagerdutyEventsBase(eventsUrl: string | undefined): string {
  if (eventsUrl === undefined) return PAGERDUTY_EVENTS_URL;
  let url: URL;
  try {
    url = new URL(eventsUrl);
  } catch {
    // the client names the field when it refuses the URL
    return eventsUrl;
  }
  // a query or fragment cannot take a path; the client refuses it with its own message
  if (url.search !== '' || url.hash !== '') return eventsUrl;
  const path = url.pathname.replace(/\/+$/, '').replace(/\/v2(?:\/enqueue)?$/i, '');
  return `${url.origin}${path}`;
}
