import { corpWideFits } from '../lib/poll/cadence.js';
import type { CorpResult } from './corp-model.js';
import { alarmCount, LAMBDA_MEMORY_GB, monthlyCost, PRICES, type MonthlyCost } from './costs.js';
import { markdownTable, textTable } from './report.js';
import { BUDGET_PER_MINUTE, meanGapMinutes, type DetectionResult } from './scenarios/detection.js';
import type { ScaleResult } from './scenarios/scale.js';
import { fixed, whole } from './targets.js';

export interface DetectionResults {
  readonly date: string;
  readonly durationS: number;
  readonly detection: DetectionResult;
  readonly scale: ScaleResult;
}

/** The default the tables recommend, and what the goal rows are judged at. */
export const RECOMMENDED_INTERVAL = 4;
/** "A few dollars a month", as a figure. */
export const FEW_DOLLARS = 5;
/** The stack the CloudWatch figure is for: an alarm email and one SQS subscription. */
const ALARMS = alarmCount({ alarmEmail: true, subscriptions: 1, webhooks: 0 });

type Row = readonly string[];

const seconds = (ms: number): string => fixed(ms / 1000, 1);
const dollars = (value: number): string => `$${fixed(value, 2)}`;
const free = (peak: number): number => (1 - peak / BUDGET_PER_MINUTE) * 100;

export function cost(cell: CorpResult, memoryGb = LAMBDA_MEMORY_GB): MonthlyCost {
  return monthlyCost({
    billedMs: cell.billedMsPerInvocation,
    readUnits: cell.dynamo.rruPerMinute,
    writeUnits: cell.dynamo.wruPerMinute,
    snsRequests: cell.snsPerMinute,
    logBytes: cell.logBytesPerMinute,
    customMetrics: cell.metrics.length,
    alarms: ALARMS,
    memoryGb,
  });
}

const DETECTION_HEADER: Row = [
  'F',
  'interval s',
  'p50 s',
  'p95 s',
  'max s',
  'samples',
  'list calls/min (mean · peak)',
  'budget free',
  'DynamoDB req/min (RRU · WRU)',
  'billed s/invocation',
  'Lambda',
  'DynamoDB',
  'SNS',
  'CloudWatch + logs',
  'total/month',
];

function detectionRow(cell: CorpResult): Row {
  const c = cost(cell);
  return [
    cell.shape.corpWide === true ? `${cell.shape.forms}, corp-wide` : String(cell.shape.forms),
    String(cell.shape.intervalSeconds),
    seconds(cell.latencyMs.p50),
    seconds(cell.latencyMs.p95),
    seconds(cell.latencyMs.max),
    cell.undetected > 0
      ? `${cell.latencyMs.count} (${cell.undetected} never)`
      : String(cell.latencyMs.count),
    `${whole(cell.listPerMinute)} · ${cell.peakListMinute}`,
    `${fixed(free(cell.peakListMinute), 0)} %`,
    `${fixed(cell.dynamo.requestsPerMinute, 0)} (${whole(cell.dynamo.rruPerMinute)} · ${whole(cell.dynamo.wruPerMinute)})`,
    fixed(cell.billedMsPerInvocation / 1000, 1),
    dollars(c.lambda),
    dollars(c.dynamo),
    dollars(c.sns),
    dollars(c.cloudwatch + c.logs),
    dollars(c.total),
  ];
}

export const detectionRows = (cells: readonly CorpResult[]): Row[] => cells.map(detectionRow);

export interface GoalRow {
  readonly met: boolean;
  readonly goal: string;
  readonly measured: string;
}

