import { randomUUID } from 'node:crypto';
import { VirtualClock } from '../../dev/virtual-clock.js';
import { poll } from '../../lib/poll/poll.js';
import { PollSchedule } from '../../lib/poll/schedule.js';
import {
  MemoryFormStateStore,
  MemoryLedger,
  MemoryPublisher,
} from '../../test/support/memory-stores.js';
import { Deployment, LAMBDA_TIMEOUT_MS, type Endpoints } from '../deployment.js';
import { withMemoryPeak } from '../memory.js';

const MINUTE_MS = 60_000;
const MAX_INVOCATIONS = 10;

export interface BurstShape {
  readonly forms: number;
  readonly perForm: number;
  readonly latencyMs: number;
}

export interface BurstRun {
  readonly label: string;
  readonly invocations: number;
  readonly wallMs: number;
  readonly submittersPerSecond: number;
  readonly published: number;
  readonly uniqueEvents: number;
  readonly weibanCalls: number;
  readonly weibanByEndpoint: Record<string, number>;
  readonly dynamoRequests: number;
  readonly dynamoByCommand: Record<string, number>;
  readonly snsRequests: number;
  readonly peakRssMb: number;
  readonly peakHeapUsedMb: number;
  readonly baselineRssMb: number;
  readonly outcomes: readonly Record<string, number>[];
}

export interface BurstResult {
  readonly submitters: number;
  readonly forms: number;
  readonly pageSize: number;
  readonly latencyMs: number;
  /** The real handler against DynamoDB Local, moto and the simulator. */
  readonly full: BurstRun;
  /** `poll()` with in-memory stores and publisher: what the service does when AWS costs nothing. */
  readonly inMemory: readonly BurstRun[];
}

/** Rows arrive within one minute after the forms' cursors: every one of them is new. */
function submitBurst(deployment: Deployment, formIds: readonly number[], perForm: number): void {
  deployment.clock.advance(MINUTE_MS / 2);
  const nowS = Math.floor(deployment.clock.now() / 1000);
  for (const formId of formIds) {
    deployment.simulator.submitMany(formId, perForm, (index) => ({
      submit_at: nowS - 25 + (index % 25),
    }));
  }
  deployment.clock.advance(MINUTE_MS / 2);
}

/**
 * Burst: `forms × perForm` new submitters at once. The real handler runs back to back (each
 * invocation with the function's 60 s timeout) until every form is done, on a warm container.
 */
export async function burst(endpoints: Endpoints, shape: BurstShape): Promise<BurstResult> {
  const formIds = Array.from({ length: shape.forms }, (_, index) => 2001 + index);
  const full = await fullPath(endpoints, formIds, shape);
  const inMemory = [
    await inMemoryPath(endpoints, formIds, shape, shape.latencyMs),
    await inMemoryPath(endpoints, formIds, shape, 0),
  ];
  return {
    submitters: shape.forms * shape.perForm,
    forms: shape.forms,
    pageSize: full.pageSize,
    latencyMs: shape.latencyMs,
    full: full.run,
    inMemory,
  };
}

async function fullPath(
  endpoints: Endpoints,
  formIds: readonly number[],
  shape: BurstShape,
): Promise<{ pageSize: number; run: BurstRun }> {
  const deployment = await Deployment.create({
    endpoints,
    formIds,
    env: { START_FROM: 'now' },
    simulator: { latencyMs: shape.latencyMs },
    clock: new VirtualClock(),
  });
  try {
    const { invoke, weiban } = deployment.container();
    await invoke();
    await weiban.tokens.get();
    submitBurst(deployment, formIds, shape.perForm);
    const expected = formIds.length * shape.perForm;
    deployment.resetCounts();
    const outcomes: Record<string, number>[] = [];
    let published = 0;
    const started = performance.now();
    const measured = await withMemoryPeak(async () => {
      while (outcomes.length < MAX_INVOCATIONS) {
        const summary = await invoke();
        published += summary.totals.published;
        const counts: Record<string, number> = {};
        for (const form of summary.forms) counts[form.outcome] = (counts[form.outcome] ?? 0) + 1;
        outcomes.push(counts);
        if ((counts.ok ?? 0) === formIds.length) return;
      }
    });
    const wallMs = performance.now() - started;
    const stats = deployment.simulator.stats();
    const ids = deployment.snsRequests.publishedIds;
    if (published !== expected || new Set(ids).size !== expected || ids.length !== expected) {
      throw new Error(
        `burst published ${published} (${new Set(ids).size} unique of ${ids.length}), expected ${expected}`,
      );
    }
    return {
      pageSize: deployment.config.pageSize,
      run: {
        label: 'handler · DynamoDB Local + moto + simulator',
        invocations: outcomes.length,
        wallMs,
        submittersPerSecond: (expected / wallMs) * 1000,
        published,
        uniqueEvents: new Set(ids).size,
        weibanCalls: Object.values(stats.requests).reduce((sum, count) => sum + count, 0),
        weibanByEndpoint: nonZero(stats.requests),
        dynamoRequests: deployment.dynamoRequests.total(),
        dynamoByCommand: deployment.dynamoRequests.byCommand(),
        snsRequests: deployment.snsRequests.total(),
        peakRssMb: measured.peakRssMb,
        peakHeapUsedMb: measured.peakHeapUsedMb,
        baselineRssMb: measured.baselineRssMb,
        outcomes,
      },
    };
  } finally {
    await deployment.close();
  }
}

