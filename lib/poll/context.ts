import type { Clock } from '../clock.js';
import type { StartFrom } from '../config.js';
import type {
  EventPublisher,
  FormStateStore,
  Log,
  SubmitterLedger,
  SubmitterSource,
} from '../ports.js';
import type { PaceSettings, PollSchedule } from './schedule.js';

/** What the poller needs to know of the configuration. */
export interface PollSettings {
  readonly corpId: string;
  /** FORM_IDS: seeds the form list in the table, which is what is polled. */
  readonly formIds: readonly number[];
  readonly startFrom: StartFrom;
  readonly lookbackSeconds: number;
  readonly pageSize: number;
  /** Below this much Lambda time left, no new page is started (docs/guarantees.md#g6). */
  readonly deadlineMarginMs: number;
  readonly emitResubmissions: boolean;
  readonly answerFormIds: readonly number[] | 'all';
  /** The fastest a form is polled (POLL_INTERVAL_SECONDS), and Weiban's budget a minute. */
  readonly pace: PaceSettings;
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
