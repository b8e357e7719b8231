import type { SimRow, SimSubmission } from './types.js';

/** What `form/user/list` filters and pages by, already validated. */
export interface ListQuery {
  /** Absent: every form of the corp (when the simulator lets `form_id` be left out). */
  formId?: number;
  status: string;
  city?: string;
  startTime?: number;
  endTime?: number;
  offset: number;
  limit: number;
}

/** A served page: `total` counts every matching row, `result` is the page. */
export interface ListPage {
  total: number;
  result: SimRow[];
}

export type Order = 'desc' | 'asc';

/**
 * How `start_time`/`end_time` bound `submit_at`: both inclusive, one or both bounds exclusive
 * (off by one second), or not at all.
 */
export type TimeFilter =
  'exact' | 'exclusive-start' | 'exclusive-end' | 'exclusive-both' | 'ignored';

// form_id last: within one form u_id is unique, so it only orders rows of different forms.
const compareAsc = (a: SimRow, b: SimRow): number =>
  a.submit_at - b.submit_at || a.u_id - b.u_id || a.form_id - b.form_id;

/** First index where `before` is false, given it is true for a prefix of `items`. */
function partitionPoint<T>(items: readonly T[], before: (item: T) => boolean): number {
  let lo = 0;
  let hi = items.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const item = items[mid];
    if (item !== undefined && before(item)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Rows kept in ascending (submit_at, u_id) order, so a time window is two binary searches and
 * a page is one slice; 'desc' is read from the end.
 */
class SortedRows {
  readonly items: SimRow[] = [];

  insert(row: SimRow): void {
    const at = partitionPoint(this.items, (r) => compareAsc(r, row) <= 0);
    if (at === this.items.length) this.items.push(row);
    else this.items.splice(at, 0, row);
  }

  /** Adds many rows at once; one sort beats thousands of middle inserts. */
  insertMany(rows: readonly SimRow[]): void {
    if (rows.length < 64) {
      for (const row of rows) this.insert(row);
      return;
    }
    this.items.push(...rows);
    this.items.sort(compareAsc);
  }

  remove(row: SimRow): void {
    const at = partitionPoint(this.items, (r) => compareAsc(r, row) < 0);
    if (this.items[at] === row) this.items.splice(at, 1);
  }

  /**
   * Half-open index range of rows the filter lets through: startTime ≤ submit_at ≤ endTime
   * when exact, `<` at a bound that is exclusive, every row when ignored.
   */
  timeRange(
    startTime: number | undefined,
    endTime: number | undefined,
    filter: TimeFilter,
  ): [number, number] {
    if (filter === 'ignored') return [0, this.items.length];
    const startOpen = filter === 'exclusive-start' || filter === 'exclusive-both';
    const endOpen = filter === 'exclusive-end' || filter === 'exclusive-both';
    const lo =
      startTime === undefined
        ? 0
        : partitionPoint(this.items, (r) =>
            startOpen ? r.submit_at <= startTime : r.submit_at < startTime,
          );
    const hi =
      endTime === undefined
        ? this.items.length
        : partitionPoint(this.items, (r) =>
            endOpen ? r.submit_at < endTime : r.submit_at <= endTime,
          );
    return [lo, Math.max(lo, hi)];
  }
}

class FormData {
  readonly all = new SortedRows();
  readonly byStatus = new Map<string, SortedRows>();
  readonly byUId = new Map<number, SimRow>();
  readonly submissions = new Map<number, SimSubmission[]>();

  constructor(
    readonly formId: number,
    public name: string,
  ) {}

  statusRows(status: string): SortedRows {
    let rows = this.byStatus.get(status);
    if (rows === undefined) {
      rows = new SortedRows();
      this.byStatus.set(status, rows);
    }
    return rows;
  }
}

/** All forms, their submitter rows and their submissions. Pure data: no I/O, no clock. */
export class FormStore {
  readonly #forms = new Map<number, FormData>();
  /** Every form's rows by status, for a listing without `form_id`. */
  readonly #corp = new Map<string, SortedRows>();
  /** Forms a listing without `form_id` leaves out. */
  readonly #corpOmits: ReadonlySet<number>;

  constructor(corpListingOmits: Iterable<number> = []) {
    this.#corpOmits = new Set(corpListingOmits);
  }

  has(formId: number): boolean {
    return this.#forms.has(formId);
  }

  /** Creates the form, or renames it when it exists. */
  ensure(formId: number, name: string | undefined, defaultName: string): void {
    const form = this.#forms.get(formId);
    if (form === undefined) this.#forms.set(formId, new FormData(formId, name ?? defaultName));
    else if (name !== undefined) form.name = name;
  }

  formName(formId: number): string {
    return this.#form(formId).name;
  }

  hasRow(formId: number, uId: number): boolean {
    return this.#forms.get(formId)?.byUId.has(uId) ?? false;
  }

  row(formId: number, uId: number): SimRow | undefined {
    return this.#forms.get(formId)?.byUId.get(uId);
  }

  /** Adds new rows; a u_id already in the form is a caller mistake (use `replace`). */
  add(formId: number, rows: readonly SimRow[]): void {
    const form = this.#form(formId);
    const seen = new Set<number>();
    for (const row of rows) {
      if (form.byUId.has(row.u_id) || seen.has(row.u_id)) {
        throw new RangeError(`form ${formId} already has u_id ${row.u_id}; use resubmit()`);
      }
      seen.add(row.u_id);
    }
    const byStatus = new Map<string, SimRow[]>();
    for (const row of rows) {
      form.byUId.set(row.u_id, row);
      const group = byStatus.get(row.status) ?? [];
      group.push(row);
      byStatus.set(row.status, group);
    }
    form.all.insertMany(rows);
    for (const [status, group] of byStatus) {
      form.statusRows(status).insertMany(group);
      if (!this.#corpOmits.has(formId)) this.#corpRows(status).insertMany(group);
    }
  }

  /** Swaps a row for its new version (same u_id), moving it to its new place in the order. */
  replace(formId: number, next: SimRow): void {
    const form = this.#form(formId);
    const previous = form.byUId.get(next.u_id);
    if (previous === undefined) throw new RangeError(`form ${formId} has no u_id ${next.u_id}`);
    form.all.remove(previous);
    form.statusRows(previous.status).remove(previous);
    form.byUId.set(next.u_id, next);
    form.all.insert(next);
    form.statusRows(next.status).insert(next);
    if (!this.#corpOmits.has(formId)) {
      this.#corpRows(previous.status).remove(previous);
      this.#corpRows(next.status).insert(next);
    }
  }

  /** Every row of the form in the served order. */
  rows(formId: number, order: Order): SimRow[] {
    const items = this.#forms.get(formId)?.all.items ?? [];
    return order === 'asc' ? [...items] : [...items].reverse();
  }

  submissions(formId: number, uId: number): SimSubmission[] {
    return this.#forms.get(formId)?.submissions.get(uId) ?? [];
  }

  setSubmissions(formId: number, uId: number, submissions: SimSubmission[]): void {
    this.#form(formId).submissions.set(uId, submissions);
  }

  addSubmission(formId: number, uId: number, submission: SimSubmission): void {
    const form = this.#form(formId);
    const list = form.submissions.get(uId) ?? [];
    list.push(submission);
    form.submissions.set(uId, list);
  }

  /**
   * One page of `form/user/list`; an unknown form reads as empty. Without `formId`, the rows of
   * every form but those omitted, in the same order.
   */
  page(query: ListQuery, order: Order, filter: TimeFilter): ListPage {
    const rows =
      query.formId === undefined
        ? this.#corp.get(query.status)
        : this.#forms.get(query.formId)?.byStatus.get(query.status);
    if (rows === undefined) return { total: 0, result: [] };
    const [lo, hi] = rows.timeRange(query.startTime, query.endTime, filter);
    const { offset, limit } = query;
    const items = rows.items;
    if (query.city !== undefined) return pageFiltered(items, lo, hi, query, order);
    if (order === 'asc') {
      return {
        total: hi - lo,
        result: items.slice(lo + offset, Math.min(hi, lo + offset + limit)),
      };
    }
    const end = hi - offset;
    const start = Math.max(lo, end - limit);
    return { total: hi - lo, result: end > start ? items.slice(start, end).reverse() : [] };
  }

  #corpRows(status: string): SortedRows {
    let rows = this.#corp.get(status);
    if (rows === undefined) {
      rows = new SortedRows();
      this.#corp.set(status, rows);
    }
    return rows;
  }

  #form(formId: number): FormData {
    const form = this.#forms.get(formId);
    if (form === undefined) throw new RangeError(`form ${formId} does not exist; call addForm()`);
    return form;
  }
}

// Weiban: `city` "e.g. 武汉" while rows carry "武汉市", so it matches as a substring.
function pageFiltered(
  items: readonly SimRow[],
  lo: number,
  hi: number,
  query: ListQuery,
  order: Order,
): ListPage {
  const city = query.city ?? '';
  const result: SimRow[] = [];
  let total = 0;
  const take = (row: SimRow | undefined): void => {
    if (row === undefined || !row.user_city.includes(city)) return;
    if (total >= query.offset && total < query.offset + query.limit) result.push(row);
    total += 1;
  };
  if (order === 'asc') for (let i = lo; i < hi; i += 1) take(items[i]);
  else for (let i = hi - 1; i >= lo; i -= 1) take(items[i]);
  return { total, result };
}
