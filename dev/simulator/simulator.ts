import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

import { abortReason, systemClock, toUnixSeconds, type Clock } from '../../lib/clock.js';
import { JSON_TYPE, fail, ok, type Answer } from './answers.js';
import { FaultQueue, faultAnswer } from './faults.js';
import { RateLimiter, RollingWindow } from './limits.js';
import { SampleGenerator } from './samples.js';
import { FormStore, type ListQuery, type TimeFilter } from './store.js';
import type {
  Endpoint,
  Fault,
  ListCall,
  SimRow,
  SimStats,
  SimSubmission,
  SimulatorOptions,
} from './types.js';

const ROUTES: ReadonlyMap<string, { endpoint: Endpoint; method: 'GET' | 'POST' }> = new Map([
  ['/open-api/access_token/get', { endpoint: 'token', method: 'POST' }],
  ['/open-api/smart_form/form/user/list', { endpoint: 'list', method: 'GET' }],
  ['/open-api/smart_form/form/user/submit/list', { endpoint: 'submissions', method: 'GET' }],
  ['/open-api/smart_form/group/list', { endpoint: 'groups', method: 'GET' }],
] as const);

const ORIGIN = 'http://127.0.0.1';

const GROUPS = [
  { id: 1, name: '默认分组' },
  { id: 2, name: '市场活动' },
  { id: 3, name: '客户回访' },
];

// Weiban: the doc's example is limit=10; the real default is unknown (simulator choice).
const DEFAULT_LIST_LIMIT = 10;
// Weiban: group/list limit defaults to 40.
const DEFAULT_GROUP_LIMIT = 40;

/** A query parameter that fails validation; answered with 21901. */
class ParamError extends Error {
  override readonly name = 'ParamError';
}

type ListParse = { query: ListQuery } | { error: ParamError };

interface Arrival {
  endpoint: Endpoint;
  query: URLSearchParams;
  /** What the limits decided at arrival: answer normally, or with 10052/10053. */
  verdict: 'ok' | 10052 | 10053;
  list: ListParse | undefined;
  release: () => void;
}

interface PendingInsert {
  remaining: number;
  rows: () => Partial<SimRow>[];
}

/**
 * A real HTTP server that imitates Weiban's OpenAPI: tokens with expiry, smart-form
 * endpoints, the 10052/10053 limits with their 60 s block, and scriptable faults.
 */
export class WeibanSimulator {
  readonly #clock: Clock;
  readonly #corpId: string;
  #secret: string;
  readonly #tokenTtlSeconds: number;
  readonly #maxInFlight: number;
  readonly #latency: number | (() => number);
  readonly #order: 'desc' | 'asc';
  readonly #timeFilter: TimeFilter;
  readonly #maxLimit: number;
  readonly #formIdRequired: boolean;
  readonly #newTokenEndsOld: boolean;

  readonly #store: FormStore;
  readonly #samples: SampleGenerator;
  readonly #faults = new FaultQueue();
  readonly #limiter: RateLimiter;
  readonly #tokens = new Map<string, number>();
  readonly #inserts = new Map<number, PendingInsert[]>();
  #nextUId = 1;

  #inFlight = 0;
  #stats: SimStats = emptyStats();
  #peakWindows = new Map<Endpoint, RollingWindow>();

  #server: Server | undefined;
  #url: string | undefined;
  #stopping = new AbortController();

  constructor(options: SimulatorOptions = {}) {
    this.#clock = options.clock ?? systemClock;
    this.#corpId = options.corpId ?? 'sim-corp';
    this.#secret = options.secret ?? 'sim-secret';
    this.#tokenTtlSeconds = positive('tokenTtlSeconds', options.tokenTtlSeconds ?? 7200);
    // Weiban: fewer than 5 requests in processing per corp (10052).
    this.#maxInFlight = positive('maxInFlight', options.maxInFlight ?? 4);
    // Weiban: at most 600 per minute per endpoint for read endpoints (10053).
    this.#limiter = new RateLimiter(positive('perMinute', options.perMinute ?? 600));
    this.#latency = options.latencyMs ?? 0;
    this.#order = options.order ?? 'desc';
    this.#timeFilter = timeFilterOf(options);
    this.#maxLimit = positive('maxLimit', options.maxLimit ?? 1000);
    this.#formIdRequired = options.formIdRequired ?? true;
    this.#store = new FormStore(options.corpListingOmits);
    this.#newTokenEndsOld = options.newTokenEndsOld ?? false;
    this.#samples = new SampleGenerator(options.seed ?? 1);
  }