/** The goals, judged at one interval, with the figure each stands on. */
export function goalRows(cells: readonly CorpResult[], interval: number, label = ''): GoalRow[] {
  const at = (forms: number) =>
    cells.find((cell) => cell.shape.forms === forms && cell.shape.intervalSeconds === interval);
  const rows: GoalRow[] = [];
  const suffix = `POLL_INTERVAL_SECONDS=${interval}${label}`;
  const p95Goal = (forms: readonly number[], limitS: number) => {
    const found = forms.flatMap((f) => {
      const cell = at(f);
      return cell === undefined ? [] : [cell];
    });
    if (found.length === 0) return;
    const worst = Math.max(...found.map((cell) => cell.latencyMs.p95));
    rows.push({
      met: worst <= limitS * 1000 && found.every((cell) => cell.undetected === 0),
      goal: `p95 ≤ ${limitS} s for F ≤ ${Math.max(...forms)}, ${suffix}`,
      measured: found
        .map((cell) => `F=${cell.shape.forms}: ${seconds(cell.latencyMs.p95)} s`)
        .join(', '),
    });
  };
  p95Goal([1, 10, 50], 15);
  p95Goal([1, 10], 5);
  const budgeted = [1, 10, 50].flatMap((f) => {
    const cell = at(f);
    return cell === undefined ? [] : [cell];
  });
  if (budgeted.length > 0) {
    const busiest = Math.max(...budgeted.map((cell) => cell.peakListMinute));
    rows.push({
      met: busiest <= BUDGET_PER_MINUTE * 0.8,
      goal: `≥ 20 % of the 500/min budget free for F ≤ 50, ${suffix}`,
      measured: `busiest rolling minute ${busiest} list calls: ${fixed(free(busiest), 1)} % free`,
    });
  }
  const ten = at(10);
  if (ten !== undefined) {
    const total = cost(ten).total;
    rows.push({
      met: total <= FEW_DOLLARS,
      goal: `a few dollars a month (≤ $${FEW_DOLLARS}) at F = 10, ${suffix}`,
      measured: `${dollars(total)} (Lambda ${dollars(cost(ten).lambda)}, CloudWatch ${dollars(cost(ten).cloudwatch)})`,
    });
  }
  return rows;
}

const goalTable = (rows: readonly GoalRow[]): Row[] =>
  rows.map((row) => [row.met ? 'met' : 'MISSED', row.goal, row.measured]);

const SCALE_HEADER: Row = [
  'F',
  'poll gap p50 · p95 · max',
  'ideal (budget at 80 %)',
  'lag metric max',
  'oldest stored cursor',
  'list calls/min (mean · peak)',
  'DynamoDB per idle pass (mean · max)',
  'bound ⌈F/100⌉ + 1',
  'budget item per pass (max)',
  'forms deferred (form-invocations)',
];

function minutes(ms: number): string {
  return ms >= 120_000 ? `${fixed(ms / 60_000, 1)} min` : `${fixed(ms / 1000, 0)} s`;
}

export function scaleRows(scale: ScaleResult): Row[] {
  return scale.cells.map((cell) => {
    const forms = cell.shape.forms;
    const corpWide = cell.shape.corpWide === true;
    const idle = cell.dynamo.formPerIdlePass;
    const bound = Math.ceil(forms / 100) + 1;
    const pace = { minMs: scale.intervalSeconds * 1000, perMinute: BUDGET_PER_MINUTE };
    const ideal =
      corpWide && corpWideFits({ forms, ownRuns: 0, listingPages: 1 }, pace)
        ? pace.minMs
        : Math.max(pace.minMs, (forms / (BUDGET_PER_MINUTE * 0.8)) * 60_000);
    const measuredOutcomes = Object.values(cell.outcomes).reduce((a, b) => a + b, 0);
    return [
      corpWide ? `${forms}, corp-wide` : String(forms),
      `${minutes(cell.pollGapMs.p50)} · ${minutes(cell.pollGapMs.p95)} · ${minutes(cell.pollGapMs.max)}`,
      minutes(ideal),
      minutes(cell.maxLagSeconds * 1000),
      minutes(cell.maxStoredCursorAgeSeconds * 1000),
      `${whole(cell.listPerMinute)} · ${cell.peakListMinute}`,
      `${fixed(idle.mean, 2)} · ${idle.max}${idle.max > bound ? ' (over)' : ''}`,
      String(bound),
      String(cell.dynamo.budgetPerPass.max),
      `${cell.outcomes.deferred ?? 0} of ${measuredOutcomes}`,
    ];
  });
}

