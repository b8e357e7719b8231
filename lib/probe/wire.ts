import { ServiceError } from '../errors.js';

/** One request the probe sent, as it went out and came back; never the token or the secret. */
export interface WireCall {
  /** 1 for the first request. */
  readonly n: number;
  /** `form/user/list`, `access_token/get`. */
  readonly endpoint: string;
  /** The query string without access_token. */
  readonly params: Readonly<Record<string, string>>;
  /** `errcode 0: total 57, 57 rows`, `errcode 21901`, `HTTP 502`, `no answer`. */
  readonly outcome: string;
  readonly errcode?: number;
  /** A token answer's expires_in, when it had one. */
  readonly expiresIn?: number;
}

/** The probe's bound on requests: the next one would go over --max-calls. */
export class CallBoundError extends ServiceError {
  constructor(readonly maxCalls: number) {
    super(`the probe may send at most ${maxCalls} Weiban request(s)`);
  }
}

/** `#3 form/user/list form_id=842 status=submit limit=100 offset=0 → errcode 0: total 57, 57 rows` */
export function callText(call: WireCall): string {
  const params = Object.entries(call.params)
    .map(([name, value]) => `${name}=${value}`)
    .join(' ');
  return `#${call.n} ${call.endpoint}${params === '' ? '' : ` ${params}`} → ${call.outcome}`;
}

/**
 * Counts and records every request the probe sends, below the Weiban client, so a hidden one
 * (a token fetch, the retry after a 10001) counts too; refuses any beyond `maxCalls` before it
 * is sent. Reads answers only to describe them.
 */
export class WireLog {
  readonly calls: WireCall[] = [];
  readonly maxCalls: number;
  readonly #inner: typeof fetch;
  readonly #onCall: ((call: WireCall) => void) | undefined;
  #sent = 0;
  #bounded = false;

  constructor(maxCalls: number, inner: typeof fetch, onCall?: (call: WireCall) => void) {
    this.maxCalls = maxCalls;
    this.#inner = inner;
    this.#onCall = onCall;
  }

  /** Requests sent so far, answered or not. */
  get sent(): number {
    return this.#sent;
  }

  get left(): number {
    return this.maxCalls - this.#sent;
  }

  /** Whether a request was refused for the bound. */
  get bounded(): boolean {
    return this.#bounded;
  }

  /** Records since call `from` (a value of `sent`), as evidence lines. */
  since(from: number): string[] {
    return this.calls.filter((call) => call.n > from).map(callText);
  }

  readonly fetch: typeof fetch = async (input, init) => {
    if (this.#sent >= this.maxCalls) {
      this.#bounded = true;
      throw new CallBoundError(this.maxCalls);
    }
    this.#sent += 1;
    const n = this.#sent;
    const url = new URL(input instanceof Request ? input.url : input);
    const endpoint = url.pathname.replace(/^\/open-api\/(smart_form\/)?/, '');
    const params = Object.fromEntries(
      [...url.searchParams].filter(([name]) => name !== 'access_token'),
    );
    const record = (call: Omit<WireCall, 'n' | 'endpoint' | 'params'>) => {
      const done: WireCall = { n, endpoint, params, ...call };
      this.calls.push(done);
      this.#onCall?.(done);
    };
    let response: Response;
    try {
      response = await this.#inner(input, init);
    } catch (error: unknown) {
      record({ outcome: 'no answer' });
      throw error;
    }
    let text: string;
    try {
      text = await response.clone().text();
    } catch {
      record({ outcome: 'the answer was cut off' });
      return response;
    }
    record(describe(response.status, text));
    return response;
  };
}

function describe(status: number, text: string): Omit<WireCall, 'n' | 'endpoint' | 'params'> {
  if (status !== 200) return { outcome: `HTTP ${status}` };
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { outcome: 'not JSON' };
  }
  if (typeof json !== 'object' || json === null) return { outcome: 'not a JSON object' };
  const body = json as Record<string, unknown>;
  const errcode = typeof body.errcode === 'number' ? body.errcode : undefined;
  if (errcode === undefined) return { outcome: 'no errcode' };
  if (errcode !== 0) return { outcome: `errcode ${errcode}`, errcode };
  if ('access_token' in body) {
    const expiresIn = typeof body.expires_in === 'number' ? body.expires_in : undefined;
    return {
      outcome: `errcode 0: a token (not shown), ${expiresIn === undefined ? 'no expires_in' : `expires_in ${expiresIn}`}`,
      errcode,
      ...(expiresIn !== undefined && { expiresIn }),
    };
  }
  const rows = Array.isArray(body.result) ? body.result.length : undefined;
  const total = typeof body.total === 'number' ? body.total : undefined;
  return {
    outcome: `errcode 0: total ${total ?? '—'}, ${rows === undefined ? 'no result' : rows === 1 ? '1 row' : `${rows} rows`}`,
    errcode,
  };
}
