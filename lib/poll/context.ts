import type { Clock } from '../clock.js';
import type { StartFrom } from '../config.js';
import type {
  EventPublisher,
  FormStateStore,
  Log,
  SubmitterLedger,
  SubmitterSource,
} from '../ports.js';
import type { PollingModes } from '../weiban/findings.js';
import type { PaceSettings, PollSchedule } from './schedule.js';

/** What the poller needs to know of the configuration. */
export interface PollSettings {
  readonly corpId: string;
  /** FORM_IDS: seeds the form list in the table, which is what is polled. */
  readonly formIds: readonly number[];
  readonly startFrom: StartFrom;
  readonly lookbackSeconds: number;
  /** `limit` per page: PAGE_SIZE, or the larger one the probe's findings allow. */
  readonly pageSize: number;
  /**
   * Weiban's time window proved exact, both bounds inclusive on submit_at (the probe's
   * findings): the window goes as it is, and rows are not filtered by submit_at again.
   */
  readonly exactTimeFilter?: boolean;
  /**
   * The findings allow one listing without `form_id` for the corp: a pass lists its quiet forms
   * together (lib/poll/corp-scan.ts). Default false.
   */
  readonly corpWide?: boolean;
  /** Below this much Lambda time left, no new page is started (docs/guarantees.md#g6). */
  readonly deadlineMarginMs: number;
  readonly emitResubmissions: boolean;
  readonly answerFormIds: readonly number[] | 'all';
  /** The fastest a form is polled (POLL_INTERVAL_SECONDS), and Weiban's budget a minute. */
  readonly pace: PaceSettings;
  /** The shortest lease term; LEASE_FLOOR_MS unless a test's faster clock scales it. */
  readonly leaseFloorMs?: number;
}

export interface PollerDeps {
  readonly settings: PollSettings;
  readonly weiban: SubmitterSource;
  readonly forms: FormStateStore;
  readonly ledger: SubmitterLedger;
  readonly publisher: EventPublisher;
  readonly clock: Clock;
  readonly log: Log;
  /** Which forms were polled when: kept for the life of the process. */
  readonly schedule: PollSchedule;
  /**
   * The polling modes the probe's stored findings allow, asked at the start of each pass; they
   * set `pageSize`, `exactTimeFilter` and `corpWide`. Without it, the settings as given.
   */
  readonly modes?: { current(): Promise<PollingModes> };
  /** Forms polled at once; Weiban's own cap is enforced by the limiter beneath. */
  readonly formConcurrency?: number;
}

export interface RunContext {
  /** Unique per invocation: the lease owner. */
  readonly runId: string;
  /** Lambda time left, in ms. */
  readonly remainingMs: () => number;
  /** Aborts in-flight Weiban requests when the deadline hits. */
  readonly signal?: AbortSignal;
  /** When the schedule meant this invocation to start (the EventBridge event's time), epoch ms. */
  readonly scheduledAt?: number;
  /** One pass only, whatever the time left: a local run's turn, or `invoke --once`. */
  readonly singlePass?: boolean;
}
