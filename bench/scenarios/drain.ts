import { VirtualClock } from '../../dev/virtual-clock.js';
import { PollFailedError } from '../../lib/handler.js';
import type { RunSummary } from '../../lib/model.js';
import { Deployment, type Endpoints } from '../deployment.js';

const MINUTE_MS = 60_000;
const LIST_PATH = '/open-api/smart_form/form/user/list';

export interface DrainOptions {
  /** Virtual minutes measured: the backlog is sized to outlast them. */
  readonly minutes: number;
  /** VirtualClock scale shared by the service and the simulator. */
  readonly scale: number;
  readonly forms: number;
  /** PAGE_SIZE: Weiban's largest `limit` is unknown; the doc's example is 10. */
  readonly pageSize: number;
  readonly latencyMs: number;
  /** A fresh container (new process: limiter, token cache, rate ledger restore) every n ticks. */
  readonly containerEvery: number;
  /** WEIBAN_MAX_PER_MINUTE; the configuration's default (500) when absent. */
  readonly budget?: number;
}

export interface DrainMinute {
  readonly minute: number;
  readonly container: string;
  readonly listCalls: number;
  readonly outcomes: Record<string, number>;
  readonly published: number;
}

export interface DrainResult {
  readonly options: DrainOptions;
  readonly budgetPerMinute: number;
  readonly weibanLimitPerMinute: number;
  readonly backlogRows: number;
  readonly minutes: readonly DrainMinute[];
  /** Minutes that ended with backlog left: the ones the rate is measured over. */
  readonly measuredMinutes: number;
  readonly achievedPerMinute: number;
  readonly achievedPercent: number;
  /** Most list calls the service sent in any rolling 60 s, all containers together. */
  readonly peakRollingClient: number;
  /** The same, as the simulator counted arrivals. */
  readonly peakRollingServer: number;
  readonly maxInFlight: number;
  readonly errors10052: number;
  readonly errors10053: number;
  readonly otherErrors: Record<string, number>;
  readonly containers: number;
  readonly published: number;
  readonly wallMs: number;
  /** Warnings and errors the service logged. */
  readonly logProblems: number;
  /** Rolling-60 s list calls, sampled every 5 virtual seconds from the first tick. */
  readonly timeline: readonly { readonly second: number; readonly rolling: number }[];
}

/**
 * Backlog drain under the rate limit: forms start from a day ago with more rows than the
 * budget can read in `minutes`. The handler runs on the schedule (one invocation per virtual
 * minute, the function's timeout each), with a fresh container every `containerEvery` ticks,
 * so a cold process has to pace itself against what the last one sent (lib/rate-sync.ts).
 */
