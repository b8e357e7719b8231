import fc from 'fast-check';
import type { TimeFilter } from '../../../dev/simulator/index.js';

/** A Weiban answer gone wrong, injected on the nth `form/user/list` call of a run. */
export type WeibanFault = 'revoke' | '10052' | '10053' | '21902' | 'html502' | 'nonjson' | 'slow';
export type SnsFault = 'none' | 'batch' | 'partial' | 'throttle';
export type DynamoFault =
  'none' | 'throttle-read' | 'throttle-lease' | 'record-after-publish' | 'throttle-commit';
/** Where the process dies: before or after the nth call of that kind. */
export interface CrashPoint {
  readonly at: 'list' | 'publish' | 'record' | 'commit';
  readonly nth: number;
  readonly when: 'before' | 'after';
}
/** single: one run; double: EventBridge delivers twice, run one after the other; overlap: two containers at once. */
export type Invocation = 'single' | 'double' | 'overlap';

export interface Step {
  /** New submitters per form, submitted just now. */
  readonly arrivals: readonly number[];
  /** Late arrivals per form: submit_at inside the lookback, before the cursor. */
  readonly late: readonly number[];
  /** Rows listed while the run pages this form, after its nth page. */
  readonly whilePaging: {
    readonly form: number;
    readonly afterPages: number;
    readonly count: number;
    readonly late: boolean;
  } | null;
  readonly weiban: readonly { readonly fault: WeibanFault; readonly nth: number }[];
  readonly sns: { readonly fault: SnsFault; readonly times: number };
  readonly dynamo: { readonly fault: DynamoFault; readonly nth: number };
  readonly crash: CrashPoint | null;
  readonly invocation: Invocation;
  /**
   * Little Lambda time left: the run stops between pages and saves a continuation
   * (docs/guarantees.md#g6).
   */
  readonly tight: boolean;
}

export interface Schedule {
  readonly forms: number;
  /** Weiban's answer time: enough of it and requests overlap, contesting the in-flight cap. */
  readonly latencyMs: number;
  readonly order: 'desc' | 'asc';
  /** How Weiban's start_time/end_time bound submit_at; each variant the simulator plays. */
  readonly timeFilter?: TimeFilter;
  /** The older spelling in recorded schedules: true is 'exact', false is 'ignored'. */
  readonly filterByTime?: boolean;
  /** Weiban's largest `limit` (21901 above it): at least pageSize, or PAGE_SIZE itself fails. */
  readonly maxLimit?: number;
  /** Whether Weiban needs `form_id`; without it the listing covers the corp. */
  readonly formIdRequired?: boolean;
  /**
   * The listing without `form_id` leaves the last form out (of three or more), though the
   * probe saw it cover others: the poller must still deliver that form's rows.
   */
  readonly corpListingOmitsLast?: boolean;
  /**
   * `weiban-forms probe --save` ran before the first step, so the poller reads Weiban in the
   * cheapest modes its findings prove for this Weiban (larger pages, a trusted time filter).
   */
  readonly probed?: boolean;
  readonly pageSize: number;
  /**
   * POLL_INTERVAL_SECONDS: below 60, each invocation runs passes until the next is due
   * (docs/guarantees.md#g10), on a clock running ten times faster. Absent: 60, one pass.
   */
  readonly intervalSeconds?: number;
  readonly startMode: 'time' | 'now';
  readonly initial: readonly number[];
  readonly steps: readonly Step[];
}

const perForm = (forms: number, max: number) =>
  fc.array(fc.nat({ max }), { minLength: forms, maxLength: forms });

const rare = <T>(value: fc.Arbitrary<T>, none: T, weight = 4) =>
  fc.oneof({ arbitrary: fc.constant(none), weight }, { arbitrary: value, weight: 1 });

