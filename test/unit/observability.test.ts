import { Metrics } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { pollHandler, PollFailedError } from '../../lib/handler.js';
import type { RunSummary } from '../../lib/model.js';
import { formLines, recordRun } from '../../lib/observability.js';
import { WeibanMeter, type CallOutcome } from '../../lib/weiban/meter.js';
import { formSummary, runSummary } from '../fixtures/run-summary.js';
import { captureEmf, findDocument, type EmfCapture } from '../support/emf.js';
import { lambdaContext } from '../support/lambda-context.js';

const NOW_MS = 1_800_000_000_000;
const NOW_S = NOW_MS / 1000;

/** A run as an operator would see one: a busy form, one SNS refused some, one Weiban failed. */
const mixedRun = (): RunSummary =>
  runSummary([
    formSummary({
      form_id: 842,
      fetched: 250,
      new: 240,
      duplicate: 10,
      published: 240,
      pages: 3,
      cursor: NOW_S - 5,
    }),
    formSummary({
      form_id: 901,
      outcome: 'failed',
      fetched: 100,
      new: 100,
      published: 97,
      failed: 3,
      pages: 1,
      cursor: NOW_S - 1_200,
      error: { name: 'PublishError', message: '3 event(s) not published: InternalError' },
    }),
    formSummary({
      form_id: 977,
      outcome: 'failed',
      pages: 0,
      cursor: NOW_S - 900,
      error: { name: 'FormQueryError', message: 'data query failed', errcode: 21902 },
    }),
  ]);

function meterWith(outcomes: readonly [CallOutcome['endpoint'], CallOutcome['result'], number][]) {
  const meter = new WeibanMeter();
  for (const [endpoint, result, times] of outcomes) {
    for (let index = 0; index < times; index += 1) meter.observe({ endpoint, result, ms: 80 });
  }
  return meter;
}

