/**
 * The table's key design. One table (docs/guarantees.md#storage), keys `pk`/`sk`, TTL on
 * `expires_at`, and the `by_submit_at` index (pk, submit_at) over submitter records for replay by
 * time.
 */
export const formPk = (formId: number): string => `FORM#${formId}`;
export const STATE_SK = 'STATE';
/** Every submitter record's sort key starts with this. */
export const SUBMITTER_SK_PREFIX = 'U#';
export const submitterSk = (uId: number): string => `${SUBMITTER_SK_PREFIX}${uId}`;
/** A resubmission's event, beside the submitter record; outside `U#` and the by_submit_at index. */
export const resubmissionSk = (uId: number, submitAt: number): string => `R#${uId}#${submitAt}`;
/** A backfill's saved progress, one per form (cli/commands/backfill.ts). */
export const BACKFILL_SK = 'BACKFILL';
export const corpPk = (corpId: string): string => `CORP#${corpId}`;
export const TOKEN_SK = 'TOKEN';
/** What `weiban-forms probe --save` learned of the corp's Weiban (findings.ts). */
export const FINDINGS_SK = 'FINDINGS';
/**
 * The forms to poll: added by the operator or seeded from FORM_IDS (form-state.ts,
 * operator.ts). One per table, as the form states are: a stage polls one corp.
 */
export const FORM_LIST_KEY = { pk: 'FORMS', sk: 'LIST' } as const;
/** The corp's Weiban budget: who may send, what was sent, who waits, blocks (corp-budget.ts). */
export const BUDGET_SK = 'BUDGET';
export const BY_SUBMIT_AT_INDEX = 'by_submit_at';

export const uIdFromSk = (sk: string): number => Number(sk.slice(2));

/** A webhook endpoint's send window, shared by every delivery of the endpoint (webhook-rate.ts). */
export const RATE_SK = 'RATE';
/** A webhook endpoint's items: its send window (`RATE_SK`) and attempt counts (`trySk`). */
export const webhookPk = (endpoint: string): string => `WEBHOOK#${endpoint}`;
export const trySk = (eventId: string): string => `TRY#${eventId}`;
/** A webhook endpoint's attempt log, newest last in sort-key order. */
export const webhookLogPk = (endpoint: string): string => `WEBHOOK#${endpoint}#LOG`;
export const webhookLogSk = (atMs: number, eventId: string): string =>
  `${String(Math.max(0, Math.floor(atMs))).padStart(15, '0')}#${eventId}`;