export function cloudwatchRows(scale: ScaleResult): Row[] {
  return scale.cells.map((cell) => {
    const metrics = cell.metrics.length;
    const logs = cost(cell).logs;
    return [
      cell.shape.corpWide === true ? `${cell.shape.forms}, corp-wide` : String(cell.shape.forms),
      String(metrics),
      String(ALARMS),
      dollars(metrics * PRICES.customMetric + ALARMS * PRICES.alarm),
      dollars(logs),
    ];
  });
}

/** Everything for the terminal. */
export function detectionText(results: DetectionResults): string {
  const { detection, scale } = results;
  return [
    `detection and scale: seed ${detection.seed} (rerun with --seed=${detection.seed}); repeatable: ${detection.repeatable ? 'yes' : 'NO'}`,
    textTable(['status', 'goal', 'measured'], goalTable(allGoals(detection))),
    '',
    textTable(
      DETECTION_HEADER,
      detectionRows([...detection.cells, ...(detection.corpWideCells ?? [])]),
    ),
    '',
    textTable(SCALE_HEADER, scaleRows(scale)),
    '',
    textTable(
      ['F', 'custom metrics', 'alarms', 'CloudWatch/month', 'logs/month'],
      cloudwatchRows(scale),
    ),
  ].join('\n');
}

export function allGoals(detection: DetectionResult): GoalRow[] {
  return [
    ...goalRows(detection.cells, RECOMMENDED_INTERVAL),
    ...goalRows(detection.cells, 10),
    ...goalRows(detection.corpWideCells ?? [], RECOMMENDED_INTERVAL, ', corp-wide listing'),
  ];
}

/** The generated part of docs/benchmark.md for detection and scale. */
export function detectionMarkdown(results: DetectionResults): string {
  const { detection, scale } = results;
  const ten = detection.cells.find(
    (cell) => cell.shape.forms === 10 && cell.shape.intervalSeconds === RECOMMENDED_INTERVAL,
  );
  return [
    `- Date: ${results.date.slice(0, 16).replace('T', ' ')} UTC; ${fixed(results.durationS, 0)} s of wall time for every cell below`,
    `- Seed: ${detection.seed} (\`npm run bench -- --only=detection,scale --seed=${detection.seed}\`); the same cell run twice gave ${detection.repeatable ? 'the same figures' : 'DIFFERENT figures'}`,
    `- Submissions: Poisson, one every ${meanGapMinutes(50)} min per form for F ≥ 50 (F = 200: ${whole((200 / meanGapMinutes(200)) * 1440)} a day), 2 a minute over the corp for F ≤ 10`,
    `- Metrics the runs emitted (${ten?.metrics.length ?? 0}): ${(ten?.metrics ?? []).join(', ')}`,
    '',
    '### Goals',
    '',
    markdownTable(['status', 'goal', 'measured'], goalTable(allGoals(detection))),
    '',
    '### Detection latency, Weiban calls and monthly cost',
    '',
    'Latency: from `submit_at` (whole seconds) to the `PublishBatch` that carried the event, on the',
    'event clock. Budget free: the busiest rolling minute of `form/user/list` calls against',
    'WEIBAN_MAX_PER_MINUTE=500.',
    '',
    markdownTable(DETECTION_HEADER, detectionRows(detection.cells)),
    '',
    '### With the corp-wide listing',
    '',
    'The same corps when Weiban lists every form without `form_id` and the stored findings prove',
    'it, with no other mode proven (docs/guarantees.md#corp-wide): the passes between sweeps list',
    'every form with one call, a form with a new row gets a call of its own, and each form still',
    'sweeps its lookback with its own listing once a minute. Past about 350 forms those sweeps no',
    'longer fit the budget, and the forms are paced one by one (the scale table below).',
    '',
    markdownTable(DETECTION_HEADER, detectionRows(detection.corpWideCells ?? [])),
    '',
    `### Scale: idle forms at POLL_INTERVAL_SECONDS=${scale.intervalSeconds}`,
    '',
    markdownTable(SCALE_HEADER, scaleRows(scale)),
    '',
    '### CloudWatch a month, by form count',
    '',
    markdownTable(
      ['F', 'custom metrics', `alarms`, 'metrics + alarms', 'logs (estimated)'],
      cloudwatchRows(scale),
    ),
  ].join('\n');
}
