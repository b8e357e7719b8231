import type { SubmitterQuery } from '../../lib/ports.js';
import type { Submission, Submitter, SubmitterPage } from '../../lib/model.js';
import type { SubmitterSource } from '../../lib/ports.js';
import { WeibanApiError } from '../../lib/weiban/errors.js';

/**
 * How start_time/end_time bound submit_at: 'exact' keeps start ≤ submit_at ≤ end, an
 * 'exclusive-…' bound is `<` (off by one second), 'ignored' lists every row of the form.
 */
export type FakeTimeFilter =
  'exact' | 'exclusive-start' | 'exclusive-end' | 'exclusive-both' | 'ignored';

/**
 * An in-process Weiban for unit tests: rows newest first, the time filter inclusive (unless
 * `timeFilter` says otherwise), paging by limit/offset. `beforePage` runs before each answer,
 * to insert rows or throw. Without `form_id`, a listing holds every form's rows.
 */
export class FakeWeiban implements SubmitterSource {
  readonly rows: Submitter[] = [];
  timeFilter: FakeTimeFilter = 'exact';
  readonly queries: SubmitterQuery[] = [];
  beforePage: ((query: SubmitterQuery, served: number) => void) | undefined;
  answers: ((formId: number, uId: number) => Submission[]) | undefined;
  answerCalls = 0;
  ignoreOffset = false;
  /** Whether a listing may leave form_id out; false answers it with 21901, as Weiban may. */
  formIdOptional = true;
  /** Forms a listing without form_id leaves out, as Weiban's might (which forms it covers is unknown). */
  corpListingOmits: ReadonlySet<number> = new Set();

  add(...rows: Submitter[]): this {
    this.rows.push(...rows);
    return this;
  }

  listSubmitters(query: SubmitterQuery): Promise<SubmitterPage> {
    this.queries.push(query);
    try {
      this.beforePage?.(query, this.queries.length);
    } catch (error: unknown) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
    if (query.formId === undefined && !this.formIdOptional) {
      return Promise.reject(new WeibanApiError('form/user/list', 21901, 'form_id is required'));
    }
    const matching = this.rows
      .filter(
        (row) =>
          (query.formId === undefined
            ? !this.corpListingOmits.has(row.form_id)
            : row.form_id === query.formId) && this.#inWindow(row.submit_at, query),
      )
      .sort((a, b) => b.submit_at - a.submit_at || b.u_id - a.u_id || b.form_id - a.form_id);
    const offset = this.ignoreOffset ? 0 : query.offset;
    return Promise.resolve({
      total: matching.length,
      result: matching.slice(offset, offset + query.limit),
    });
  }

  #inWindow(at: number, { startTime, endTime }: SubmitterQuery): boolean {
    const filter = this.timeFilter;
    if (filter === 'ignored') return true;
    const startOpen = filter === 'exclusive-start' || filter === 'exclusive-both';
    const endOpen = filter === 'exclusive-end' || filter === 'exclusive-both';
    return (
      (startOpen ? at > startTime : at >= startTime) && (endOpen ? at < endTime : at <= endTime)
    );
  }

  listSubmissions(formId: number, uId: number): Promise<Submission[]> {
    this.answerCalls += 1;
    if (this.answers === undefined) return Promise.resolve([]);
    try {
      return Promise.resolve(this.answers(formId, uId));
    } catch (error: unknown) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
  }

  pagesFor(formId: number): number {
    return this.queries.filter((query) => query.formId === formId).length;
  }
}
