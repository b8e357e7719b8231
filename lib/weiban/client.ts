import type { Submission, SubmitterPage } from '../model.js';
import type { SubmitterQuery, SubmitterSource } from '../ports.js';
import type { SecretSource } from '../secret.js';
import { ERRCODE, TokenExpiredError, WeibanApiError } from './errors.js';
import { submissionListSchema, submitterPageSchema, tokenSchema } from './schemas.js';
import type { FetchedToken, TokenProvider } from './token.js';
import type { WeibanTransport } from './transport.js';

/** A `form/user/list` page; `form_id` and the time bounds may be left out. */
export interface ListPageQuery {
  readonly formId?: number;
  readonly startTime?: number;
  readonly endTime?: number;
  readonly offset: number;
  readonly limit: number;
}

export const ENDPOINT = {
  token: 'access_token/get',
  submitters: 'form/user/list',
  submissions: 'form/user/submit/list',
} as const;

/**
 * Fetches a token with the corp's credentials. Used by the TokenProvider only.
 *
 * When Weiban refuses the secret, an operator may have just rotated it: the secret is read
 * again at once and, if it changed, the fetch is tried once more with the new one.
 */
export function tokenFetcher(
  transport: WeibanTransport,
  corpId: string,
  secret: SecretSource,
): (signal?: AbortSignal) => Promise<FetchedToken> {
  const ask = (value: string, signal?: AbortSignal) =>
    transport.call(
      {
        endpoint: ENDPOINT.token,
        path: '/open-api/access_token/get',
        method: 'POST',
        body: { corp_id: corpId, secret: value },
        schema: tokenSchema,
        secrets: [value],
      },
      signal,
    );
  return async (signal) => {
    const value = await secret.get();
    let answer;
    try {
      answer = await ask(value, signal);
    } catch (error: unknown) {
      if (!isRefusal(error)) throw error;
      const fresh = await secret.reread();
      if (fresh === value) throw error;
      answer = await ask(fresh, signal);
    }
    return { accessToken: answer.access_token, expiresIn: answer.expires_in };
  };
}

/**
 * Weiban documents no errcode for bad credentials, so any errcode from the token endpoint
 * counts as a refusal, except the limits (10052 in flight, 10053 per minute), which say
 * nothing about the secret.
 */
const isRefusal = (error: unknown): boolean =>
  error instanceof WeibanApiError &&
  error.errcode !== ERRCODE.concurrency &&
  error.errcode !== ERRCODE.frequency;

/** The smart-form endpoints this service reads, with the token handled (docs/guarantees.md#g5). */
export class WeibanClient implements SubmitterSource {
  readonly #transport: WeibanTransport;
  readonly #tokens: TokenProvider;

  constructor({ transport, tokens }: { transport: WeibanTransport; tokens: TokenProvider }) {
    this.#transport = transport;
    this.#tokens = tokens;
  }

  /** One page of a form's submitters, `status=submit`, within the given submit_at window. */
  listSubmitters(query: SubmitterQuery, signal?: AbortSignal): Promise<SubmitterPage> {
    return this.listPage(query, signal);
  }

  /**
   * One page of `form/user/list`, `status=submit`, exactly as asked: a parameter left out is
   * not sent (the probe asks without `form_id` or without a time window).
   */
  listPage(query: ListPageQuery, signal?: AbortSignal): Promise<SubmitterPage> {
    return this.#withToken((token) => this.#listPage(token, query, signal), signal);
  }

  /**
   * The same with this token, and no refresh on 10001: to see whether Weiban still accepts
   * a token (docs/weiban-api.md#token).
   */
  listPageWithToken(
    token: string,
    query: ListPageQuery,
    signal?: AbortSignal,
  ): Promise<SubmitterPage> {
    return this.#listPage(token, query, signal);
  }

  #listPage(token: string, query: ListPageQuery, signal?: AbortSignal): Promise<SubmitterPage> {
    return this.#transport.call(
      {
        endpoint: ENDPOINT.submitters,
        path: '/open-api/smart_form/form/user/list',
        method: 'GET',
        query: {
          access_token: token,
          form_id: query.formId,
          status: 'submit',
          start_time: query.startTime,
          end_time: query.endTime,
          limit: query.limit,
          offset: query.offset,
        },
        schema: submitterPageSchema,
        secrets: [token],
        ...(query.formId !== undefined && { formId: query.formId }),
      },
      signal,
    );
  }

  /** Every submission (with answers) one submitter made on a form. */
  async listSubmissions(formId: number, uId: number, signal?: AbortSignal): Promise<Submission[]> {
    const answer = await this.#withToken(
      (token) =>
        this.#transport.call(
          {
            endpoint: ENDPOINT.submissions,
            path: '/open-api/smart_form/form/user/submit/list',
            method: 'GET',
            query: { access_token: token, form_id: formId, u_id: uId },
            schema: submissionListSchema,
            secrets: [token],
            formId,
          },
          signal,
        ),
      signal,
    );
    return answer.result;
  }

  // Weiban: 10001 means a bad or expired token; refresh once and retry once
  // (docs/guarantees.md#g5).
  async #withToken<T>(call: (token: string) => Promise<T>, signal?: AbortSignal): Promise<T> {
    const token = await this.#tokens.get(signal);
    try {
      return await call(token);
    } catch (error: unknown) {
      if (!(error instanceof TokenExpiredError)) throw error;
      return call(await this.#tokens.replace(token, signal));
    }
  }
}
