import type { Metrics } from '@aws-lambda-powertools/metrics';
import type { Context } from 'aws-lambda';
import { ServiceError } from './errors.js';
import type { RunSummary } from './model.js';
import { formLines, recordRun } from './observability.js';
import type { Log } from './ports.js';
import type { PollService } from './service.js';

/** When the schedule meant the invocation to start: the EventBridge event's `time`. */
export function scheduledTime(event: unknown): number | undefined {
  if (typeof event !== 'object' || event === null || !('time' in event)) return undefined;
  const at = typeof event.time === 'string' ? Date.parse(event.time) : Number.NaN;
  return Number.isFinite(at) ? at : undefined;
}

/** The EventBridge event's id: two invocations with one id are a double delivery. */
export function scheduleEventId(event: unknown): string | undefined {
  if (typeof event !== 'object' || event === null || !('id' in event)) return undefined;
  return typeof event.id === 'string' ? event.id : undefined;
}

/**
 * No form could be polled at all: the one case the handler fails, so Lambda errors mean something
 * (docs/guarantees.md#handler).
 */
export class PollFailedError extends ServiceError {}

/**
 * The schedule's entry point, minus the wiring: one run over every form, metrics, a log line,
 * and the summary (docs/guarantees.md#handler) as the result.
 */
export function pollHandler(
  service: PollService,
  {
    log,
    sink,
    now = Date.now,
  }: { log: Pick<Log, 'info' | 'warn'>; sink: Metrics; now?: () => number },
) {
  return async (
    event: unknown,
    context: Context,
    options?: { signal?: AbortSignal; singlePass?: boolean },
  ): Promise<RunSummary> => {
    log.info('run started');
    const scheduledAt = scheduledTime(event);
    const { summary, weiban } = await service.run({
      runId: context.awsRequestId,
      remainingMs: () => context.getRemainingTimeInMillis(),
      ...(scheduledAt !== undefined && { scheduledAt }),
      ...(options?.signal !== undefined && { signal: options.signal }),
      ...(options?.singlePass === true && { singlePass: true }),
    });
    const nowMs = now();
    recordRun(sink, summary, weiban, nowMs);
    for (const line of formLines(summary, weiban, nowMs)) log.info('form run', line);
    log.info('run finished', {
      totals: summary.totals,
      durationMs: summary.duration_ms,
      forms: summary.forms.length,
      outcomes: outcomeCounts(summary),
    });
    if (summary.forms.length === 0) {
      log.warn(
        'no forms to poll: add them with "weiban-forms forms add --form ID", or set FORM_IDS (the formIds param)',
      );
    }
    // A form deferred before its first page made no progress: a run of nothing but those
    // and failures polled nothing, and says so as a Lambda error (docs/guarantees.md#g10).
    const polled = summary.forms.filter(
      (form) => form.outcome !== 'failed' && form.outcome !== 'deferred',
    );
    if (summary.forms.length > 0 && polled.length === 0) {
      const reasons = [...new Set(summary.forms.map(stallReason))];
      throw new PollFailedError(`no form could be polled: ${reasons.join('; ')}`);
    }
    return summary;
  };
}

function stallReason(form: RunSummary['forms'][number]): string {
  if (form.outcome === 'deferred') {
    return 'the invocation had no time for a page before its deadline margin (see DEADLINE_MARGIN_MS and the function timeout)';
  }
  return form.error?.message ?? 'unknown';
}

function outcomeCounts(summary: RunSummary): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const form of summary.forms) counts[form.outcome] = (counts[form.outcome] ?? 0) + 1;
  return counts;
}
