import type {
  Continuation,
  ErrorInfo,
  FormList,
  FormState,
  StartMode,
  Submission,
  SubmitterPage,
} from './model.js';
import type { WeibanFindings } from './weiban/findings.js';

/** Structured logging, as the Powertools Logger offers it: a message and its fields. */
export interface Log {
  debug(message: string, ...extra: unknown[]): void;
  info(message: string, ...extra: unknown[]): void;
  warn(message: string, ...extra: unknown[]): void;
  error(message: string, ...extra: unknown[]): void;
}

/** One page of a form's submitters, `status=submit`, in a submit_at window. */
export interface SubmitterQuery {
  /** Absent: every form of the corp, once the probe proved `form_id` optional. */
  readonly formId?: number;
  /** Unix seconds, inclusive on our side; Weiban's own bound semantics are unknown. */
  readonly startTime: number;
  readonly endTime: number;
  readonly offset: number;
  readonly limit: number;
}

/** The Weiban reads the poller needs. */
export interface SubmitterSource {
  listSubmitters(query: SubmitterQuery, signal?: AbortSignal): Promise<SubmitterPage>;
  listSubmissions(formId: number, uId: number, signal?: AbortSignal): Promise<Submission[]>;
}

/** How a state write proves it may write: it holds the lease, or nothing changed since it read. */
export type Guard =
  | { readonly kind: 'lease'; readonly owner: string }
  | { readonly kind: 'version'; readonly version: number };

export interface StateChange {
  readonly cursor?: number;
  /** `null` removes it. */
  readonly continuation?: Continuation | null;
  /** `null` clears the last error. */
  readonly error?: ErrorInfo | null;
  /** Marks a successful run (sets lastOkAt). */
  readonly ok?: boolean;
  /** Replaces the cache of recently recorded submitters. */
  readonly recent?: Readonly<Record<string, number>>;
  /** The time between the form's recent polls, as this process measured it (ms). */
  readonly pollEveryMs?: number;
}

/** What `commitMany` did. */
export interface CommitManyResult {
  readonly committed: ReadonlySet<number>;
  readonly conflicted: ReadonlySet<number>;
}

/** What one read of the form table brought back. */
export interface FormsRead {
  /** Every existing state among the forms asked for. */
  readonly states: Map<number, FormState>;
  /** The form list, when asked for and there is one. */
  readonly list?: FormList;
}

export interface FormStateStore {
  /** The states of `formIds`, and the form list with them when `withList` (in as few requests as possible). */
  read(formIds: readonly number[], withList: boolean): Promise<FormsRead>;
  /**
   * Adds the forms of FORM_IDS that the list neither has nor had removed, and returns the list.
   * `known` is the list as last read, if the caller has it.
   */
  seedList(formIds: readonly number[], now: number, known?: FormList): Promise<FormList>;
  /** Creates the state of a form seen for the first time, or returns the one a racing run made. */
  create(
    formId: number,
    init: { cursor: number; origin: number; startMode: StartMode },
    now: number,
  ): Promise<FormState>;
  /** Takes the form's lease until `until` (epoch ms). Throws LeaseHeldError if another holds it. */
  acquireLease(formId: number, owner: string, until: number, now: number): Promise<FormState>;
  /**
   * Extends the owner's lease to `until` if it has not lapsed at `now`. Throws LeaseHeldError
   * if it lapsed or another run holds it.
   */
  renewLease(formId: number, owner: string, until: number, now: number): Promise<void>;
  /** Applies `change` if `guard` holds; a lease guard also releases the lease. Throws StateConflictError. */
  commit(formId: number, guard: Guard, change: StateChange, now: number): Promise<void>;
  /**
   * Version-guarded commits, one request per 100, each all or nothing (as DynamoDB's
   * transactions are): the forms committed, and those whose guard failed. The others of a
   * request that failed are in neither, for a later request to send again.
   */
  commitMany(
    items: readonly { formId: number; version: number; change: StateChange }[],
    now: number,
  ): Promise<CommitManyResult>;
  /** Records an error without the lease (the cursor is untouched). */
  noteError(formId: number, error: ErrorInfo): Promise<void>;
}

export interface RecordedSubmitter {
  /** The latest `submit_at` published for the submitter: its first submission or a resubmission. */
  readonly submitAt: number;
}

export interface SubmitterRecord {
  readonly uId: number;
  readonly submitAt: number;
  /** The published event body, kept for replay. */
  readonly event: string;
  /**
   * A `weiban.form.resubmitted` event (EMIT_RESUBMISSIONS): kept beside the first submission's
   * record, which stays as it was and only learns the new `submit_at`.
   */
  readonly resubmitted?: boolean;
}

export interface SubmitterLedger {
  /** Which of `uIds` are recorded for the form, with their last known `submit_at`. */
  lookup(formId: number, uIds: readonly number[]): Promise<Map<number, RecordedSubmitter>>;
  /** Records published submitters (kept RETENTION_DAYS). Throws StoreWriteError if some stay unwritten. */
  record(formId: number, records: readonly SubmitterRecord[], now: number): Promise<void>;
}

export interface OutgoingMessage {
  /** The event id; consumers dedupe on it. */
  readonly id: string;
  readonly body: string;
  readonly attributes: Readonly<
    Record<string, { DataType: 'String' | 'Number'; StringValue: string }>
  >;
}

export interface PublishResult {
  readonly published: readonly string[];
  readonly failed: readonly { readonly id: string; readonly reason: string }[];
}

export interface EventPublisher {
  /** Publishes every message; never throws for a message SNS refused, it lists it in `failed`. */
  publish(messages: readonly OutgoingMessage[]): Promise<PublishResult>;
}

/** What `weiban-forms probe --save` stored of the corp's Weiban, if anything. */
export interface FindingsSource {
  /** Undefined when no findings are stored; throws when they cannot be read. */
  load(): Promise<WeibanFindings | undefined>;
}
