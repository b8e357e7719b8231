import { HARD_MAX_PER_MINUTE } from '../lib/config.js';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { availableParallelism, cpus, loadavg, totalmem } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { format, resolveConfig } from 'prettier';
import { startDynamoDbLocal, startMoto, type Service } from '../dev/emulators.js';
import type { Endpoints } from './deployment.js';
import {
  chartSvg,
  markdownSection,
  measurementRows,
  targetRows,
  textTable,
  type Machine,
  type Results,
} from './report.js';
import { burst, type BurstResult } from './scenarios/burst.js';
import { coldStart, type ColdStartResult } from './scenarios/cold-start.js';
import { drain, type DrainResult } from './scenarios/drain.js';
import { idleTicks, type IdleResult } from './scenarios/idle.js';
import { webhooks, type WebhooksResult } from './scenarios/webhooks.js';
import { evaluate } from './targets.js';
import {
  detectionMarkdown,
  detectionText,
  RECOMMENDED_INTERVAL,
  type DetectionResults,
} from './detection-report.js';
import { detection } from './scenarios/detection.js';
import { scale } from './scenarios/scale.js';
import { inflight, type InflightResults } from './scenarios/inflight.js';
import { inflightMarkdown, inflightText } from './inflight-report.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const RESULTS_JSON = join(ROOT, 'bench', 'results.json');
const CHART_SVG = join(ROOT, 'bench', 'chart.svg');
const DETECTION_JSON = join(ROOT, 'bench', 'detection.json');
const INFLIGHT_JSON = join(ROOT, 'bench', 'inflight.json');
const DOC = join(ROOT, 'docs', 'benchmark.md');
const SCENARIOS = [
  'idle',
  'lookback',
  'burst',
  'drain',
  'cold',
  'detection',
  'scale',
  'webhooks',
  'inflight',
] as const;
/** The seed of the detection and scale scenarios' random input, unless --seed says otherwise. */
const DEFAULT_SEED = 20_261_201;
type Scenario = (typeof SCENARIOS)[number];

const START_MARK = '<!-- bench:results:start -->';
const END_MARK = '<!-- bench:results:end -->';
const DETECTION_START = '<!-- bench:detection:start -->';
const DETECTION_END = '<!-- bench:detection:end -->';
const INFLIGHT_START = '<!-- bench:inflight:start -->';
const INFLIGHT_END = '<!-- bench:inflight:end -->';

