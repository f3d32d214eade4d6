// The till talks to the public store API only, with the token it got at sign-in.
//
// Writes carry an Idempotency-Key made fresh for each operation and sent again, unchanged, with every
// retry of that operation, so a stamp whose answer was lost on shaky Wi-Fi can be sent again without
// counting twice. Network errors, timeouts and 503s are retried a bounded number of times with backoff;
// when the till gives up after the request may have reached the server, it says so (UncertainOutcome)
// instead of guessing.

export const RETRY_DELAYS_MS = [500, 1000, 2000, 4000]; // 5 attempts in about 8 s, plus the waits below
const MAX_RETRY_AFTER_MS = 5000;
const RETRY_CODES = new Set(["REQUEST_IN_PROGRESS", "CONFLICT"]);
const ATTEMPT_TIMEOUT_MS = 15000;

export class ApiError extends Error {
  constructor({ status, code, message = "", details = {}, retryAfterSeconds = null }) {
    super(message || code);
    this.status = status;
    this.code = code;
    this.details = details || {};
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

// The till gave up on a write after a lost answer: it may or may not have been recorded.
export class UncertainOutcome extends Error {}

export function newIdempotencyKey() {
  if (globalThis.crypto && typeof crypto.randomUUID === "function") return crypto.randomUUID();
  // crypto.randomUUID exists only in secure contexts; getRandomValues everywhere.
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
}

function codeForStatus(status) {
  if (status === 401) return "NOT_AUTHENTICATED";
  if (status === 403) return "PERMISSION_DENIED";
  if (status === 404) return "NOT_FOUND";
  if (status === 429) return "THROTTLED";
  if (status === 503) return "SERVICE_UNAVAILABLE";
  if (status >= 500) return "SERVER_ERROR";
  return "UNKNOWN";
}

async function errorFrom(response) {
  let body = null;
  try {
    body = await response.json();
  } catch {
    body = null; // a proxy's HTML error page, an empty body
  }
  const error = body && typeof body.error === "object" && body.error ? body.error : {};
  const header = Number(response.headers.get("Retry-After"));
  return new ApiError({
    status: response.status,
    code: typeof error.code === "string" ? error.code : codeForStatus(response.status),
    message: typeof error.message === "string" ? error.message : "",
    details: error.details && typeof error.details === "object" ? error.details : {},
    retryAfterSeconds: Number.isFinite(header) && header > 0 ? header : null,
  });
}

const sleep = (milliseconds) => new Promise((resolve) => setTimeout(resolve, milliseconds));

export function createApi({ base, getToken, onUnauthorized = () => {}, onRetry = () => {} }) {
  async function send(method, url, headers, body) {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), ATTEMPT_TIMEOUT_MS);
    try {
      return await fetch(url, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: controller.signal,
        credentials: "omit", // the token is the only credential; no cookie goes to the API
        cache: "no-store",
      });
    } finally {
      clearTimeout(timer);
    }
  }

  // One request, retried on network errors, timeouts, 503, REQUEST_IN_PROGRESS and CONFLICT.
  // `write`: an operation that changes something; it gets an Idempotency-Key kept across retries.
  async function request(method, path, { body, query, write = false, authenticated = true } = {}) {
    let url = base + path;
    if (query) {
      const parameters = new URLSearchParams(Object.entries(query).filter(([, value]) => value !== undefined && value !== ""));
      url += `?${parameters}`;
    }
    const headers = { Accept: "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (authenticated) headers.Authorization = `Token ${getToken()}`;
    if (write) headers["Idempotency-Key"] = newIdempotencyKey();
    let mayHaveArrived = false; // an attempt whose answer was lost may have been executed
    const attempts = RETRY_DELAYS_MS.length + 1;
    for (let attempt = 1; ; attempt++) {
      let response = null;
      let failure = null;
      try {
        response = await send(method, url, headers, body);
      } catch (error) {
        failure = error; // no answer: offline, connection dropped, timeout
        mayHaveArrived = true;
      }
      let error = null;
      if (response && !response.ok) {
        error = await errorFrom(response);
        if (error.status === 401 && authenticated) {
          onUnauthorized(error);
          throw error;
        }
        if (error.code === "REQUEST_IN_PROGRESS") mayHaveArrived = true;
      }
      // 503: nothing was written. REQUEST_IN_PROGRESS: the first sending is still running. CONFLICT: a race the
      // server rolled back and asks to retry. The same key goes again each time: the server never runs it twice.
      const retryable = failure !== null || (error && (error.status === 503 || RETRY_CODES.has(error.code)));
      if (!retryable) {
        if (error) throw error;
        if (response.status === 204) return { status: 204, data: null, replayed: false };
        return {
          status: response.status,
          data: await response.json(),
          replayed: response.headers.get("Idempotent-Replayed") === "true",
        };
      }
      if (attempt >= attempts) {
        if (write && mayHaveArrived) throw new UncertainOutcome();
        throw error || new ApiError({ status: 0, code: "NETWORK" });
      }
      let delay = RETRY_DELAYS_MS[attempt - 1] + Math.floor(Math.random() * 250);
      if (error && error.retryAfterSeconds) delay = Math.max(delay, Math.min(error.retryAfterSeconds * 1000, MAX_RETRY_AFTER_MS));
      onRetry({ attempt: attempt + 1, attempts });
      await sleep(delay);
    }
  }

  return {
    request,
    get: (path, query) => request("GET", path, { query }),
    post: (path, body) => request("POST", path, { body, write: true }),
  };
}
