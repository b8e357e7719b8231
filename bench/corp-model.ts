import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SNSClient } from '@aws-sdk/client-sns';
import { SSMClient } from '@aws-sdk/client-ssm';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { seededRandom } from '../dev/simulator/random.js';
import { WeibanSimulator } from '../dev/simulator/index.js';
import { loadConfig } from '../lib/config.js';
import { formLines, recordRun } from '../lib/observability.js';
import { MetricSpy } from './costs.js';
import { createPollService, createWeiban } from '../lib/service.js';
import type { WeibanFindings } from '../lib/weiban/findings.js';
import { BenchLog } from './deployment.js';
import { EventClock } from './event-clock.js';
import {
  DynamoMeter,
  MeteredBudget,
  MeteredFormStore,
  MeteredLedger,
  MeteredTokenStore,
  TimedPublisher,
} from './metered-stores.js';

const MINUTE_MS = 60_000;
/** The deployed function's timeout (serverless.yml custom.poll.timeoutSeconds). */
const TIMEOUT_MS = 70_000;
// A whole minute, so the schedule's ticks fall on minute boundaries as EventBridge's do.
const START_MS = Date.UTC(2026, 0, 5, 0, 0, 0);
/** Weiban's answer time, as in the rest of the benchmark. */
export const WEIBAN_LATENCY_MS = 80;
/**
 * When an invocation begins after its scheduled minute: EventBridge's delivery plus Lambda's
 * start on a warm container, drawn evenly from this range (seeded).
 */
const START_DELAY_MS = [200, 1_200] as const;
// Powertools' envelope on each log line (timestamp, level, service, request id, cold start…),
// and what Lambda itself writes per invocation (START, END, REPORT) plus the EMF document.
const LOG_LINE_ENVELOPE_BYTES = 300;
const LOG_PER_INVOCATION_BYTES = 400 + 1_800;

export interface CorpShape {
  readonly forms: number;
  readonly intervalSeconds: number;
  readonly budgetPerMinute: number;
  /** Minutes before measuring: forms created, token fetched, the schedule learned. */
  readonly warmMinutes: number;
  readonly measureMinutes: number;
  /** Mean minutes between two submissions to one form (Poisson); none when undefined. */
  readonly meanGapMinutes?: number;
  readonly seed: number;
  /** Configuration variables on top of the model's own (docs/guarantees.md#config). */
  readonly env?: Readonly<Record<string, string>>;
  /**
   * Weiban lists the corp without `form_id`, and stored findings prove it: the corp-wide
   * listing (docs/guarantees.md#corp-wide). Otherwise no findings, the cautious modes.
   */
  readonly corpWide?: boolean;
}

export interface Spread {
  readonly count: number;
  readonly p50: number;
  readonly p95: number;
  readonly max: number;
}

export interface CorpResult {
  readonly shape: CorpShape;
  /** submit_at (whole seconds) → the event's PublishBatch, on the clock, in ms. */
  readonly latencyMs: Spread;
  readonly undetected: number;
  readonly listPerMinute: number;
  /** The busiest rolling minute of `form/user/list` calls, as the simulator counted them. */
  readonly peakListMinute: number;
  readonly weibanErrors: Record<string, number>;
  readonly dynamo: {
    readonly requestsPerMinute: number;
    readonly rruPerMinute: number;
    readonly wruPerMinute: number;
    readonly byPartPerMinute: Record<string, number>;
    /** Requests per pass: form state, list and ledger (the bound ⌈F/100⌉ + 1 is for these). */
    readonly formPerPass: { readonly mean: number; readonly max: number };
    /** The same, over the passes that published nothing (idle passes). */
    readonly formPerIdlePass: {
      readonly mean: number;
      readonly max: number;
      readonly passes: number;
    };
    /** The corp budget's requests per pass (claims and renewals of the hold). */
    readonly budgetPerPass: { readonly mean: number; readonly max: number };
  };
  readonly snsPerMinute: number;
  readonly passesPerInvocation: number;
  /** Billed Lambda time per invocation (ms, rounded up to whole ms). */
  readonly billedMsPerInvocation: number;
  readonly logBytesPerMinute: number;
  /** Time between two polls (first page) of one form, every gap of every form, ms. */
  readonly pollGapMs: Spread;
  /** The largest lag the lag metric reported (now − newest cursor), at any invocation's end, s. */
  readonly maxLagSeconds: number;
  /** The oldest cursor the table holds at the end (what a fresh container and `status` see), s. */
  readonly maxStoredCursorAgeSeconds: number;
  readonly outcomes: Record<string, number>;
  /** Every custom metric the runs emitted (name and dimensions), as recordRun sends them. */
  readonly metrics: readonly string[];
  readonly logProblems: number;
  readonly wallMs: number;
}