export async function drain(endpoints: Endpoints, options: DrainOptions): Promise<DrainResult> {
  const clock = new VirtualClock({ scale: options.scale });
  const formIds = Array.from({ length: options.forms }, (_, index) => 3001 + index);
  const dayAgoS = Math.floor(clock.now() / 1000) - 86_400;
  const deployment = await Deployment.create({
    endpoints,
    formIds,
    clock,
    env: {
      START_FROM: String(dayAgoS),
      PAGE_SIZE: String(options.pageSize),
      ...(options.budget !== undefined && { WEIBAN_MAX_PER_MINUTE: String(options.budget) }),
    },
    // Weiban's real limits: < 5 in flight, 600 per endpoint per minute, 60 s block.
    simulator: { latencyMs: options.latencyMs, maxInFlight: 4, perMinute: 600 },
  });
  try {
    const budget = deployment.config.maxPerMinute;
    // Enough pages to outlast the measured minutes, with a margin.
    const pages = Math.ceil(budget * (options.minutes + 1) * 1.1);
    const perForm = Math.ceil((pages * options.pageSize) / options.forms);
    const nowS = Math.floor(clock.now() / 1000);
    for (const formId of formIds) {
      deployment.simulator.submitMany(formId, perForm, (index) => ({
        submit_at: dayAgoS + 1 + Math.floor(((nowS - dayAgoS - 120) * index) / perForm),
      }));
    }
    deployment.resetCounts();
    const firstTick = clock.now();
    const started = performance.now();
    const minutes: DrainMinute[] = [];
    let container = deployment.container();
    let containerName = 'A';
    let containers = 1;
    let published = 0;
    for (let tick = 0; tick <= options.minutes; tick += 1) {
      if (tick > 0 && tick % options.containerEvery === 0) {
        container = deployment.container();
        containerName = String.fromCharCode(65 + containers);
        containers += 1;
      }
      await deployment.waitUntil(firstTick + tick * MINUTE_MS);
      const outcomes: Record<string, number> = {};
      let summary: RunSummary | undefined;
      try {
        summary = await container.invoke();
      } catch (error: unknown) {
        // The handler throws when no form could be polled (docs/guarantees.md#handler), e.g. during
        // a 10053 block.
        if (!(error instanceof PollFailedError)) throw error;
        outcomes.failed = formIds.length;
      }
      published += summary?.totals.published ?? 0;
      for (const form of summary?.forms ?? []) {
        outcomes[form.outcome] = (outcomes[form.outcome] ?? 0) + 1;
      }
      minutes.push({
        minute: tick,
        container: containerName,
        listCalls: 0,
        outcomes,
        published: summary?.totals.published ?? 0,
      });
      if ((outcomes.ok ?? 0) === formIds.length) break;
    }
    const wallMs = performance.now() - started;
    const listSends = deployment.sends.filter((send) => send.path === LIST_PATH).map((s) => s.at);
    const counted = minutes.map((minute) => ({
      ...minute,
      listCalls: listSends.filter(
        (at) =>
          at >= firstTick + minute.minute * MINUTE_MS &&
          at < firstTick + (minute.minute + 1) * MINUTE_MS,
      ).length,
    }));
    const backlogLeft = counted.filter((minute) => (minute.outcomes.ok ?? 0) < formIds.length);
    const measuredCalls = backlogLeft.reduce((sum, minute) => sum + minute.listCalls, 0);
    const achievedPerMinute = backlogLeft.length === 0 ? 0 : measuredCalls / backlogLeft.length;
    const stats = deployment.simulator.stats();
    const { '10052': errors10052 = 0, '10053': errors10053 = 0, ...otherErrors } = stats.errors;
    const end = listSends.at(-1) ?? firstTick;
    const timeline: { second: number; rolling: number }[] = [];
    for (let at = firstTick; at <= end + 5_000; at += 5_000) {
      timeline.push({
        second: Math.round((at - firstTick) / 1000),
        rolling: listSends.filter((send) => send <= at && send > at - MINUTE_MS).length,
      });
    }
    return {
      options,
      budgetPerMinute: budget,
      weibanLimitPerMinute: 600,
      backlogRows: perForm * options.forms,
      minutes: counted,
      measuredMinutes: backlogLeft.length,
      achievedPerMinute,
      achievedPercent: (achievedPerMinute / budget) * 100,
      peakRollingClient: peakRolling(listSends),
      peakRollingServer: stats.peakPerMinute.list,
      maxInFlight: stats.maxInFlight,
      errors10052,
      errors10053,
      otherErrors,
      containers,
      published,
      wallMs,
      logProblems: deployment.log.problems.length,
      timeline,
    };
  } finally {
    await deployment.close();
  }
}

/** Most timestamps inside any 60 s window (ms, ascending input not required). */
function peakRolling(times: readonly number[]): number {
  const sorted = [...times].sort((a, b) => a - b);
  let peak = 0;
  let start = 0;
  for (let end = 0; end < sorted.length; end += 1) {
    while ((sorted[end] ?? 0) - (sorted[start] ?? 0) >= MINUTE_MS) start += 1;
    peak = Math.max(peak, end - start + 1);
  }
  return peak;
}