  /** Listens on 127.0.0.1 (port 0 picks a free one) and resolves the base URL. */
  async start(port = 0): Promise<string> {
    if (this.#server !== undefined) throw new Error('the simulator is already started');
    this.#stopping = new AbortController();
    const server = createServer((req, res) => {
      this.#onRequest(req, res);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    const address = server.address();
    if (address === null || typeof address === 'string') {
      server.close();
      throw new Error('the simulator did not get a TCP port');
    }
    this.#server = server;
    this.#url = `http://127.0.0.1:${address.port}`;
    return this.#url;
  }

  /** Closes the server and every socket, and cuts short pending latency, leaving no handle. */
  async stop(): Promise<void> {
    const server = this.#server;
    if (server === undefined) return;
    this.#server = undefined;
    this.#url = undefined;
    this.#stopping.abort(new Error('the simulator stopped'));
    await new Promise<void>((resolve, reject) => {
      server.close((error) => {
        if (error) reject(error);
        else resolve();
      });
      server.closeAllConnections();
    });
  }

  /** The base URL, e.g. http://127.0.0.1:43121; throws when the server is not started. */
  get url(): string {
    if (this.#url === undefined) throw new Error('the simulator is not started; call start()');
    return this.#url;
  }

  /** Creates a form (or renames it); `submit` also creates forms on first use. */
  addForm(formId: number, name?: string): void {
    checkId('formId', formId);
    this.#store.ensure(formId, name, this.#samples.formName(formId));
  }

  /** Adds one submitter row; u_id and submit_at default to the next id and the clock's now. */
  submit(formId: number, row: Partial<SimRow> = {}): SimRow {
    const [added] = this.#insert(formId, [row]);
    if (added === undefined) throw new Error('the row was not added');
    return added;
  }

  /** Adds `count` rows; `row(i)` gives the fields of the i-th one. */
  submitMany(formId: number, count: number, row?: (i: number) => Partial<SimRow>): SimRow[] {
    const partials = Array.from({ length: count }, (_, i) => row?.(i) ?? {});
    return this.#insert(formId, partials);
  }

  /** The same u_id submits again: submit_at moves forward and one more submission is kept. */
  resubmit(formId: number, uId: number, submitAt?: number): void {
    const previous = this.#store.row(formId, uId);
    if (previous === undefined) throw new RangeError(`form ${formId} has no u_id ${uId}`);
    const at = submitAt ?? Math.max(toUnixSeconds(this.#clock.now()), previous.submit_at);
    if (!Number.isSafeInteger(at) || at < previous.submit_at) {
      throw new RangeError(`a resubmit moves submit_at forward from ${previous.submit_at}`);
    }
    const next = Object.freeze({ ...previous, submit_at: at });
    this.#store.replace(formId, next);
    this.#store.addSubmission(formId, uId, this.#samples.submission(next, at));
  }

  /** The form's rows in the order the server serves them (frozen). */
  rows(formId: number): readonly SimRow[] {
    return this.#store.rows(formId, this.#order);
  }

  /** Replaces the answers `submit/list` returns for one u_id. */
  setSubmissions(formId: number, uId: number, submissions: SimSubmission[]): void {
    this.addForm(formId);
    this.#store.setSubmissions(formId, uId, structuredClone(submissions));
  }

  /** Every token issued so far stops working (10001). */
  revokeTokens(): void {
    this.#tokens.clear();
  }

  /**
   * The admin console regenerates the secret: from now on only `next` gets a token, the old
   * one is refused like any wrong secret (10003). Tokens issued before keep working, as
   * Weiban's doc is silent on it; `revokeTokens()` models the other case.
   */
  rotateSecret(next: string): void {
    if (next === '') throw new RangeError('a secret cannot be empty');
    this.#secret = next;
  }

  /** Scripts a fault; it answers the next `times` matching requests, then is gone. */
  fault(f: Fault): void {
    this.#faults.add(f);
  }

  clearFaults(): void {
    this.#faults.clear();
  }

  /**
   * After the form's `afterPages`-th served `form/user/list` page from now, adds `rows`; they
   * then sort in like any other row, shifting later offsets. A function gives the rows when
   * they land, so their submit_at can be relative to that moment.
   */
  insertWhilePaging(
    formId: number,
    afterPages: number,
    rows: Partial<SimRow>[] | (() => Partial<SimRow>[]),
  ): void {
    const make = typeof rows === 'function' ? rows : () => [...rows];
    if (afterPages <= 0) {
      this.#insert(formId, make());
      return;
    }
    const pending = this.#inserts.get(formId) ?? [];
    pending.push({ remaining: afterPages, rows: make });
    this.#inserts.set(formId, pending);
  }

  /** Requests in processing right now, corp-wide. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /** A snapshot of the counters. */
  stats(): SimStats {
    return structuredClone(this.#stats);
  }

  /** Zeroes the counters; the limits' own state (windows, blocks, tokens) is kept. */
  resetStats(): void {
    this.#stats = emptyStats();
    this.#stats.maxInFlight = this.#inFlight;
    this.#peakWindows = new Map();
  }

  #insert(formId: number, partials: readonly Partial<SimRow>[]): SimRow[] {
    this.addForm(formId);
    const now = toUnixSeconds(this.#clock.now());
    const formName = this.#store.formName(formId);
    const rows = partials.map((partial) => {
      const uId = partial.u_id ?? this.#nextUId;
      checkId('u_id', uId);
      const submitAt = partial.submit_at ?? now;
      if (!Number.isSafeInteger(submitAt)) throw new RangeError('submit_at must be unix seconds');
      this.#nextUId = Math.max(this.#nextUId, uId + 1);
      const base = { u_id: uId, form_id: formId, form_name: formName, submit_at: submitAt };
      return Object.freeze(this.#samples.row(base, partial));
    });
    this.#store.add(formId, rows);
    for (const row of rows) {
      this.#store.addSubmission(formId, row.u_id, this.#samples.submission(row, row.submit_at));
    }
    return rows;
  }

  /**
   * The same API answered in this process, with no socket: a `fetch` for runs on a clock that
   * moves only when everything waits on it (the benchmark's event clock), where real I/O would
   * never be waited for. Limits, latency, faults and counts are the server's. A caller that
   * gives up gets its abort at once, while the request stays in processing until its answer
   * would have gone out, as Weiban keeps counting it.
   */
  readonly fetch = (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const raw = input instanceof Request ? input.url : input instanceof URL ? input.href : input;
    const url = new URL(raw, ORIGIN);
    const arrived = this.#arrive(init?.method ?? 'GET', url);
    if ('answer' in arrived) return Promise.resolve(toResponse(arrived.answer));
    const { arrival } = arrived;
    const body = typeof init?.body === 'string' ? init.body : '';
    const served = (async () => {
      try {
        const { answer, delayMs } = this.#prepare(arrival, body);
        if (delayMs > 0) await this.#clock.sleep(delayMs, this.#stopping.signal);
        return toResponse(answer);
      } finally {
        arrival.release();
      }
    })();
    const signal = init?.signal;
    if (signal === undefined || signal === null) return served;
    if (signal.aborted) return Promise.reject(abortReason(signal));
    return new Promise<Response>((resolve, reject) => {
      const onAbort = () => {
        reject(abortReason(signal));
      };
      signal.addEventListener('abort', onAbort, { once: true });
      served.then(resolve, reject).finally(() => {
        signal.removeEventListener('abort', onAbort);
      });
    });
  };

  #onRequest(req: IncomingMessage, res: ServerResponse): void {
    const target = req.url ?? '/';
    const url = new URL(URL.canParse(target, ORIGIN) ? target : '/', ORIGIN);
    const arrived = this.#arrive(req.method ?? 'GET', url);
    if ('answer' in arrived) {
      req.resume();
      send(res, arrived.answer, () => undefined);
      return;
    }
    const { arrival } = arrived;
    this.#respond(req, res, arrival).catch((error: unknown) => {
      arrival.release();
      // stop() cut the answer short on purpose, or the client left before its body arrived
      if (this.#stopping.signal.aborted || res.destroyed) return;
      const message = error instanceof Error ? error.message : String(error);
      this.#count({ status: 500, contentType: JSON_TYPE, body: '', errorKey: '500' });
      send(
        res,
        { status: 500, contentType: JSON_TYPE, body: simulatorBug(message) },
        () => undefined,
      );
    });
  }

  /** A request arrives: routed, counted, and judged by the limits; or answered at once (404, 405). */
  #arrive(method: string, url: URL): { arrival: Arrival } | { answer: Answer } {
    const route = ROUTES.get(url.pathname);
    if (route === undefined || route.method !== method) {
      const answer = route === undefined ? fail(404, url.pathname, 404) : fail(405, method, 405);
      this.#count(answer);
      return { answer };
    }
    const { endpoint } = route;
    // Weiban: a request is "in processing" until its answer is out, latency included.
    this.#inFlight += 1;
    let released = false;
    const release = (): void => {
      if (released) return;
      released = true;
      this.#inFlight -= 1;
    };
    const stats = this.#stats;
    stats.requests[endpoint] += 1;
    stats.maxInFlight = Math.max(stats.maxInFlight, this.#inFlight);
    const now = this.#clock.now();
    this.#recordPeak(endpoint, now);
    const admission = this.#limiter.admit(endpoint, now);
    const list = endpoint === 'list' ? this.#parseList(url.searchParams) : undefined;
    if (list !== undefined && 'query' in list) stats.listCalls.push(listCall(list.query));
    return {
      arrival: {
        endpoint,
        query: url.searchParams,
        verdict: admission !== 'ok' ? 10053 : this.#inFlight > this.#maxInFlight ? 10052 : 'ok',
        list,
        release,
      },
    };
  }

  async #respond(req: IncomingMessage, res: ServerResponse, arrival: Arrival): Promise<void> {
    const body = await readBody(req);
    const { answer, delayMs } = this.#prepare(arrival, body);
    if (delayMs > 0) await this.#clock.sleep(delayMs, this.#stopping.signal);
    send(res, answer, arrival.release);
  }

  /** The answer to an admitted request, and how long it takes to go out. */
  #prepare(arrival: Arrival, body: string): { answer: Answer; delayMs: number } {
    let delayMs = this.#latencyMs();
    let answer: Answer;
    if (arrival.verdict !== 'ok') {
      answer = fail(arrival.verdict);
    } else {
      // Faults answer before normal handling, after the limits counted the request.
      const fault = this.#faults.take(arrival.endpoint, looseInt(arrival.query.get('form_id')));
      if (fault?.kind === 'slow') delayMs += fault.delayMs;
      answer = (fault && faultAnswer(fault, arrival.endpoint)) ?? this.#answer(arrival, body);
    }
    this.#count(answer);
    return { answer, delayMs };
  }

  #answer(arrival: Arrival, body: string): Answer {
    if (arrival.endpoint === 'token') return this.#issueToken(body);
    // Weiban: access_token always goes in the query string; bad, expired or missing → 10001.
    if (!this.#authorized(arrival.query.get('access_token'))) return fail(10001);
    try {
      switch (arrival.endpoint) {
        case 'list':
          return this.#list(arrival.list);
        case 'submissions':
          return this.#submissions(arrival.query);
        case 'groups':
          return this.#groups(arrival.query);
      }
    } catch (error: unknown) {
      if (error instanceof ParamError) return fail(21901, error.message);
      throw error;
    }
  }

  #issueToken(body: string): Answer {
    const credentials = parseObject(body);
    // Simulator choice: wrong or missing corp_id/secret → 10003 (Weiban documents no code).
    if (credentials?.corp_id !== this.#corpId || credentials.secret !== this.#secret) {
      return fail(10003);
    }
    const token = randomBytes(24).toString('hex');
    if (this.#newTokenEndsOld) this.#tokens.clear();
    this.#tokens.set(token, this.#clock.now() + this.#tokenTtlSeconds * 1000);
    return ok({ access_token: token, expires_in: this.#tokenTtlSeconds });
  }

  #authorized(token: string | null): boolean {
    if (token === null) return false;
    const expiresAt = this.#tokens.get(token);
    if (expiresAt === undefined) return false;
    if (this.#clock.now() < expiresAt) return true;
    this.#tokens.delete(token);
    return false;
  }

  #list(parsed: ListParse | undefined): Answer {
    if (parsed === undefined) throw new ParamError('form_id is required');
    if ('error' in parsed) throw parsed.error;
    const page = this.#store.page(parsed.query, this.#order, this.#timeFilter);
    const answer = ok({ total: page.total, result: page.result });
    // A page of the whole corp is a page of each of its forms.
    const served =
      parsed.query.formId === undefined ? [...this.#inserts.keys()] : [parsed.query.formId];
    for (const formId of served) this.#pageServed(formId);
    return answer;
  }

  #submissions(query: URLSearchParams): Answer {
    const formId = requiredInt(query, 'form_id');
    const uId = requiredInt(query, 'u_id');
    const result = this.#store.submissions(formId, uId);
    return ok({ total: result.length, result });
  }

  #groups(query: URLSearchParams): Answer {
    const limit = optionalInt(query, 'limit') ?? DEFAULT_GROUP_LIMIT;
    const offset = optionalInt(query, 'offset') ?? 0;
    if (limit < 1) throw new ParamError('limit must be at least 1');
    return ok({ total: GROUPS.length, result: GROUPS.slice(offset, offset + limit) });
  }

  #parseList(query: URLSearchParams): ListParse {
    try {
      // Weiban: whether form_id is required is unknown; `formIdRequired` chooses.
      const formId = this.#formIdRequired
        ? requiredInt(query, 'form_id')
        : optionalInt(query, 'form_id');
      // Weiban: status is required.
      const status = query.get('status');
      if (status === null || status === '') throw new ParamError('status is required');
      const limit = optionalInt(query, 'limit') ?? DEFAULT_LIST_LIMIT;
      if (limit < 1 || limit > this.#maxLimit) {
        throw new ParamError(`limit must be between 1 and ${this.#maxLimit}`);
      }
      const offset = optionalInt(query, 'offset') ?? 0;
      const city = query.get('city');
      const listQuery: ListQuery = { status, offset, limit };
      if (formId !== undefined) listQuery.formId = formId;
      const startTime = optionalInt(query, 'start_time');
      const endTime = optionalInt(query, 'end_time');
      if (startTime !== undefined) listQuery.startTime = startTime;
      if (endTime !== undefined) listQuery.endTime = endTime;
      if (city !== null && city !== '') listQuery.city = city;
      return { query: listQuery };
    } catch (error: unknown) {
      if (error instanceof ParamError) return { error };
      throw error;
    }
  }

  #pageServed(formId: number): void {
    const pending = this.#inserts.get(formId);
    if (pending === undefined) return;
    const due: PendingInsert[] = [];
    for (const insert of pending) {
      insert.remaining -= 1;
      if (insert.remaining <= 0) due.push(insert);
    }
    const left = pending.filter((insert) => insert.remaining > 0);
    if (left.length === 0) this.#inserts.delete(formId);
    else this.#inserts.set(formId, left);
    for (const insert of due) this.#insert(formId, insert.rows());
  }

  #recordPeak(endpoint: Endpoint, now: number): void {
    let window = this.#peakWindows.get(endpoint);
    if (window === undefined) {
      window = new RollingWindow();
      this.#peakWindows.set(endpoint, window);
    }
    const count = window.record(now);
    this.#stats.peakPerMinute[endpoint] = Math.max(this.#stats.peakPerMinute[endpoint], count);
  }

  #count(answer: Answer): void {
    if (answer.errorKey === undefined) return;
    const errors = this.#stats.errors;
    errors[answer.errorKey] = (errors[answer.errorKey] ?? 0) + 1;
  }