/**
 * One corp's poller over simulated time: the real service (createPollService: passes, cadence,
 * schedule, form runs, limiter, transport, token) with in-memory form state, ledger, budget
 * and publisher, against the Weiban simulator answered in process, all on one EventClock. The
 * schedule invokes it every minute; submissions arrive at random (seeded) on random forms.
 */
export async function simulateCorp(shape: CorpShape): Promise<CorpResult> {
  const wallStart = performance.now();
  const random = seededRandom(shape.seed);
  const clock = new EventClock(START_MS);
  const simulator = new WeibanSimulator({
    clock,
    latencyMs: WEIBAN_LATENCY_MS,
    seed: shape.seed,
    formIdRequired: shape.corpWide !== true,
  });
  const formIds = Array.from({ length: shape.forms }, (_, index) => 5001 + index);
  for (const formId of formIds) simulator.addForm(formId);

  const config = loadConfig({
    WEIBAN_BASE_URL: 'http://weiban.invalid',
    WEIBAN_CORP_ID: 'sim-corp',
    WEIBAN_SECRET: 'sim-secret',
    TABLE_NAME: 'bench',
    TOPIC_ARN: 'arn:aws:sns:ap-northeast-1:123456789012:bench',
    FORM_IDS: formIds.join(','),
    START_FROM: 'now',
    POLL_INTERVAL_SECONDS: String(shape.intervalSeconds),
    WEIBAN_MAX_PER_MINUTE: String(shape.budgetPerMinute),
    ...shape.env,
  });
  const meter = new DynamoMeter(clock);
  const requestTimes = meter.times;
  const forms = new MeteredFormStore(meter);
  const ledger = new MeteredLedger(meter);
  const publisher = new TimedPublisher(clock);
  const firstPages = new Map<number, number[]>();
  /** When each `form/user/list` call went out. */
  const listCalls: number[] = [];
  const fetchWeiban: typeof fetch = (input, init) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    const isList = url.pathname.endsWith('/form/user/list');
    if (isList) listCalls.push(clock.now());
    if (isList && url.searchParams.get('offset') === '0') {
      const formId = url.searchParams.get('form_id');
      // A listing without form_id reads every form's window at once.
      for (const listed of formId === null ? formIds : [Number(formId)]) {
        const times = firstPages.get(listed) ?? [];
        times.push(clock.now());
        firstPages.set(listed, times);
      }
    }
    return simulator.fetch(input, init);
  };
  // Never called: every store is in memory and the secret is plain text.
  const unreachable = { region: 'ap-northeast-1', endpoint: 'http://127.0.0.1:9' };
  const credentials = { accessKeyId: 'bench', secretAccessKey: 'bench' };
  const clients = {
    dynamo: DynamoDBDocumentClient.from(new DynamoDBClient({ ...unreachable, credentials })),
    sns: new SNSClient({ ...unreachable, credentials }),
    ssm: new SSMClient({ ...unreachable, credentials }),
  };
  const log = new BenchLog();
  const weiban = createWeiban({
    config,
    tableName: config.tableName,
    clients,
    label: 'poller',
    clock,
    fetch: fetchWeiban,
    shared: { budget: new MeteredBudget(meter), token: new MeteredTokenStore(meter) },
  });
  const service = createPollService({
    config,
    clients,
    log,
    clock,
    weiban,
    // No probe findings, the cautious modes, as a corp that never ran the probe; or findings
    // that prove the corp-wide listing and nothing else, so its figures show that mode alone.
    stores: {
      forms,
      ledger,
      publisher,
      findings: {
        load: () =>
          Promise.resolve(shape.corpWide === true ? corpWideFindings(formIds) : undefined),
      },
    },
  });

  const measureFrom = START_MS + shape.warmMinutes * MINUTE_MS;
  const measureTo = measureFrom + shape.measureMinutes * MINUTE_MS;
  // One more minute of ticks after the last submission, so every one of them is detected.
  const ticks = shape.warmMinutes + shape.measureMinutes + 1;
  const runEnd = START_MS + ticks * MINUTE_MS;

  // Submissions: each form's gaps are exponential with the mean given (seeded).
  const arrivals: { at: number; formId: number }[] = [];
  if (shape.meanGapMinutes !== undefined) {
    const meanMs = shape.meanGapMinutes * MINUTE_MS;
    for (const formId of formIds) {
      // From the second minute (the first creates the forms' state), so that which forms are
      // hot has settled by the time measuring starts.
      let at = START_MS + MINUTE_MS - Math.log(1 - random()) * meanMs;
      while (at < measureTo) {
        arrivals.push({ at: Math.floor(at), formId });
        at += -Math.log(1 - random()) * meanMs;
      }
    }
    arrivals.sort((a, b) => a.at - b.at || a.formId - b.formId);
  }
  const submitAtMs = new Map<string, number>();
  const submitting = (async () => {
    for (const arrival of arrivals) {
      await clock.sleep(arrival.at - clock.now());
      const row = simulator.submit(arrival.formId, { submit_at: Math.floor(arrival.at / 1000) });
      if (arrival.at >= measureFrom)
        submitAtMs.set(`${arrival.formId}:${row.u_id}`, row.submit_at * 1000);
    }
  })();

  const invocations: {
    invokedAt: number;
    endedAt: number;
    passes: number;
    logBytes: number;
    maxLag: number;
  }[] = [];
  const outcomes: Record<string, number> = {};
  const metricSpy = new MetricSpy();
  let simulatorReset = false;
  const ticking = (async () => {
    for (let tick = 0; tick < ticks; tick += 1) {
      const scheduledAt = START_MS + tick * MINUTE_MS;
      const [low, high] = START_DELAY_MS;
      const invokedAt = scheduledAt + Math.floor(low + random() * (high - low));
      await clock.sleep(invokedAt - clock.now());
      if (!simulatorReset && invokedAt >= measureFrom) {
        simulator.resetStats();
        simulatorReset = true;
      }
      const deadline = invokedAt + TIMEOUT_MS;
      const report = await service.run({
        runId: `run-${tick}`,
        remainingMs: () => Math.max(0, deadline - clock.now()),
        scheduledAt,
      });
      const endedAt = clock.now();
      recordRun(metricSpy.sink(), report.summary, report.weiban, endedAt);
      const nowS = Math.floor(endedAt / 1000);
      const lines = formLines(report.summary, report.weiban, endedAt);
      const logBytes =
        LOG_PER_INVOCATION_BYTES +
        (lines.length + 2) * LOG_LINE_ENVELOPE_BYTES +
        lines.reduce((sum, line) => sum + JSON.stringify(line).length, 0);
      const lags = report.summary.forms.flatMap((form) =>
        form.cursor === null ? [] : [nowS - form.cursor],
      );
      if (invokedAt >= measureFrom && invokedAt < measureTo) {
        for (const form of report.summary.forms) {
          outcomes[form.outcome] = (outcomes[form.outcome] ?? 0) + 1;
        }
        invocations.push({
          invokedAt,
          endedAt,
          passes: report.summary.passes ?? 1,
          logBytes,
          maxLag: Math.max(0, ...lags),
        });
      }
    }
  })();

  await clock.runUntil(runEnd + MINUTE_MS);
  await Promise.all([submitting, ticking]);
  if (clock.pending > 0) {
    // Something still sleeps: a run that never ended would make every figure wrong.
    const stuck = invocations.length;
    throw new Error(`the simulated corp did not come to rest (${stuck} invocations measured)`);
  }

  const stats = simulator.stats();
  const latencies: number[] = [];
  let undetected = 0;
  for (const [key, submitAt] of submitAtMs) {
    const at = publisher.publishedAt.get(key);
    if (at === undefined) undetected += 1;
    else latencies.push(at - submitAt);
  }

  const minutes = shape.measureMinutes;
  const measured = requestTimes.filter(({ at }) => at >= measureFrom && at < measureTo);
  const byPartPerMinute: Record<string, number> = {};
  for (const { part } of measured) byPartPerMinute[part] = (byPartPerMinute[part] ?? 0) + 1;
  for (const part of Object.keys(byPartPerMinute)) {
    byPartPerMinute[part] = (byPartPerMinute[part] ?? 0) / minutes;
  }
  const perPass = passBuckets(invocations, measured, shape.intervalSeconds * 1000);

  const gaps: number[] = [];
  for (const formId of formIds) {
    const times = (firstPages.get(formId) ?? []).filter((at) => at < measureTo);
    let previous = times.filter((at) => at < measureFrom).at(-1) ?? START_MS;
    for (const at of times.filter((t) => t >= measureFrom)) {
      gaps.push(at - previous);
      previous = at;
    }
    // The gap still open when measuring stops: a form never polled again shows here.
    gaps.push(measureTo - previous);
  }

  const totalUnits = { rru: 0, wru: 0 };
  // Units are counted as a whole; spread them over the measured minutes by request share.
  const share = meter.requests === 0 ? 0 : measured.length / meter.requests;
  totalUnits.rru = meter.rru * share;
  totalUnits.wru = meter.wru * share;
  const endS = Math.floor(clock.now() / 1000);
  const storedAges = formIds.map((formId) => endS - (forms.states.get(formId)?.cursor ?? 0));

  return {
    shape,
    latencyMs: spread(latencies),
    undetected,
    listPerMinute: listCalls.filter((at) => at >= measureFrom && at < measureTo).length / minutes,
    peakListMinute: stats.peakPerMinute.list,
    weibanErrors: stats.errors,
    dynamo: {
      requestsPerMinute: measured.length / minutes,
      rruPerMinute: totalUnits.rru / minutes,
      wruPerMinute: totalUnits.wru / minutes,
      byPartPerMinute,
      formPerPass: perPass.form,
      formPerIdlePass: perPass.idle,
      budgetPerPass: perPass.budget,
    },
    snsPerMinute:
      publisher.callTimes
        .filter(({ at }) => at >= measureFrom && at < measureTo)
        .reduce((sum, { calls }) => sum + calls, 0) / minutes,
    passesPerInvocation: mean(invocations.map((inv) => inv.passes)),
    billedMsPerInvocation: mean(invocations.map((inv) => Math.ceil(inv.endedAt - inv.invokedAt))),
    logBytesPerMinute: mean(invocations.map((inv) => inv.logBytes)),
    pollGapMs: spread(gaps),
    maxLagSeconds: Math.max(0, ...invocations.map((inv) => inv.maxLag)),
    maxStoredCursorAgeSeconds: Math.max(0, ...storedAges),
    outcomes,
    metrics: metricSpy.names(),
    logProblems: log.problems.length,
    wallMs: performance.now() - wallStart,
  };
}

