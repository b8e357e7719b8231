import type { Submitter } from './weiban/schemas.js';

export type { Submitter };

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
  | 'failed';

/** One form's line in the handler's summary (docs/guarantees.md#handler). */
export interface FormSummary {
  readonly form_id: number;
  readonly outcome: FormOutcome;
  readonly fetched: number;
  readonly new: number;
  readonly duplicate: number;
  readonly published: number;
  readonly failed: number;
  readonly pages: number;
  /** How long this form's run took. */
  readonly duration_ms: number;
  readonly cursor: number | null;
  readonly window: Window | null;
  readonly error?: { readonly name: string; readonly message: string; readonly errcode?: number };
}

export interface RunSummary {
  readonly started_at: string;
  readonly duration_ms: number;
  readonly forms: readonly FormSummary[];
  readonly totals: {
    readonly fetched: number;
    readonly new: number;
    readonly duplicate: number;
    readonly published: number;
    readonly failed: number;
    readonly pages: number;
  };
}
