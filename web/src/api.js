// The server's JSON API. Requests ride on the session cookie (same origin):
// no token is ever kept by the page.

export class ApiError extends Error {
  constructor(status, message, { retryAfter = null } = {}) {
    super(message);
    this.status = status;
    this.retryAfter = retryAfter;
  }
}

let unauthorized = () => {};

/** Called on any 401 (unless the request allowed it): the app shows the login view. */
export function onUnauthorized(fn) {
  unauthorized = fn;
}

export function reportUnauthorized() {
  unauthorized();
}

async function request(method, path, { body, allow401 = false, signal } = {}) {
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let res;
  try {
    res = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
      signal,
    });
  } catch (err) {
    if (err.name === 'AbortError') throw err;
    throw new ApiError(0, 'The server cannot be reached.');
  }
  const data = await res.json().catch(() => null);
  if (res.ok) return data;
  if (res.status === 401 && !allow401) unauthorized();
  const message = data?.error || `${res.status} ${res.statusText}`.trim();
  const retry = Number(res.headers.get('Retry-After'));
  throw new ApiError(res.status, message, { retryAfter: Number.isFinite(retry) && retry > 0 ? retry : null });
}

/** A query string from an object; arrays repeat their key, null/undefined are left out. */
export function qs(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v == null) continue;
    for (const item of Array.isArray(v) ? v : [v]) q.append(k, String(item));
  }
  return q.toString();
}

export const api = {
  session: () => request('GET', '/api/v1/session', { allow401: true }),
  login: (token) => request('POST', '/api/v1/session', { body: { token }, allow401: true }),
  logout: () => request('DELETE', '/api/v1/session', { allow401: true }),

  hosts: async () => (await request('GET', '/api/v1/hosts')).hosts ?? [],
  host: (id) => request('GET', `/api/v1/hosts/${encodeURIComponent(id)}`),
  /** Sections are for admins only: a reader gets null rather than a redirect. */
  sections: async () => {
    try {
      return (await request('GET', '/api/v1/sections', { allow401: true })).sections ?? [];
    } catch (err) {
      if (err.status === 401 || err.status === 403) return null;
      throw err;
    }
  },
  latest: (id) => request('GET', `/api/v1/metrics?${qs({ server_id: id, limit: 100000 })}`),
  query: (params, signal) => request('GET', `/api/v1/query?${qs(params)}`, { signal }),
  claim: (body) => request('POST', '/agents/claim', { body, allow401: true }),

  // Diagnostics (admin): queue one, follow it, list a host's.
  runCommand: (hostId, body) => request('POST', `/api/v1/hosts/${encodeURIComponent(hostId)}/commands`, { body }),
  command: (id, { wait = 0, signal } = {}) =>
    request('GET', `/api/v1/commands/${encodeURIComponent(id)}${wait ? `?${qs({ wait })}` : ''}`, { signal }),
  commands: async (params, signal) =>
    (await request('GET', `/api/v1/commands?${qs(params)}`, { signal })).commands ?? [],
};