/** Runs the chosen scenarios; returns the process exit code. */
export async function main(args: readonly string[]): Promise<number> {
  if (args.includes('--report-only')) {
    await writeOutputs(JSON.parse(await readFile(RESULTS_JSON, 'utf8')) as Results);
    await writeDetection(JSON.parse(await readFile(DETECTION_JSON, 'utf8')) as DetectionResults);
    await writeInflight(JSON.parse(await readFile(INFLIGHT_JSON, 'utf8')) as InflightResults);
    return 0;
  }
  const only = option(args, 'only')?.split(',') ?? [...SCENARIOS];
  const unknown = only.filter((name) => !SCENARIOS.includes(name as Scenario));
  if (unknown.length > 0) {
    console.error(
      `unknown scenario(s): ${unknown.join(', ')}; choose from ${SCENARIOS.join(', ')}`,
    );
    return 2;
  }
  const chosen = new Set(only as Scenario[]);
  const clockScale = Number(option(args, 'scale') ?? 4);
  const seed = Number(option(args, 'seed') ?? DEFAULT_SEED);
  const started = performance.now();
  const loadAverageBefore = loadavg();
  const progress = (text: string) => {
    process.stderr.write(`bench: ${text}\n`);
  };

  const measured: {
    idle?: IdleResult[];
    idleLookback?: IdleResult[];
    burst?: BurstResult;
    drain?: DrainResult;
    drainAtLimit?: DrainResult;
    coldStart?: ColdStartResult;
    webhooks?: WebhooksResult;
  } = {};
  const needsEmulators = ['idle', 'lookback', 'burst', 'drain', 'webhooks'].some((name) =>
    chosen.has(name as Scenario),
  );
  const services: Service[] = [];
  try {
    if (needsEmulators) {
      progress('starting DynamoDB Local and moto');
      const [dynamo, moto] = await Promise.all([startDynamoDbLocal(), startMoto()]);
      services.push(dynamo, moto);
      const endpoints: Endpoints = { dynamo: dynamo.endpoint, moto: moto.endpoint };
      if (chosen.has('idle')) {
        measured.idle = [];
        for (const forms of [1, 10, 100]) {
          progress(`idle tick, ${forms} form(s)`);
          measured.idle.push(await idleTicks(endpoints, forms));
        }
      }
      if (chosen.has('lookback')) {
        measured.idleLookback = [];
        for (const forms of [1, 10, 100]) {
          progress(`idle tick with seen rows in the lookback, ${forms} form(s)`);
          measured.idleLookback.push(await idleTicks(endpoints, forms, 5));
        }
      }
      if (chosen.has('burst')) {
        progress('burst: 10,000 submitters over 20 forms');
        measured.burst = await burst(endpoints, { forms: 20, perForm: 500, latencyMs: 80 });
      }
      if (chosen.has('drain')) {
        progress(`backlog drain under the rate limit (clock ×${clockScale})`);
        const shape = {
          minutes: 5,
          scale: clockScale,
          forms: 8,
          pageSize: 10,
          latencyMs: 80,
          containerEvery: 2,
        };
        measured.drain = await drain(endpoints, shape);
        progress(
          `backlog drain with WEIBAN_MAX_PER_MINUTE at its hard maximum, ${HARD_MAX_PER_MINUTE}`,
        );
        measured.drainAtLimit = await drain(endpoints, {
          ...shape,
          minutes: 4,
          budget: HARD_MAX_PER_MINUTE,
        });
      }
      if (chosen.has('webhooks')) {
        progress('webhooks: a standard endpoint, publish-to-delivery latency, a WeCom burst');
        measured.webhooks = await webhooks(endpoints);
      }
    }
    if (chosen.has('cold')) {
      progress('cold start: npm run package, then require() the bundle');
      measured.coldStart = await coldStart(ROOT);
    }
  } finally {
    await Promise.all(services.map((service) => service.stop()));
  }
  const eventClockScenarios: readonly Scenario[] = ['detection', 'scale', 'inflight'];
  const emulatorScenarios = SCENARIOS.filter((name) => !eventClockScenarios.includes(name));
  if (chosen.has('detection') || chosen.has('scale')) {
    await detectionAndScale(chosen, seed, progress);
  }
  if (chosen.has('inflight')) {
    const results = await inflight(progress);
    console.log(inflightText(results));
    console.log('');
    await writeFile(INFLIGHT_JSON, `${JSON.stringify(results, null, 2)}\n`);
    await writeInflight(results);
  }
  if (!emulatorScenarios.some((name) => chosen.has(name))) return 0;

  const results: Results = {
    date: new Date().toISOString(),
    machine: machine(loadAverageBefore),
    durationS: (performance.now() - started) / 1000,
    ...measured,
    targets: evaluate(measured),
  };
  console.log(textTable(['status', 'target', 'measured'], targetRows(results.targets)));
  console.log('');
  console.log(textTable(['scenario', 'measure', 'value'], measurementRows(results)));

  if (emulatorScenarios.every((name) => chosen.has(name))) {
    await writeFile(RESULTS_JSON, `${JSON.stringify(results, null, 2)}\n`);
    await writeOutputs(results);
  } else {
    progress(
      'a partial run: bench/results.json, the chart and docs/benchmark.md are left as they were',
    );
  }
  return 0;
}