  #latencyMs(): number {
    const latency = typeof this.#latency === 'function' ? this.#latency() : this.#latency;
    return Number.isFinite(latency) ? Math.max(0, latency) : 0;
  }
}

function emptyStats(): SimStats {
  const perEndpoint = (): Record<Endpoint, number> => ({
    token: 0,
    list: 0,
    submissions: 0,
    groups: 0,
  });
  return {
    requests: perEndpoint(),
    maxInFlight: 0,
    errors: {},
    peakPerMinute: perEndpoint(),
    listCalls: [],
  };
}

function listCall(query: ListQuery): ListCall {
  const call: ListCall = { offset: query.offset, limit: query.limit };
  if (query.formId !== undefined) call.formId = query.formId;
  if (query.startTime !== undefined) call.start_time = query.startTime;
  if (query.endTime !== undefined) call.end_time = query.endTime;
  return call;
}

function toResponse(answer: Answer): Response {
  return new Response(answer.body, {
    status: answer.status,
    headers: { 'content-type': answer.contentType },
  });
}

/** Writes the answer unless the client is gone; `release` runs once the answer is out. */
function send(res: ServerResponse, answer: Answer, release: () => void): void {
  if (res.destroyed || res.writableEnded || res.socket === null || res.socket.destroyed) {
    release();
    return;
  }
  res.once('finish', release);
  res.once('close', release);
  res.writeHead(answer.status, {
    'content-type': answer.contentType,
    'content-length': Buffer.byteLength(answer.body),
  });
  res.end(answer.body);
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) {
    chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
  }
  return Buffer.concat(chunks).toString('utf8');
}