const step = (forms: number): fc.Arbitrary<Step> =>
  fc.record({
    arrivals: perForm(forms, 6),
    late: perForm(forms, 2),
    whilePaging: rare(
      fc.record({
        form: fc.nat({ max: forms - 1 }),
        afterPages: fc.integer({ min: 1, max: 2 }),
        count: fc.integer({ min: 1, max: 3 }),
        late: fc.boolean(),
      }),
      null,
      2,
    ),
    weiban: fc.array(
      fc.record({
        fault: fc.oneof(
          {
            arbitrary: fc.constantFrom<WeibanFault>(
              'revoke',
              '10052',
              '10053',
              '21902',
              'html502',
              'nonjson',
            ),
            weight: 12,
          },
          { arbitrary: fc.constant<WeibanFault>('slow'), weight: 1 },
        ),
        nth: fc.integer({ min: 1, max: 3 }),
      }),
      { maxLength: 2 },
    ),
    sns: rare(
      fc.record({
        fault: fc.constantFrom<SnsFault>('batch', 'partial', 'throttle'),
        times: fc.integer({ min: 1, max: 3 }),
      }),
      { fault: 'none', times: 0 },
      3,
    ),
    dynamo: rare(
      fc.record({
        fault: fc.constantFrom<DynamoFault>(
          'throttle-read',
          'throttle-lease',
          'record-after-publish',
          'throttle-commit',
        ),
        nth: fc.integer({ min: 1, max: 2 }),
      }),
      { fault: 'none', nth: 0 },
      3,
    ),
    crash: rare(
      fc.record({
        at: fc.constantFrom<CrashPoint['at']>('list', 'publish', 'record', 'commit'),
        nth: fc.integer({ min: 1, max: 2 }),
        when: fc.constantFrom<CrashPoint['when']>('before', 'after'),
      }),
      null,
      2,
    ),
    invocation: fc.oneof(
      { arbitrary: fc.constant<Invocation>('single'), weight: 6 },
      { arbitrary: fc.constant<Invocation>('double'), weight: 1 },
      { arbitrary: fc.constant<Invocation>('overlap'), weight: 2 },
    ),
    tight: fc.integer({ min: 0, max: 9 }).map((n) => n < 2),
  });

/** Random schedules of arrivals, faults, crashes and overlapping runs. */
export const scheduleArb: fc.Arbitrary<Schedule> = fc
  .oneof(
    { arbitrary: fc.integer({ min: 1, max: 2 }), weight: 3 },
    // Enough forms at once to contest Weiban's in-flight cap (4).
    { arbitrary: fc.integer({ min: 3, max: 6 }), weight: 1 },
  )
  .chain((forms) =>
    fc.integer({ min: 2, max: 6 }).chain((pageSize) =>
      fc.record({
        forms: fc.constant(forms),
        latencyMs: fc.constantFrom(0, 0, 30),
        order: fc.constantFrom<Schedule['order']>('desc', 'asc'),
        timeFilter: fc.oneof(
          { arbitrary: fc.constantFrom<TimeFilter>('exact', 'ignored'), weight: 3 },
          {
            arbitrary: fc.constantFrom<TimeFilter>(
              'exclusive-start',
              'exclusive-end',
              'exclusive-both',
            ),
            weight: 1,
          },
        ),
        maxLimit: fc.integer({ min: pageSize, max: pageSize + 8 }),
        formIdRequired: fc.boolean(),
        corpListingOmitsLast: fc.integer({ min: 0, max: 3 }).map((n) => n === 0),
        probed: fc.integer({ min: 0, max: 2 }).map((n) => n === 0),
        pageSize: fc.constant(pageSize),
        intervalSeconds: fc.constantFrom(60, 60, 60, 60, 4, 7),
        startMode: fc.constantFrom<Schedule['startMode']>('time', 'time', 'now'),
        initial: perForm(forms, 14),
        steps: fc.array(step(forms), { minLength: 1, maxLength: 4 }),
      }),
    ),
  );

/**
 * Schedules on the corp-wide listing (docs/guarantees.md#corp-wide): two forms or more, a Weiban
 * that lets `form_id` be left out and filters on submit_at, probed first, passes every 4 or 7 s;
 * some leave a form out of that listing. The rest as random as `scheduleArb`.
 */
export const corpWideScheduleArb: fc.Arbitrary<Schedule> = scheduleArb
  .filter((schedule) => schedule.forms >= 2)
  .map((schedule) => ({
    ...schedule,
    probed: true,
    formIdRequired: false,
    timeFilter: schedule.timeFilter === 'ignored' ? 'exact' : schedule.timeFilter,
    intervalSeconds:
      schedule.intervalSeconds !== undefined && schedule.intervalSeconds < 60
        ? schedule.intervalSeconds
        : 4,
  }));
