import { markdownTable, textTable, type Row } from './report.js';
import type { InflightResult, InflightResults } from './scenarios/inflight.js';

const HEADER: Row = [
  'latency',
  'backlog',
  'processes',
  'drain',
  'measured',
  'list calls/s',
  'submitters/s',
  'bound/s',
  'achieved/bound',
  'cost',
  'corp max in flight',
  '10052 / 10053',
  'hand-overs',
  'longest idle (poller · backfill)',
];

const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

function who(result: InflightResult): string {
  const backfill = result.case.backfill;
  return backfill === undefined
    ? 'poller alone'
    : `poller + backfill (${backfill.maxInFlight} in flight, ${backfill.maxPerMinute}/min)`;
}

function row(result: InflightResult): Row {
  const { case: shape } = result;
  const stall = result.processes.map((share) => seconds(share.longestGapMs)).join(' · ');
  return [
    `${shape.latencyMs} ms`,
    `${shape.forms} × ${shape.perForm.toLocaleString('en-US')}`,
    who(result),
    seconds(result.drainMs),
    seconds(result.spanMs),
    result.requestsPerSecond.toFixed(2),
    Math.round(result.submittersPerSecond).toLocaleString('en-US'),
    `${result.boundPerSecond.toFixed(2)} (${result.boundBy})`,
    result.ratio.toFixed(3),
    `${((1 - result.ratio) * 100).toFixed(1)} %`,
    String(result.corpMaxInFlight),
    `${result.errors10052} / ${result.errors10053}`,
    String(result.handovers),
    stall,
  ];
}

/** The scenario's table for the terminal. */
export function inflightText(results: InflightResults): string {
  return [
    `inflight: the corp's budget shared through its record; ${results.durationS.toFixed(0)} s of wall time`,
    textTable(HEADER, results.cases.map(row)),
  ].join('\n');
}

/** The generated part of docs/benchmark.md for the scenario. */
export function inflightMarkdown(results: InflightResults): string {
  return [
    `- Date: ${results.date.slice(0, 16).replace('T', ' ')} UTC; ${results.durationS.toFixed(0)} s of wall time; no random input (the simulator's sample values: seed 9)`,
    '- Command: `npm run bench -- --only=inflight`',
    '',
    markdownTable(HEADER, results.cases.map(row)),
  ].join('\n');
}
