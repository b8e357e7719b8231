import type { Clock } from '../clock.js';
import { PublishError } from '../errors.js';
import { buildEvent, type EventType } from '../events.js';
import type { Submitter } from '../model.js';
import type {
  EventPublisher,
  RecordedSubmitter,
  SubmitterLedger,
  SubmitterSource,
} from '../ports.js';
import { toMessage } from '../publish/message.js';
import { classify, splitByRecent, type Classified } from './window.js';

/** A submitter to publish, and as which event. */
export interface Delivery {
  readonly row: Submitter;
  readonly type: EventType;
}

export interface DeliverDeps {
  readonly settings: {
    readonly corpId: string;
    readonly answerFormIds: readonly number[] | 'all';
  };
  readonly weiban: Pick<SubmitterSource, 'listSubmissions'>;
  readonly publisher: EventPublisher;
  readonly ledger: SubmitterLedger;
  readonly clock: Clock;
}

export interface DeliveryOutcome {
  /** Published and recorded. */
  readonly published: number;
  /** What was recorded, by u_id and submit_at. */
  readonly recorded: readonly { readonly uId: number; readonly submitAt: number }[];
  /** Refused by SNS, so neither published nor recorded: the next run tries them again. */
  readonly refused: readonly { readonly id: string; readonly reason: string }[];
}

/**
 * Sorts a page's candidates into new submitters, resubmissions and duplicates (docs/guarantees.md#g2). The cache
 * of recently recorded submitters (`known`) settles most lookback rows; the ledger, read with
 * strong consistency, settles the rest, and `ledgerKnown` says what it found recorded.
 */
export async function triage(
  deps: {
    readonly ledger: SubmitterLedger;
    readonly settings: { readonly emitResubmissions: boolean };
  },
  formId: number,
  candidates: readonly Submitter[],
  known: ReadonlyMap<number, number> = new Map(),
): Promise<Classified & { readonly ledgerKnown: ReadonlyMap<number, RecordedSubmitter> }> {
  const { emitResubmissions } = deps.settings;
  const { confirmed, unknown } = splitByRecent(candidates, known, emitResubmissions);
  const looked =
    unknown.length > 0
      ? await deps.ledger.lookup(
          formId,
          unknown.map((row) => row.u_id),
        )
      : new Map<number, RecordedSubmitter>();
  return {
    ...classify(candidates, new Map([...confirmed, ...looked]), emitResubmissions),
    ledgerKnown: looked,
  };
}

/** What to publish for a triaged page: first submissions, then resubmissions. */
export function deliveries(classified: Classified): Delivery[] {
  return [
    ...classified.fresh.map((row): Delivery => ({ row, type: 'weiban.form.submitted' })),
    ...classified.resubmitted.map((row): Delivery => ({ row, type: 'weiban.form.resubmitted' })),
  ];
}

/**
 * Publishes one page's new submitters, then records those SNS accepted. Publishing first means
 * a crash can only repeat an event under the same id, never lose one (docs/guarantees.md#g1, #g2).
 */
export async function deliver(
  deps: DeliverDeps,
  formId: number,
  rows: readonly Delivery[],
  signal?: AbortSignal,
): Promise<DeliveryOutcome> {
  const { settings, weiban, publisher, ledger, clock } = deps;
  if (rows.length === 0) return { published: 0, recorded: [], refused: [] };
  const withAnswers = settings.answerFormIds === 'all' || settings.answerFormIds.includes(formId);
  // Answers first, for the whole page: a submitter is never published without them.
  const answers = withAnswers
    ? await Promise.all(rows.map(({ row }) => weiban.listSubmissions(formId, row.u_id, signal)))
    : undefined;
  const detectedAtMs = clock.now();
  const messages = rows.map(({ row, type }, index) =>
    toMessage(
      buildEvent({
        corpId: settings.corpId,
        submitter: row,
        type,
        detectedAtMs,
        ...(answers !== undefined && { submissions: answers[index] ?? [] }),
      }),
    ),
  );
  const result = await publisher.publish(messages);
  const accepted = new Set(result.published);
  const records = messages.flatMap((message, index) => {
    const delivered = rows[index];
    return delivered !== undefined && accepted.has(message.id)
      ? [
          {
            uId: delivered.row.u_id,
            submitAt: delivered.row.submit_at,
            event: message.body,
            resubmitted: delivered.type === 'weiban.form.resubmitted',
          },
        ]
      : [];
  });
  if (records.length > 0) await ledger.record(formId, records, clock.now());
  return {
    published: records.length,
    recorded: records.map(({ uId, submitAt }) => ({ uId, submitAt })),
    refused: result.failed,
  };
}

/**
 * Fails the window when SNS refused anything, so the cursor stays and the next run retries
 * (docs/guarantees.md#g1).
 */
export function requireAllPublished(outcome: DeliveryOutcome): void {
  const [first] = outcome.refused;
  if (first !== undefined) {
    throw new PublishError(
      outcome.refused.map((refusal) => refusal.id),
      first.reason,
    );
  }
}