describe('the run metrics, as CloudWatch EMF on stdout', () => {
  let emf: EmfCapture;
  beforeEach(() => {
    // vitest.config.ts turns metrics off for every test; these read the real output.
    vi.stubEnv('POWERTOOLS_METRICS_DISABLED', 'false');
    emf = captureEmf();
  });
  afterEach(() => {
    emf.restore();
    vi.unstubAllEnvs();
  });

  it('emits the totals, one document per form, Weiban calls by endpoint and errors by errcode', () => {
    const sink = new Metrics();
    const meter = meterWith([
      ['access_token/get', 0, 1],
      ['form/user/list', 0, 4],
      ['form/user/list', 10052, 2],
      ['form/user/list', 21902, 3],
      ['form/user/list', 'transport', 1],
    ]);

    recordRun(sink, mixedRun(), { ...meter.drain(), blockLevel: 0 }, NOW_MS);
    sink.publishStoredMetrics();

    const docs = emf.documents();
    expect(new Set(docs.map((doc) => doc._aws.CloudWatchMetrics[0]?.Namespace))).toEqual(
      new Set(['WeibanForms']),
    );
    const total = findDocument(docs, { service: 'weiban-forms-test' });
    expect(total).toMatchObject({
      fetched: 350,
      new: 340,
      duplicate: 10,
      published: 337,
      publish_failed: 3,
      pages: 4,
      run_duration: 2_345,
      forms_failed: 2,
      forms_deferred: 0,
      lag_seconds: 1_200,
    });
    expect(total).not.toHaveProperty('runs_ok');
    expect(total._aws.CloudWatchMetrics[0]?.Metrics).toEqual(
      expect.arrayContaining([
        { Name: 'run_duration', Unit: 'Milliseconds' },
        { Name: 'lag_seconds', Unit: 'Seconds' },
        { Name: 'published', Unit: 'Count' },
      ]),
    );
    // Nothing per form: its bill would grow with the forms (formLines carries the detail).
    expect(docs.some((doc) => 'form_id' in doc)).toBe(false);
    const calls = (endpoint: string) =>
      findDocument(docs, { service: 'weiban-forms-test', endpoint }).weiban_calls;
    expect([calls('access_token/get'), calls('form/user/list')]).toEqual([1, 10]);
    const errors = (errcode: string) =>
      findDocument(docs, { service: 'weiban-forms-test', errcode }).weiban_errors;
    expect([errors('10052'), errors('21902'), errors('transport')]).toEqual([2, 3, 1]);
    expect(docs).toHaveLength(1 + 2 + 3);
  });

  it.each([
    ['every form polled', ['ok', 'ok'], 1],
    ['forms busy or continued are not failures', ['busy', 'continued'], 1],
    ['one form failed', ['ok', 'failed'], undefined],
    ['one form deferred without a page', ['ok', 'deferred'], undefined],
    ['no form to poll at all', [], undefined],
  ] as const)(
    'counts a run as ok only when no form failed or stalled: %s',
    (_, outcomes, runsOk) => {
      const sink = new Metrics();
      const summary = runSummary(
        outcomes.map((outcome, index) => formSummary({ form_id: 842 + index, outcome })),
      );

      recordRun(sink, summary, { ...new WeibanMeter().drain(), blockLevel: 0 }, NOW_MS);
      sink.publishStoredMetrics();

      expect(findDocument(emf.documents(), { service: 'weiban-forms-test' }).runs_ok).toBe(runsOk);
    },
  );

  it('logs a line for each form with something to see, and none for idle forms', () => {
    const meter = new WeibanMeter();
    meter.observe({ endpoint: 'form/user/list', result: 10052, ms: 80, formId: 901 });
    meter.observe({ endpoint: 'form/user/list', result: 0, ms: 80, formId: 901 });
    meter.observe({ endpoint: 'form/user/list', result: 0, ms: 80, formId: 842 });

    const lines = formLines(
      runSummary([
        formSummary({ form_id: 842, duration_ms: 300, cursor: NOW_S - 5 }),
        formSummary({ form_id: 901, duration_ms: 900, new: 2, published: 2, cursor: NOW_S }),
        formSummary({ form_id: 977, outcome: 'deferred', pages: 0, cursor: NOW_S - 900 }),
        formSummary({ form_id: 1024, cursor: NOW_S - 600 }),
      ]),
      { ...meter.drain(), blockLevel: 0 },
      NOW_MS,
    );

    expect(lines).toEqual([
      expect.objectContaining({ formId: 901, published: 2, weibanErrors: 1, durationMs: 900 }),
      expect.objectContaining({ formId: 977, outcome: 'deferred', lagSeconds: 900 }),
      expect.objectContaining({ formId: 1024, outcome: 'ok', lagSeconds: 600 }),
    ]);
  });

  it('drains the Weiban counts, so the next run reports only its own calls', () => {
    const sink = new Metrics();
    const meter = meterWith([['form/user/list', 10053, 1]]);
    recordRun(sink, mixedRun(), { ...meter.drain(), blockLevel: 0 }, NOW_MS);
    sink.publishStoredMetrics();
    const first = emf.documents().length;

    recordRun(sink, mixedRun(), { ...meter.drain(), blockLevel: 0 }, NOW_MS);
    sink.publishStoredMetrics();

    const second = emf.documents().slice(first);
    expect(second.some((doc) => 'weiban_errors' in doc || 'weiban_calls' in doc)).toBe(false);
    expect(second).toHaveLength(1);
  });

  it('flushes the run, without runs_ok, when no form could be polled and the handler throws', async () => {
    const sink = new Metrics();
    const failed = runSummary(
      [842, 901].map((formId) =>
        formSummary({
          form_id: formId,
          outcome: 'failed',
          pages: 0,
          error: { name: 'RateLimitedError', message: 'blocked', errcode: 10053 },
        }),
      ),
    );
    const meter = meterWith([['form/user/list', 10053, 1]]);
    const service = {
      run: vi.fn(() =>
        Promise.resolve({ summary: failed, weiban: { ...meter.drain(), blockLevel: 0 } }),
      ),
    };
    const handler = middy()
      .use(logMetrics(sink))
      .handler(
        pollHandler(service, { log: { info: vi.fn(), warn: vi.fn() }, sink, now: () => NOW_MS }),
      );

    const context = lambdaContext({
      awsRequestId: 'request-1',
      getRemainingTimeInMillis: () => 60_000,
    });

    await expect(handler(undefined, context)).rejects.toBeInstanceOf(PollFailedError);

    const docs = emf.documents();
    const total = findDocument(docs, { service: 'weiban-forms-test' });
    expect(total).toMatchObject({ forms_failed: 2, published: 0 });
    expect(total).not.toHaveProperty('runs_ok');
    expect(findDocument(docs, { service: 'weiban-forms-test', errcode: '10053' })).toMatchObject({
      weiban_errors: 1,
    });
    expect(service.run).toHaveBeenCalledWith(expect.objectContaining({ runId: 'request-1' }));
  });

  it('fails the invocation when every form was deferred for lack of time, and says why', async () => {
    const sink = new Metrics();
    const stalled = runSummary(
      [842, 901].map((formId) => formSummary({ form_id: formId, outcome: 'deferred', pages: 0 })),
    );
    const service = {
      run: vi.fn(() =>
        Promise.resolve({
          summary: stalled,
          weiban: { ...new WeibanMeter().drain(), blockLevel: 0 },
        }),
      ),
    };
    const handler = middy()
      .use(logMetrics(sink))
      .handler(
        pollHandler(service, { log: { info: vi.fn(), warn: vi.fn() }, sink, now: () => NOW_MS }),
      );
    const context = lambdaContext({
      awsRequestId: 'request-1',
      getRemainingTimeInMillis: () => 900,
    });

    await expect(handler(undefined, context)).rejects.toThrow(
      /no form could be polled: the invocation had no time for a page/,
    );

    const total = findDocument(emf.documents(), { service: 'weiban-forms-test' });
    expect(total).toMatchObject({ forms_deferred: 2, forms_failed: 0 });
    expect(total).not.toHaveProperty('runs_ok');
  });
});
