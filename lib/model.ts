/**
 * One submitter of a form as Weiban lists it (`form/user/list`). Fields Weiban adds later pass
 * through: an event's `data` carries everything Weiban returned (docs/guarantees.md#event).
 */
export interface Submitter {
  /** The form–customer relation id: the dedupe key. */
  readonly u_id: number;
  readonly form_id: number;
  readonly status: string;
  /** Unix seconds. */
  readonly submit_at: number;
  readonly external_user_id: string;
  readonly unionid: string;
  readonly form_name?: string | null | undefined;
  readonly user_name?: string | null | undefined;
  readonly user_city?: string | null | undefined;
  readonly avatar?: string | null | undefined;
  readonly [field: string]: unknown;
}

/** One page of `form/user/list`. */
export interface SubmitterPage {
  readonly total: number;
  readonly result: readonly Submitter[];
}

/** One answer inside a submission (`form/user/submit/list`). */
export interface Answer {
  readonly component_id: number;
  readonly component_type: string;
  readonly title: string;
  readonly value?: string | null | undefined;
  readonly values?: readonly string[] | null | undefined;
  readonly [field: string]: unknown;
}

/** One submission of a form by one submitter; a resubmission adds one. */
export interface Submission {
  readonly id: number;
  readonly form_id: number;
  readonly submit_at: number;
  readonly time_spent?: number | null | undefined;
  readonly component_value_list: readonly Answer[];
  readonly [field: string]: unknown;
}

/** A closed range of `submit_at` values, unix seconds, both ends included. */
export interface Window {
  readonly start: number;
  readonly end: number;
}

/** A window a run could not finish, and where the next run picks it up (docs/guarantees.md#g6). */
export interface Continuation extends Window {
  readonly offset: number;
  /**
   * Weiban's `total` when the continuation was saved; growth on resume means inserted rows
   * (docs/guarantees.md#g3).
   */
  readonly total?: number;
}

export type StartMode = 'now' | 'time';

export interface ErrorInfo {
  readonly name: string;
  readonly message: string;
  readonly errcode?: number;
  /** Epoch ms. */
  readonly at: number;
}

/** What the table knows about one form. */
export interface FormState {
  readonly formId: number;
  /** Bumped by every write, so a writer without the lease can tell it is up to date. */
  readonly version: number;
  /**
   * Every submitter with `submit_at` ≤ cursor that Weiban returned has been published
   * (docs/guarantees.md#g1).
   */
  readonly cursor: number;
  /**
   * Nothing before this is read: the START_FROM of the first run, or a reset
   * (docs/guarantees.md#g7).
   */
  readonly origin: number;
  readonly startMode: StartMode;
  readonly continuation?: Continuation;
  readonly lease?: { readonly owner: string; readonly until: number };
  readonly lastOkAt?: number;
  readonly lastError?: ErrorInfo;
  /**
   * u_id → submit_at of submitters recorded inside the lookback: a cache that confirms
   * duplicates without a ledger read. Never trusted to say a submitter is new.
   */
  readonly recent?: Readonly<Record<string, number>>;
}

export type FormOutcome =
  /** The whole window was read and delivered; the cursor moved. */
  | 'ok'
  /** A new form was given its start; nothing was read yet (START_FROM=now). */
  | 'initialized'
  /** The deadline came mid-window; a continuation was saved (docs/guarantees.md#g6). */
  | 'continued'
  /** The deadline came before any page; nothing changed. */
  | 'deferred'
  /** Another run holds the form. */
  | 'busy'
  /** No pass of the run had it due: the budget polls it less often (lib/poll/cadence.ts). */
  | 'not_due'
  | 'failed';

/**
 * The forms to poll, as the table keeps them (docs/guarantees.md#config): added by the operator
 * or seeded from FORM_IDS. A removed form keeps its state, so adding it back resumes its cursor.
 */
export interface FormList {
  /** Ascending. */
  readonly formIds: readonly number[];
  /** form id → when it was removed (epoch ms): FORM_IDS never seeds these again. */
  readonly removed: ReadonlyMap<number, number>;
}

/** What a run did with a form's rows, and with all forms' rows in its totals. */
export interface Counts {
  readonly fetched: number;
  readonly new: number;
  readonly duplicate: number;
  readonly published: number;
  /** Refused by SNS: neither published nor recorded, so the next run tries them again. */
  readonly failed: number;
  readonly pages: number;
}

export const noCounts = (): Counts => ({
  fetched: 0,
  new: 0,
  duplicate: 0,
  published: 0,
  failed: 0,
  pages: 0,
});

/** Each count summed. */
export function addCounts(a: Counts, b: Counts): Counts {
  return {
    fetched: a.fetched + b.fetched,
    new: a.new + b.new,
    duplicate: a.duplicate + b.duplicate,
    published: a.published + b.published,
    failed: a.failed + b.failed,
    pages: a.pages + b.pages,
  };
}

/** One form's line in the handler's summary (docs/guarantees.md#handler). */
export interface FormSummary extends Counts {
  readonly form_id: number;
  readonly outcome: FormOutcome;
  /** How long this form's run took. */
  readonly duration_ms: number;
  readonly cursor: number | null;
  readonly window: Window | null;
  readonly error?: { readonly name: string; readonly message: string; readonly errcode?: number };
}

export interface RunSummary {
  readonly started_at: string;
  readonly duration_ms: number;
  /** How many passes the run made (sub-minute polling); one pass unless the interval allows more. */
  readonly passes?: number;
  readonly forms: readonly FormSummary[];
  readonly totals: Counts;
}

/** Weiban answers of a run: calls per endpoint, errors per errcode (or failure kind) and per form. */
export interface WeibanCounts {
  readonly calls: ReadonlyMap<string, number>;
  readonly errors: ReadonlyMap<string, number>;
  readonly errorsByForm: ReadonlyMap<number, number>;
  /** The longest block in effect at the run's end: 0 none, 1 a minute, 2 an hour, 3 a day. */
  readonly blockLevel: number;
}
