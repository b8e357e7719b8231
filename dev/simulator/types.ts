import type { Clock } from '../../lib/clock.js';
import type { TimeFilter } from './store.js';

export type { TimeFilter } from './store.js';

/** One submitter row of `form/user/list`, field for field as Weiban documents it. */
export interface SimRow {
  u_id: number;
  form_id: number;
  form_name: string;
  status: string;
  submit_at: number;
  external_user_id: string;
  unionid: string;
  user_name: string;
  user_city: string;
  avatar: string;
}

/** One answer inside a submission of `form/user/submit/list`. */
export interface SimComponentValue {
  relation_id: number;
  component_id: number;
  component_type: string;
  title: string;
  value: string;
  values: string[];
}

/** One submission of `form/user/submit/list`; a u_id that resubmits has several. */
export interface SimSubmission {
  id: number;
  deleted: boolean;
  form_id: number;
  scr_id: number;
  time_spent: number;
  user_city: string;
  submit_at: number;
  component_value_list: SimComponentValue[];
}

/** How the simulated Weiban tenant behaves; every field has the documented or safest default. */
export interface SimulatorOptions {
  /** Reads the time for token expiry, rate windows and the 60 s block; sleeps for latency. */
  clock?: Clock;
  corpId?: string;
  secret?: string;
  /** `expires_in` returned and enforced (Weiban: unknown; clients assume 7200). */
  tokenTtlSeconds?: number;
  /** Requests in processing allowed at once per corp; one more gets 10052. */
  maxInFlight?: number;
  /** Requests per endpoint per rolling 60 s; going over gets 10053 and a 60 s block. */
  perMinute?: number;
  /** Added to every answer, in the clock's milliseconds. */
  latencyMs?: number | (() => number);
  /** `form/user/list` order: 'desc' is submit_at desc then u_id desc, 'asc' the reverse. */
  order?: 'desc' | 'asc';
  /**
   * How start_time/end_time bound submit_at (Weiban: unknown). 'exact' (the default) keeps
   * start_time ≤ submit_at ≤ end_time; 'exclusive-start', 'exclusive-end' and
   * 'exclusive-both' make that bound `<` (off by one second); 'ignored' lists every row.
   */
  timeFilter?: TimeFilter;
  /** Older spelling of `timeFilter`: true is 'exact', false is 'ignored'. */
  filterByTime?: boolean;
  /** Largest `limit` accepted; above it gets 21901. */
  maxLimit?: number;
  /**
   * Whether `form/user/list` needs `form_id` (Weiban: unknown). Optional (false): without it,
   * the listing holds every form's submitters of the corp, in the same order, and `total`
   * counts all of them. Default true: a missing form_id gets 21901.
   */
  formIdRequired?: boolean;
  /**
   * Forms a listing without `form_id` leaves out (Weiban: which forms it covers is unknown; it
   * might skip some, say archived ones). Default none.
   */
  corpListingOmits?: readonly number[];
  /**
   * Whether issuing a token ends every token issued before it (Weiban: unknown), so that they
   * get 10001. Default false: earlier tokens work until they expire or are revoked.
   */
  newTokenEndsOld?: boolean;
  /** Seed for the generated sample values, so a run can be repeated. */
  seed?: number;
}

/** The Weiban endpoints the simulator serves. */
export type Endpoint = 'token' | 'list' | 'submissions' | 'groups';

interface FaultTarget {
  /** Only requests to this endpoint; any endpoint when absent. */
  endpoint?: Endpoint;
  /** Only requests whose `form_id` is this; any request when absent. */
  formId?: number;
  /** How many matching requests it answers before it is used up; default 1. */
  times?: number;
}

/** A scripted bad answer; each matching request consumes one of its `times`. */
export type Fault =
  | ({ kind: 'html502' | 'html504' | 'empty' | 'truncated' | 'nonjson' } & FaultTarget)
  | ({ kind: 'errcode'; errcode: number; errmsg?: string } & FaultTarget)
  | ({ kind: 'body'; body: string; status?: number } & FaultTarget)
  | ({ kind: 'slow'; delayMs: number } & FaultTarget);

/** One `form/user/list` call as the server understood it. */
export interface ListCall {
  /** Absent for a listing of the whole corp (no `form_id`). */
  formId?: number;
  offset: number;
  limit: number;
  start_time?: number;
  end_time?: number;
}

/** Counters that tests and the benchmark read back. */
export interface SimStats {
  /** Every request that reached the server, per endpoint. */
  requests: Record<Endpoint, number>;
  /** Most requests in processing at once, corp-wide. */
  maxInFlight: number;
  /** Errcode (or HTTP status / fault kind for non-JSON answers) → answers sent with it. */
  errors: Record<string, number>;
  /** Highest number of requests in any rolling 60 s window, per endpoint. */
  peakPerMinute: Record<Endpoint, number>;
  /** Every well-formed `form/user/list` call, in arrival order. */
  listCalls: ListCall[];
}
