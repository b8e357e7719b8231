import type { z } from 'zod';
import type { Clock } from '../clock.js';
import { backoffMs } from '../backoff.js';
import { describeError, isAbort, Redactor } from '../errors.js';
import {
  ConcurrencyLimitError,
  ERRCODE,
  FormQueryError,
  FrequencyLimitError,
  MalformedResponseError,
  TokenExpiredError,
  TransportError,
  WeibanApiError,
  type WeibanError,
} from './errors.js';
import type { WeibanLimiter } from './limiter.js';
import type { CallOutcome } from './meter.js';
import { describeIssues, envelopeSchema } from './schemas.js';

export interface RetryPolicy {
  /** Tries per call, the first included. */
  readonly attempts: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 4, baseDelayMs: 250, maxDelayMs: 4_000 };

export interface TransportOptions {
  readonly baseUrl: string;
  readonly limiter: WeibanLimiter;
  readonly clock: Clock;
  readonly requestTimeoutMs: number;
  readonly retry?: RetryPolicy;
  readonly fetch?: typeof fetch;
  readonly observe?: (outcome: CallOutcome) => void;
  /** Masks every credential this process has seen; shared with whoever learns new ones. */
  readonly redactor?: Redactor;
}

export interface CallSpec<T> {
  /** Short name for logs, metrics and the per-endpoint budget, e.g. `form/user/list`. */
  readonly endpoint: string;
  readonly path: string;
  readonly method: 'GET' | 'POST';
  readonly query?: Readonly<Record<string, string | number | undefined>>;
  readonly body?: unknown;
  readonly schema: z.ZodType<T>;
  /** The form the call is for, so its errors can be counted per form. */
  readonly formId?: number;
  /** Credentials this call carries (the secret, the token); never shown in an error, from now on. */
  readonly secrets: readonly string[];
}

/**
 * One Weiban request, done right: paced by the limiter, bounded by a timeout and the
 * caller's signal, retried when Weiban says it may be, validated, and turned into a typed
 * error otherwise. Knows nothing of tokens beyond carrying them.
 */
export class WeibanTransport {
  readonly #o: TransportOptions;
  readonly #retry: RetryPolicy;
  readonly #fetch: typeof fetch;
  readonly #redactor: Redactor;

  constructor(options: TransportOptions) {
    this.#o = options;
    this.#redactor = options.redactor ?? new Redactor();
    this.#retry = options.retry ?? DEFAULT_RETRY;
    this.#fetch = options.fetch ?? globalThis.fetch;
  }

  async call<T>(spec: CallSpec<T>, signal?: AbortSignal): Promise<T> {
    this.#redactor.add(...spec.secrets);
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await this.#o.limiter.schedule(
          spec.endpoint,
          () => this.#once(spec, signal),
          signal,
        );
      } catch (error: unknown) {
        if (!isRetryable(error) || attempt >= this.#retry.attempts) throw error;
        await this.#o.clock.sleep(
          backoffMs(attempt, { baseMs: this.#retry.baseDelayMs, maxMs: this.#retry.maxDelayMs }),
          signal,
        );
      }
    }
  }

  async #once<T>(spec: CallSpec<T>, signal?: AbortSignal): Promise<T> {
    const started = this.#o.clock.now();
    const report = (result: CallOutcome['result']) =>
      this.#o.observe?.({
        endpoint: spec.endpoint,
        result,
        ms: this.#o.clock.now() - started,
        ...(spec.formId !== undefined && { formId: spec.formId }),
      });
    try {
      const text = await this.#send(spec, signal);
      const json = parseJson(text);
      if (json === undefined) throw new TransportError(spec.endpoint, 'the body is not JSON');
      const envelope = envelopeSchema.safeParse(json);
      if (!envelope.success) {
        throw new MalformedResponseError(spec.endpoint, describeIssues(envelope.error));
      }
      const { errcode } = envelope.data;
      if (errcode !== ERRCODE.ok) {
        report(errcode);
        throw this.#apiError(spec, errcode, envelope.data.errmsg ?? '');
      }
      const body = spec.schema.safeParse(json);
      if (!body.success)
        throw new MalformedResponseError(spec.endpoint, describeIssues(body.error));
      report(errcode);
      return body.data;
    } catch (error: unknown) {
      if (error instanceof TransportError) report('transport');
      if (error instanceof MalformedResponseError) report('malformed');
      throw error;
    }
  }

  async #send(spec: CallSpec<unknown>, signal?: AbortSignal): Promise<string> {
    const url = new URL(spec.path, this.#o.baseUrl);
    for (const [key, value] of Object.entries(spec.query ?? {})) {
      if (value !== undefined) url.searchParams.set(key, String(value));
    }
    const timeout = AbortSignal.timeout(this.#o.requestTimeoutMs);
    let response: Response;
    try {
      response = await this.#fetch(url, {
        method: spec.method,
        headers:
          spec.body === undefined
            ? { accept: 'application/json' }
            : { accept: 'application/json', 'content-type': 'application/json' },
        body: spec.body === undefined ? undefined : JSON.stringify(spec.body),
        signal: signal === undefined ? timeout : AbortSignal.any([signal, timeout]),
      });
    } catch (error: unknown) {
      // The caller's deadline is not a Weiban failure: let the abort through as it is.
      if (signal?.aborted) throw signal.reason;
      const timedOut = isAbort(error);
      const detail = timedOut
        ? `no answer within ${this.#o.requestTimeoutMs} ms`
        : 'the request failed';
      throw new TransportError(
        spec.endpoint,
        this.#redactor.redact(`${detail} (${describeError(error)})`),
        undefined,
        { abandoned: timedOut },
      );
    }
    let text: string;
    try {
      text = await response.text();
    } catch (error: unknown) {
      if (signal?.aborted) throw signal.reason;
      throw new TransportError(
        spec.endpoint,
        this.#redactor.redact(`the body was cut off (${describeError(error)})`),
      );
    }
    if (response.status !== 200) {
      throw new TransportError(spec.endpoint, `HTTP ${response.status}`, response.status);
    }
    return text;
  }

  #apiError(spec: CallSpec<unknown>, errcode: number, rawErrmsg: string): WeibanError {
    const errmsg = this.#redactor.redact(rawErrmsg.slice(0, 500));
    switch (errcode) {
      case ERRCODE.badToken:
        return new TokenExpiredError(spec.endpoint, errcode, errmsg);
      case ERRCODE.concurrency:
        return new ConcurrencyLimitError(spec.endpoint, errcode, errmsg);
      case ERRCODE.frequency:
        return new FrequencyLimitError(spec.endpoint, errcode, errmsg);
      case ERRCODE.formQuery:
        return new FormQueryError(spec.endpoint, errcode, errmsg);
      default:
        return new WeibanApiError(spec.endpoint, errcode, errmsg);
    }
  }
}

const isRetryable = (error: unknown): boolean =>
  error instanceof Error && 'retryable' in error && error.retryable === true;

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}
