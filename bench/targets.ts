import type { BurstResult } from './scenarios/burst.js';
import type { ColdStartResult } from './scenarios/cold-start.js';
import type { DrainResult } from './scenarios/drain.js';
import type { IdleResult } from './scenarios/idle.js';
import { webhookTargets, type WebhooksResult } from './scenarios/webhooks.js';

/** One performance target, as measured. */
export interface TargetRow {
  readonly id: string;
  readonly target: string;
  readonly measured: string;
  /**
   * Measured ÷ target, oriented so that ≤ 1 meets the target (for "at least" targets it is
   * target ÷ measured). Drawn in the chart.
   */
  readonly ratio: number;
  readonly met: boolean;
  /** The issue's own target, or an extra reading the bench adds (not a target). */
  readonly kind: 'target' | 'variant';
}

export interface Measured {
  readonly idle?: readonly IdleResult[];
  readonly idleLookback?: readonly IdleResult[];
  readonly burst?: BurstResult;
  readonly drain?: DrainResult;
  /** The same drain with the budget at Weiban's own limit (600): no margin left for skew. */
  readonly drainAtLimit?: DrainResult;
  readonly coldStart?: ColdStartResult;
  readonly webhooks?: WebhooksResult;
}

const MB = 1024 * 1024;

/** Every target the measurements speak to, met or missed. */
export function evaluate(measured: Measured): TargetRow[] {
  const rows: TargetRow[] = [];
  for (const idle of measured.idle ?? []) rows.push(...idleRows(idle, 'target'));
  for (const idle of measured.idleLookback ?? []) rows.push(...idleRows(idle, 'variant'));
  const { burst, drain, drainAtLimit, coldStart } = measured;
  if (burst !== undefined) {
    const { full } = burst;
    const minimum = burst.submitters / burst.pageSize;
    const listCalls = full.weibanByEndpoint.list ?? 0;
    rows.push({
      id: 'burst-weiban',
      target: `Weiban calls ≤ 1.05 × minimum (${minimum} = N / PAGE_SIZE)`,
      measured: `${full.weibanCalls} (${fixed(listCalls / minimum, 2)} × minimum)`,
      ratio: full.weibanCalls / (1.05 * minimum),
      met: full.weibanCalls <= 1.05 * minimum,
      kind: 'target',
    });
    const snsPer = full.snsRequests / burst.submitters;
    rows.push({
      id: 'burst-sns',
      target: 'SNS requests ≤ 0.11 per submitter',
      measured: `${fixed(snsPer, 3)} per submitter (${full.snsRequests})`,
      ratio: snsPer / 0.11,
      met: snsPer <= 0.11,
      kind: 'target',
    });
    const unbound = burst.inMemory[0];
    if (unbound !== undefined) {
      rows.push({
        id: 'burst-throughput',
        target: '≥ 1,000 submitters/s when Weiban is not the bottleneck',
        measured: `${whole(unbound.submittersPerSecond)}/s (${unbound.label})`,
        ratio: 1000 / unbound.submittersPerSecond,
        met: unbound.submittersPerSecond >= 1000,
        kind: 'target',
      });
    }
    rows.push({
      id: 'burst-throughput-emulators',
      target: '≥ 1,000 submitters/s, measured through DynamoDB Local and moto',
      measured: `${whole(full.submittersPerSecond)}/s (${full.label})`,
      ratio: 1000 / full.submittersPerSecond,
      met: full.submittersPerSecond >= 1000,
      kind: 'variant',
    });
  }
  if (drain !== undefined) {
    const clean = drain.errors10052 === 0 && drain.errors10053 === 0;
    rows.push({
      id: 'drain',
      target: `drain ≥ 90 % of WEIBAN_MAX_PER_MINUTE (${drain.budgetPerMinute}), no 10052/10053`,
      measured: `${fixed(drain.achievedPercent, 1)} % (${fixed(drain.achievedPerMinute, 0)}/min over ${drain.measuredMinutes} min), ${drain.errors10052} × 10052, ${drain.errors10053} × 10053`,
      ratio: clean
        ? 90 / Math.max(drain.achievedPercent, 0.1)
        : Math.max(2, 90 / drain.achievedPercent),
      met: drain.achievedPercent >= 90 && clean,
      kind: 'target',
    });
  }
  if (drainAtLimit !== undefined) {
    const clean = drainAtLimit.errors10052 === 0 && drainAtLimit.errors10053 === 0;
    rows.push({
      id: 'drain-at-limit',
      target: `drain with WEIBAN_MAX_PER_MINUTE = ${drainAtLimit.budgetPerMinute} (the hard maximum): ≥ 90 %, no 10052/10053`,
      measured: `${fixed(drainAtLimit.achievedPercent, 1)} %, ${drainAtLimit.errors10052} × 10052, ${drainAtLimit.errors10053} × 10053, Weiban saw at most ${drainAtLimit.peakRollingServer} in a minute`,
      ratio: clean ? 90 / Math.max(drainAtLimit.achievedPercent, 0.1) : 2,
      met: drainAtLimit.achievedPercent >= 90 && clean,
      kind: 'variant',
    });
  }
  if (coldStart !== undefined) {
    const onlySdk = coldStart.externals.every((name) => name.startsWith('@aws-sdk/'));
    rows.push({
      id: 'bundle',
      target: 'bundle ≤ 1 MB zipped, @aws-sdk/* external',
      measured: `${fixed(coldStart.zipBytes / MB, 2)} MB; external: ${coldStart.externals.join(', ')}`,
      ratio: coldStart.zipBytes / MB,
      met: coldStart.zipBytes <= MB && onlySdk && coldStart.externals.length > 0,
      kind: 'target',
    });
  }
  if (measured.webhooks !== undefined) rows.push(...webhookTargets(measured.webhooks));
  return rows;
}