/**
 * DynamoDB requests per pass. Passes start exactly one interval apart from the invocation's
 * start, so a request belongs to the pass whose slot it falls in; what an invocation sends
 * after its last pass belongs to that pass.
 */
function passBuckets(
  invocations: readonly { invokedAt: number; endedAt: number; passes: number }[],
  requests: readonly { at: number; part: string }[],
  intervalMs: number,
): {
  form: { mean: number; max: number };
  budget: { mean: number; max: number };
  idle: { mean: number; max: number; passes: number };
} {
  const counts = { form: [] as number[], budget: [] as number[], idle: [] as number[] };
  let index = 0;
  const sorted = [...requests].sort((a, b) => a.at - b.at);
  for (const invocation of invocations) {
    const form = new Array<number>(invocation.passes).fill(0);
    const budget = new Array<number>(invocation.passes).fill(0);
    const busy = new Array<boolean>(invocation.passes).fill(false);
    while (index < sorted.length && (sorted[index]?.at ?? 0) < invocation.invokedAt) index += 1;
    while (index < sorted.length && (sorted[index]?.at ?? 0) <= invocation.endedAt) {
      const request = sorted[index];
      index += 1;
      if (request === undefined) continue;
      const pass = Math.min(
        invocation.passes - 1,
        Math.floor((request.at - invocation.invokedAt) / intervalMs),
      );
      if (request.part === 'ledger') busy[pass] = true;
      if (request.part === 'budget') budget[pass] = (budget[pass] ?? 0) + 1;
      else if (request.part !== 'token') form[pass] = (form[pass] ?? 0) + 1;
    }
    counts.form.push(...form);
    counts.budget.push(...budget);
    counts.idle.push(...form.filter((_, pass) => busy[pass] !== true));
  }
  const summary = (values: number[]) => ({ mean: mean(values), max: Math.max(0, ...values) });
  return {
    form: summary(counts.form),
    budget: summary(counts.budget),
    idle: { ...summary(counts.idle), passes: counts.idle.length },
  };
}

