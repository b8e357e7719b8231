import { ServiceError } from '../errors.js';

/** Weiban errcodes the client acts on (docs/weiban-api.md#errcodes). */
export const ERRCODE = {
  ok: 0,
  badToken: 10001,
  concurrency: 10052,
  frequency: 10053,
  formParams: 21901,
  formQuery: 21902,
} as const;

/** Any failure talking to Weiban. `retryable` says whether asking again may succeed. */
export class WeibanError extends ServiceError {
  readonly retryable: boolean = false;
  constructor(
    readonly endpoint: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** A JSON answer with a non-zero errcode. `errmsg` is already redacted. */
export class WeibanApiError extends WeibanError {
  constructor(
    endpoint: string,
    readonly errcode: number,
    readonly errmsg: string,
  ) {
    super(endpoint, `Weiban ${endpoint} answered errcode ${errcode}: ${errmsg}`);
  }
}

/** 10001: the token is bad, expired or missing. */
export class TokenExpiredError extends WeibanApiError {}

/** 10052: too many requests in flight for the corp. */
export class ConcurrencyLimitError extends WeibanApiError {
  override readonly retryable = true;
}

/**
 * 10053: over a frequency quota. The limiter that sent the request turns it into a block of
 * the endpoint (a RateLimitedError), never a retry.
 */
export class FrequencyLimitError extends WeibanApiError {}

/** 21902: the form data query failed on Weiban's side; treated as transient. */
export class FormQueryError extends WeibanApiError {
  override readonly retryable = true;
}

/** 10053, or a block this client already knows about: the endpoint must rest until `until`. */
export class RateLimitedError extends WeibanError {
  constructor(
    endpoint: string,
    readonly until: number,
    readonly errcode: number = ERRCODE.frequency,
    options?: ErrorOptions,
  ) {
    super(
      endpoint,
      `Weiban ${endpoint} is rate limited (errcode ${errcode}); not called again before ${new Date(until).toISOString()}`,
      options,
    );
  }
}

/** No usable answer: network failure, timeout, a non-200 status, or a body that is not JSON. */
export class TransportError extends WeibanError {
  override readonly retryable = true;
  /** Sent, but no answer came in time: Weiban may still be working on it. */
  readonly abandoned: boolean;
  constructor(
    endpoint: string,
    detail: string,
    readonly status?: number,
    options?: ErrorOptions & { abandoned?: boolean },
  ) {
    super(endpoint, `Weiban ${endpoint} gave no usable answer: ${detail}`, options);
    this.abandoned = options?.abandoned ?? false;
  }
}

/**
 * JSON that does not match the documented shape (docs/guarantees.md#g8). Never retried: it is
 * reported.
 */
export class MalformedResponseError extends WeibanError {
  constructor(
    endpoint: string,
    readonly issues: string,
  ) {
    super(endpoint, `Weiban ${endpoint} answered with an unexpected shape: ${issues}`);
  }
}