/**
 * The same burst through `poll()` with the real Weiban client (limiter, token, simulator over
 * HTTP) but in-memory form state, ledger and publisher from test/support: the service's own
 * throughput once DynamoDB and SNS cost nothing.
 */
async function inMemoryPath(
  endpoints: Endpoints,
  formIds: readonly number[],
  shape: BurstShape,
  latencyMs: number,
): Promise<BurstRun> {
  const deployment = await Deployment.create({
    endpoints,
    formIds,
    simulator: { latencyMs },
    clock: new VirtualClock(),
  });
  try {
    const { weiban } = deployment.container();
    await weiban.tokens.get();
    const forms = new MemoryFormStateStore();
    const cursor = Math.floor(deployment.clock.now() / 1000);
    for (const formId of formIds) {
      forms.states.set(formId, { formId, version: 1, cursor, origin: cursor, startMode: 'now' });
    }
    submitBurst(deployment, formIds, shape.perForm);
    const ledger = new MemoryLedger();
    const publisher = new MemoryPublisher();
    deployment.resetCounts();
    const expected = formIds.length * shape.perForm;
    const started = performance.now();
    const measured = await withMemoryPeak(() =>
      poll(
        {
          settings: {
            ...deployment.config,
            pace: { minMs: 0, perMinute: deployment.config.maxPerMinute },
          },
          weiban: weiban.client,
          forms,
          ledger,
          publisher,
          clock: deployment.clock,
          log: deployment.log,
          schedule: new PollSchedule(),
        },
        { runId: randomUUID(), remainingMs: () => LAMBDA_TIMEOUT_MS },
      ),
    );
    const wallMs = performance.now() - started;
    const summary = measured.result;
    const ids = publisher.ids();
    if (summary.totals.published !== expected || new Set(ids).size !== expected) {
      throw new Error(`in-memory burst published ${summary.totals.published} of ${expected}`);
    }
    const stats = deployment.simulator.stats();
    const outcomes: Record<string, number> = {};
    for (const form of summary.forms) outcomes[form.outcome] = (outcomes[form.outcome] ?? 0) + 1;
    return {
      label: `poll() · in-memory stores · simulator ${latencyMs} ms`,
      invocations: 1,
      wallMs,
      submittersPerSecond: (expected / wallMs) * 1000,
      published: summary.totals.published,
      uniqueEvents: new Set(ids).size,
      weibanCalls: Object.values(stats.requests).reduce((sum, count) => sum + count, 0),
      weibanByEndpoint: nonZero(stats.requests),
      dynamoRequests: forms.requests + ledger.requests,
      dynamoByCommand: {
        'form state (in memory)': forms.requests,
        'ledger (in memory)': ledger.requests,
      },
      snsRequests: publisher.calls,
      peakRssMb: measured.peakRssMb,
      peakHeapUsedMb: measured.peakHeapUsedMb,
      baselineRssMb: measured.baselineRssMb,
      outcomes: [outcomes],
    };
  } finally {
    await deployment.close();
  }
}

const nonZero = (counts: Record<string, number>): Record<string, number> =>
  Object.fromEntries(Object.entries(counts).filter(([, count]) => count > 0));