export function spread(values: readonly number[]): Spread {
  const sorted = [...values].sort((a, b) => a - b);
  const rank = (p: number) => sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)] ?? 0;
  return { count: sorted.length, p50: rank(0.5), p95: rank(0.95), max: sorted.at(-1) ?? 0 };
}

const mean = (values: readonly number[]): number =>
  values.length === 0 ? 0 : values.reduce((sum, value) => sum + value, 0) / values.length;

/** What `weiban-forms probe --save` stores for a Weiban whose only proven fact is `form_id` optional. */
function corpWideFindings(formIds: readonly number[]): WeibanFindings {
  const unasked = {
    claim: 'not asked by the benchmark',
    verdict: 'undetermined' as const,
    summary: 'the benchmark measures the corp-wide listing alone',
    evidence: [],
  };
  return {
    version: 1,
    corpId: 'sim-corp',
    formId: formIds[0] ?? 1,
    learnedAt: START_MS,
    baseUrl: 'http://weiban.invalid',
    calls: 0,
    maxCalls: 30,
    order: unasked,
    timeFilter: unasked,
    startInclusive: unasked,
    endInclusive: unasked,
    largestLimit: { ...unasked, searchedUpTo: 1000 },
    formIdOptional: {
      claim: 'form_id is optional: without it Weiban lists every form of the corp',
      verdict: 'confirmed',
      summary: 'the simulator lists every form without form_id',
      evidence: [],
      formsSeen: formIds.slice(0, 2),
      documentedFields: true,
      windowOnSubmitAt: 'confirmed',
      windowInclusive: 'confirmed',
    },
    expiresIn: unasked,
    tokenLifetime: unasked,
    newTokenEndsOld: unasked,
  };
}
