import type { SubmitterQuery } from '../../lib/ports.js';
import type { Submission, Submitter, SubmitterPage } from '../../lib/model.js';
import type { SubmitterSource } from '../../lib/ports.js';

/**
 * An in-process Weiban for unit tests: rows newest first, the time filter inclusive, paging
 * by limit/offset. `beforePage` runs before each answer, to insert rows or throw.
 */
export class FakeWeiban implements SubmitterSource {
  readonly rows: Submitter[] = [];
  readonly queries: SubmitterQuery[] = [];
  beforePage: ((query: SubmitterQuery, served: number) => void) | undefined;
  answers: ((formId: number, uId: number) => Submission[]) | undefined;
  answerCalls = 0;
  ignoreOffset = false;

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
    const matching = this.rows
      .filter(
        (row) =>
          row.form_id === query.formId &&
          row.submit_at >= query.startTime &&
          row.submit_at <= query.endTime,
      )
      .sort((a, b) => b.submit_at - a.submit_at || b.u_id - a.u_id);
    const offset = this.ignoreOffset ? 0 : query.offset;
    return Promise.resolve({
      total: matching.length,
      result: matching.slice(offset, offset + query.limit),
    });
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
