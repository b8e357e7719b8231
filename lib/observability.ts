import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { RunSummary, WeibanCounts } from './model.js';

// Powertools configures itself from its own variables: POWERTOOLS_SERVICE_NAME (the `service`
// dimension the alarms select on), POWERTOOLS_METRICS_NAMESPACE and LOG_LEVEL.

/** The service's one structured logger. */
export const logger = new Logger();

/** The service's one metrics sink (CloudWatch EMF). */
export const metrics = new Metrics();

/**
 * Emits the run's totals, one metric per outcome, plus Weiban calls by endpoint and errors by
 * errcode. Nothing per form: a custom metric per form would make the bill grow with the forms;
 * per-form detail goes to the logs instead (formLines), where Logs Insights reads it.
 */
export function recordRun(
  sink: Metrics,
  summary: RunSummary,
  weiban: WeibanCounts,
  nowMs: number,
): void {
  const { totals } = summary;
  sink.addMetric('fetched', MetricUnit.Count, totals.fetched);
  sink.addMetric('new', MetricUnit.Count, totals.new);
  sink.addMetric('duplicate', MetricUnit.Count, totals.duplicate);
  sink.addMetric('published', MetricUnit.Count, totals.published);
  sink.addMetric('publish_failed', MetricUnit.Count, totals.failed);
  sink.addMetric('pages', MetricUnit.Count, totals.pages);
  sink.addMetric('run_duration', MetricUnit.Milliseconds, summary.duration_ms);
  const failedForms = summary.forms.filter((form) => form.outcome === 'failed').length;
  const deferredForms = summary.forms.filter((form) => form.outcome === 'deferred').length;
  sink.addMetric('forms_failed', MetricUnit.Count, failedForms);
  sink.addMetric('forms_deferred', MetricUnit.Count, deferredForms);
  // A run that left a form untouched is not healthy, whatever the reason (docs/guarantees.md#g10).
  // A run with no form to poll is a stage nobody set up: not healthy either.
  if (summary.forms.length > 0 && failedForms === 0 && deferredForms === 0) {
    sink.addMetric('runs_ok', MetricUnit.Count, 1);
  }
  const lags = summary.forms.flatMap((form) =>
    form.cursor === null ? [] : [Math.max(0, Math.floor(nowMs / 1000) - form.cursor)],
  );
  if (lags.length > 0) sink.addMetric('lag_seconds', MetricUnit.Seconds, Math.max(...lags));

  const { calls, errors } = weiban;
  // 2 and up: Weiban's hourly or daily block; the alarm on it pages the operator.
  sink.addMetric('weiban_block_level', MetricUnit.Count, weiban.blockLevel);
  for (const [endpoint, count] of calls) {
    const metric = sink.singleMetric();
    metric.addDimension('endpoint', endpoint);
    metric.addMetric('weiban_calls', MetricUnit.Count, count);
  }
  for (const [errcode, count] of errors) {
    const metric = sink.singleMetric();
    metric.addDimension('errcode', errcode);
    metric.addMetric('weiban_errors', MetricUnit.Count, count);
  }
}

/** What a form's line says: most of its summary, its lag, and its Weiban errors. */
export interface FormLine {
  readonly formId: number;
  readonly outcome: string;
  readonly fetched: number;
  readonly new: number;
  readonly duplicate: number;
  readonly published: number;
  readonly failed: number;
  readonly pages: number;
  readonly durationMs: number;
  readonly lagSeconds?: number;
  readonly weibanErrors?: number;
  readonly error?: string;
}

/** Forms whose lag says they fell behind, whatever their outcome. */
export const BEHIND_SECONDS = 120;

/**
 * One structured log line per form that did something worth seeing (new rows, a failure, a
 * deferral, a lag past BEHIND_SECONDS); idle forms stay quiet, so the logs grow with activity,
 * not with forms. The dashboard's per-form widgets query these lines.
 */
export function formLines(summary: RunSummary, weiban: WeibanCounts, nowMs: number): FormLine[] {
  const nowS = Math.floor(nowMs / 1000);
  return summary.forms.flatMap((form) => {
    const lagSeconds = form.cursor === null ? undefined : Math.max(0, nowS - form.cursor);
    const weibanErrors = weiban.errorsByForm.get(form.form_id);
    const quiet =
      (form.outcome === 'ok' || form.outcome === 'initialized' || form.outcome === 'busy') &&
      form.new === 0 &&
      form.failed === 0 &&
      weibanErrors === undefined &&
      (lagSeconds ?? 0) <= BEHIND_SECONDS;
    if (quiet) return [];
    return [
      {
        formId: form.form_id,
        outcome: form.outcome,
        fetched: form.fetched,
        new: form.new,
        duplicate: form.duplicate,
        published: form.published,
        failed: form.failed,
        pages: form.pages,
        durationMs: form.duration_ms,
        ...(lagSeconds !== undefined && { lagSeconds }),
        ...(weibanErrors !== undefined && { weibanErrors }),
        ...(form.error !== undefined && { error: form.error.message }),
      },
    ];
  });
}

/** One endpoint's deliveries in an invocation (lib/webhooks/ports.ts). */
export interface DeliveryCounts {
  readonly endpoint: string;
  readonly format: string;
  readonly delivered: number;
  readonly retried: number;
  readonly failed: number;
  readonly digests: number;
  readonly latencies: readonly number[];
}

/**
 * Emits each endpoint's webhook metrics, one EMF document per endpoint under the dimension
 * `endpoint`: webhook_delivered, webhook_retried, webhook_failed (dead-lettered),
 * webhook_latency (ms, one value per send) and, for robots, webhook_digests.
 */
export function recordDeliveries(endpoints: readonly DeliveryCounts[]): void {
  for (const counts of endpoints) {
    const perEndpoint = new Metrics({ defaultDimensions: { endpoint: counts.endpoint } });
    perEndpoint.addMetric('webhook_delivered', MetricUnit.Count, counts.delivered);
    perEndpoint.addMetric('webhook_retried', MetricUnit.Count, counts.retried);
    perEndpoint.addMetric('webhook_failed', MetricUnit.Count, counts.failed);
    if (counts.format !== 'standard') {
      perEndpoint.addMetric('webhook_digests', MetricUnit.Count, counts.digests);
    }
    for (const ms of counts.latencies) {
      perEndpoint.addMetric('webhook_latency', MetricUnit.Milliseconds, ms);
    }
    perEndpoint.publishStoredMetrics();
  }
}
