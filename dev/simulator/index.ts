/**
 * A local imitation of Weiban's OpenAPI (docs/weiban-api.md records what is known of it) for
 * integration tests, `npm start`, the fault-injection property test and the benchmark.
 *
 * Where Weiban's doc is silent, the simulator chooses, and says so:
 * - wrong or missing `corp_id`/`secret` on the token endpoint → errcode 10003;
 * - asking for a new token leaves earlier tokens valid until they expire or are revoked
 *   (`newTokenEndsOld: true` ends them at once instead);
 * - `rotateSecret()` refuses the old secret from then on (10003) and keeps earlier tokens;
 * - the token endpoint is rate-limited and counted like the others;
 * - `form_id` is required on `form/user/list` (missing → 21901; `formIdRequired: false` lists
 *   every form of the corp instead, in the same order, ties of submit_at and u_id broken by
 *   form_id, with `total` over them all, and counts such a page as one of each form's pages
 *   for `insertWhilePaging`); an unknown form is empty
 *   (`total: 0`, `result: []`); `limit` defaults to 10 and must be 1..`maxLimit`; `offset`
 *   defaults to 0; a parameter that is present but not a plain integer → 21901;
 * - `city` matches as a substring of `user_city` ("武汉" finds "武汉市");
 * - `start_time`/`end_time` bound `submit_at` inclusively; `timeFilter` makes either bound or
 *   both exclusive, or ignores them (`filterByTime: false` is the older spelling of 'ignored');
 * - a request rejected with 10052 still counts toward the per-minute window; one rejected
 *   during a 60 s block does not;
 * - `submit/list` returns a u_id's submissions oldest first;
 * - unknown paths → HTTP 404 `{errcode: 404}`, a wrong method → HTTP 405 `{errcode: 405}`;
 * - the per-hour quota is not modelled: 600 per rolling minute can never exceed 36,000 an hour.
 */
export { WeibanSimulator } from './simulator.js';
export type {
  Endpoint,
  Fault,
  ListCall,
  SimComponentValue,
  SimRow,
  SimStats,
  SimSubmission,
  SimulatorOptions,
  TimeFilter,
} from './types.js';