function idleRows(idle: IdleResult, kind: 'target' | 'variant'): TargetRow[] {
  const forms = idle.forms;
  const label =
    idle.seenRowsPerForm > 0
      ? `idle F=${forms}, ${idle.seenRowsPerForm} seen rows per form in the lookback`
      : `idle F=${forms}`;
  const weiban = idle.warmTicks.map((tick) => tick.weibanCalls);
  // The bound is on the forms' state and list; the corp budget's item is counted apart.
  const dynamo = idle.warmTicks.map((tick) => tick.dynamoByPart.forms ?? 0);
  const budget = idle.warmTicks.map((tick) => tick.dynamoByPart.budget ?? 0);
  const sns = idle.warmTicks.map((tick) => tick.snsRequests);
  const ticks = idle.warmTicks.length;
  const over = (values: readonly number[], limit: number) =>
    values.filter((value) => value > limit).length;
  const dynamoBound = Math.ceil(forms / 100) + 1;
  const worstDynamo = Math.max(...dynamo);
  return [
    {
      id: `idle-${forms}-${idle.seenRowsPerForm}-weiban`,
      target: `${label}: exactly 1 Weiban call per form (${forms})`,
      measured: `${Math.min(...weiban)}–${Math.max(...weiban)} per warm tick (${ticks} ticks)`,
      ratio: Math.max(...weiban) / forms,
      met: weiban.every((calls) => calls === forms),
      kind,
    },
    {
      id: `idle-${forms}-${idle.seenRowsPerForm}-dynamo`,
      target: `${label}: DynamoDB (form state and list) ≤ ⌈F/100⌉ + 1 = ${dynamoBound}`,
      measured: `${Math.min(...dynamo)}–${worstDynamo} per warm tick; ${over(dynamo, dynamoBound)} of ${ticks} ticks over; the corp budget's item ${Math.min(...budget)}–${Math.max(...budget)} more`,
      ratio: worstDynamo / dynamoBound,
      met: worstDynamo <= dynamoBound,
      kind,
    },
    {
      id: `idle-${forms}-${idle.seenRowsPerForm}-sns`,
      target: `${label}: 0 SNS requests`,
      measured: `${Math.max(...sns)} at most per warm tick (${ticks} ticks)`,
      // Nothing to divide by: any request is a miss.
      ratio: Math.max(...sns) === 0 ? 0 : 2,
      met: sns.every((count) => count === 0),
      kind,
    },
  ];
}

export const fixed = (value: number, digits: number): string => value.toFixed(digits);
export const whole = (value: number): string => Math.round(value).toLocaleString('en-US');