function parseObject(text: string): Record<string, unknown> | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined; // a body that is not JSON carries no credentials
  }
  return typeof parsed === 'object' && parsed !== null ? { ...parsed } : undefined;
}

/** The integer a parameter holds, or undefined when it is absent or not a plain integer. */
function looseInt(value: string | null): number | undefined {
  if (value === null || !/^\d+$/.test(value)) return undefined;
  const n = Number(value);
  return Number.isSafeInteger(n) ? n : undefined;
}

function optionalInt(query: URLSearchParams, name: string): number | undefined {
  const value = query.get(name);
  if (value === null) return undefined;
  const n = looseInt(value);
  if (n === undefined) throw new ParamError(`${name} must be a non-negative integer`);
  return n;
}

function requiredInt(query: URLSearchParams, name: string): number {
  const n = optionalInt(query, name);
  if (n === undefined) throw new ParamError(`${name} is required`);
  return n;
}

function timeFilterOf(options: SimulatorOptions): TimeFilter {
  const { timeFilter, filterByTime } = options;
  if (filterByTime === undefined) return timeFilter ?? 'exact';
  const implied = filterByTime ? 'exact' : 'ignored';
  if (timeFilter !== undefined && timeFilter !== implied) {
    throw new RangeError(`filterByTime: ${filterByTime} contradicts timeFilter: '${timeFilter}'`);
  }
  return implied;
}

function positive(name: string, value: number): number {
  if (!(value > 0)) throw new RangeError(`${name} must be positive`);
  return value;
}

function checkId(name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new RangeError(`${name} must be a positive integer`);
  }
}

function simulatorBug(message: string): string {
  return JSON.stringify({ errcode: 500, errmsg: `simulator error: ${message}` });
}