/**
 * Detection latency and cost (F × POLL_INTERVAL_SECONDS) and scale (F up to 5,000), on the event
 * clock: no emulator, the same figures every run for one seed. With both, writes
 * bench/detection.json and its section of docs/benchmark.md.
 */
async function detectionAndScale(
  chosen: ReadonlySet<Scenario>,
  seed: number,
  progress: (text: string) => void,
): Promise<void> {
  progress(`detection and scale: seed ${seed}`);
  const started = performance.now();
  const measured = {
    ...(chosen.has('detection') && { detection: await detection(seed, progress) }),
    ...(chosen.has('scale') && { scale: await scale(seed, RECOMMENDED_INTERVAL, progress) }),
  };
  if (measured.detection === undefined || measured.scale === undefined) {
    console.log(JSON.stringify(measured, null, 2));
    progress(
      'run detection and scale together for the tables; bench/detection.json is left as it was',
    );
    return;
  }
  const results: DetectionResults = {
    date: new Date().toISOString(),
    durationS: (performance.now() - started) / 1000,
    detection: measured.detection,
    scale: measured.scale,
  };
  console.log(detectionText(results));
  console.log('');
  await writeFile(DETECTION_JSON, `${JSON.stringify(results, null, 2)}\n`);
  await writeDetection(results);
}

async function writeDetection(results: DetectionResults): Promise<void> {
  await replaceSection(DETECTION_START, DETECTION_END, detectionMarkdown(results));
  process.stderr.write(
    `bench: wrote ${[DETECTION_JSON, DOC].map((p) => relative(ROOT, p)).join(', ')}\n`,
  );
}

async function writeInflight(results: InflightResults): Promise<void> {
  await replaceSection(INFLIGHT_START, INFLIGHT_END, inflightMarkdown(results));
  process.stderr.write(
    `bench: wrote ${[INFLIGHT_JSON, DOC].map((p) => relative(ROOT, p)).join(', ')}\n`,
  );
}

/** The chart and the results section of docs/benchmark.md, drawn from `results`. */
async function writeOutputs(results: Results): Promise<void> {
  await writeFile(CHART_SVG, chartSvg(results));
  await writeDoc(results);
  const written = [RESULTS_JSON, CHART_SVG, DOC].map((path) => relative(ROOT, path));
  process.stderr.write(`bench: wrote ${written.join(', ')}\n`);
}

function option(args: readonly string[], name: string): string | undefined {
  const prefix = `--${name}=`;
  return args.find((arg) => arg.startsWith(prefix))?.slice(prefix.length);
}

function machine(loadAverageBefore: readonly number[]): Machine {
  return {
    node: process.version,
    cpus: availableParallelism(),
    cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
    memoryGb: totalmem() / 1024 ** 3,
    loadAverageBefore,
    loadAverageAfter: loadavg(),
  };
}

/** Replaces the generated section of docs/benchmark.md, keeping the prose around it. */
async function writeDoc(results: Results): Promise<void> {
  const chart = relative(dirname(DOC), CHART_SVG);
  await replaceSection(START_MARK, END_MARK, markdownSection(results, chart));
}

/** Puts `body` between the two marks in docs/benchmark.md (appended when they are missing). */
async function replaceSection(start: string, end: string, body: string): Promise<void> {
  const section = `${start}\n\n${body}\n\n${end}`;
  const existing = await readFile(DOC, 'utf8').catch(() => undefined);
  let text: string;
  if (existing?.includes(start) && existing.includes(end)) {
    const before = existing.slice(0, existing.indexOf(start));
    const after = existing.slice(existing.indexOf(end) + end.length);
    text = `${before}${section}${after}`;
  } else {
    text = `${existing ?? '# Benchmark\n'}\n${section}\n`;
  }
  await mkdir(dirname(DOC), { recursive: true });
  const config = await resolveConfig(DOC);
  await writeFile(DOC, await format(text, { ...config, filepath: DOC }));
}
