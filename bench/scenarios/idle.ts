import { VirtualClock } from '../../dev/virtual-clock.js';
import type { RunSummary } from '../../lib/model.js';
import { Deployment, type Endpoints } from '../deployment.js';

const MINUTE_MS = 60_000;
const WEIBAN_LATENCY_MS = 80;
// Long enough to see the periodic save of recent Weiban sends (lib/rate-sync.ts), which comes
// after about 100 sends: every 11th tick with 10 forms.
const WARM_TICKS = 12;

/** What one scheduled invocation cost. */
export interface TickCost {
  readonly weibanCalls: number;
  readonly weibanByEndpoint: Record<string, number>;
  readonly dynamoRequests: number;
  readonly dynamoByCommand: Record<string, number>;
  /** The same by part of the table: `forms` (state and list), `budget`, `ledger`, … */
  readonly dynamoByPart: Record<string, number>;
  readonly snsRequests: number;
  readonly outcomes: Record<string, number>;
  readonly published: number;
  readonly wallMs: number;
}

export interface IdleResult {
  readonly forms: number;
  /** Rows already published that each form's lookback window still holds. */
  readonly seenRowsPerForm: number;
  /** The first tick a form ever sees: its state is created (START_FROM=now), nothing read. */
  readonly firstTick: TickCost;
  /** The first tick of a fresh container on existing state. */
  readonly coldTick: TickCost;
  readonly warmTicks: readonly TickCost[];
}

/**
 * Idle ticks: F forms with nothing new. A first container creates the forms' state; a fresh
 * container then runs one cold tick and WARM_TICKS warm ticks, one virtual minute apart.
 * With `seenRowsPerForm`, each form's lookback window holds rows published a tick earlier.
 */
export async function idleTicks(
  endpoints: Endpoints,
  forms: number,
  seenRowsPerForm = 0,
): Promise<IdleResult> {
  const formIds = Array.from({ length: forms }, (_, index) => 1001 + index);
  const deployment = await Deployment.create({
    endpoints,
    formIds,
    env: { START_FROM: 'now' },
    simulator: { latencyMs: WEIBAN_LATENCY_MS },
    clock: new VirtualClock(),
  });
  try {
    const first = deployment.container();
    const firstTick = await measure(deployment, first.invoke);
    deployment.clock.advance(MINUTE_MS);
    if (seenRowsPerForm > 0) {
      const nowS = Math.floor(deployment.clock.now() / 1000);
      for (const formId of formIds) {
        deployment.simulator.submitMany(formId, seenRowsPerForm, (index) => ({
          submit_at: nowS - 30 + index,
        }));
      }
      const seeded = await first.invoke();
      if (seeded.totals.published !== forms * seenRowsPerForm) {
        throw new Error(`seeding published ${seeded.totals.published} rows`);
      }
      deployment.clock.advance(MINUTE_MS);
    }
    const fresh = deployment.container();
    const coldTick = await measure(deployment, fresh.invoke);
    const warmTicks: TickCost[] = [];
    for (let tick = 0; tick < WARM_TICKS; tick += 1) {
      deployment.clock.advance(MINUTE_MS);
      warmTicks.push(await measure(deployment, fresh.invoke));
    }
    for (const tick of [coldTick, ...warmTicks]) {
      if (tick.published !== 0 || (tick.outcomes.ok ?? 0) !== forms) {
        throw new Error(`an idle tick was not idle: ${JSON.stringify(tick.outcomes)}`);
      }
    }
    return { forms, seenRowsPerForm, firstTick, coldTick, warmTicks };
  } finally {
    await deployment.close();
  }
}

/** Runs one invocation with every counter zeroed first, and reads them back after. */
export async function measure(
  deployment: Deployment,
  invoke: () => Promise<RunSummary>,
): Promise<TickCost> {
  deployment.resetCounts();
  const started = performance.now();
  const summary = await invoke();
  const wallMs = performance.now() - started;
  const stats = deployment.simulator.stats();
  const weibanByEndpoint = Object.fromEntries(
    Object.entries(stats.requests).filter(([, count]) => count > 0),
  );
  const outcomes: Record<string, number> = {};
  for (const form of summary.forms) outcomes[form.outcome] = (outcomes[form.outcome] ?? 0) + 1;
  return {
    weibanCalls: Object.values(stats.requests).reduce((sum, count) => sum + count, 0),
    weibanByEndpoint,
    dynamoRequests: deployment.dynamoRequests.total(),
    dynamoByCommand: deployment.dynamoRequests.byCommand(),
    dynamoByPart: deployment.dynamoRequests.byPart(),
    snsRequests: deployment.snsRequests.total(),
    outcomes,
    published: summary.totals.published,
    wallMs,
  };
}
