// bankd's public API, called with a user's bearer token. Every answer is
// {ok, status, body, problem}: problem is the RFC 9457 problem of a
// refusal (its code is stable), or {code: 'network'} when bankd did not
// answer. Creating calls carry an Idempotency-Key: one per intent, so a
// retry of the same intent pays once.

export class Problem extends Error {
  constructor(problem, status) {
    super(problem.detail || problem.title || problem.code);
    this.code = problem.code;
    this.status = status;
    this.problem = problem;
  }
}

// newKey returns a fresh Idempotency-Key (crypto.randomUUID needs a
// secure context; getRandomValues does not).
export function newKey(prefix = 'web') {
  const b = new Uint8Array(12);
  crypto.getRandomValues(b);
  return prefix + '-' + Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

// inflight counts the calls under way, on <html data-inflight>: a test
// waits for 0 before it reads what the page shows.
let inflight = 0;
function track(d) {
  inflight += d;
  document.documentElement.dataset.inflight = String(inflight);
}
track(0);

export function client(token) {
  async function call(method, path, opts) {
    track(1);
    try {
      return await send(method, path, opts);
    } finally {
      track(-1);
    }
  }
  async function send(method, path, { body, key, accept } = {}) {
    const headers = { Authorization: 'Bearer ' + token };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    if (key) headers['Idempotency-Key'] = key;
    if (accept) headers.Accept = accept;
    let res;
    try {
      res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    } catch (e) {
      throw new Problem({ code: 'network', detail: String(e) }, 0);
    }
    const type = res.headers.get('Content-Type') || '';
    if (!res.ok) {
      const p = type.startsWith('application/problem+json') ? await res.json() : { code: 'http_' + res.status, detail: res.statusText };
      throw new Problem(p, res.status);
    }
    if (type.startsWith('application/json')) return res.json();
    return res.blob();
  }
  return {
    get: (path) => call('GET', path),
    put: (path, body) => call('PUT', path, { body }),
    post: (path, body, opts = {}) => call('POST', path, { body, ...opts }),
  };
}

// Money: amounts are decimal strings with the currency's decimals (CNY: 2).
// Sums are done in minor units with BigInt, never with floats.
export function minor(amount) {
  const neg = amount.startsWith('-');
  const [i, f = ''] = (neg ? amount.slice(1) : amount).split('.');
  const v = BigInt(i) * 100n + BigInt((f + '00').slice(0, 2));
  return neg ? -v : v;
}

export function major(units) {
  const neg = units < 0n;
  const u = neg ? -units : units;
  return (neg ? '-' : '') + (u / 100n).toString() + '.' + (u % 100n).toString().padStart(2, '0');
}

export const cny = (amount) => ({ amount: amount.trim(), currency: 'CNY' });
