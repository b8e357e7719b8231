import type { BudgetRecord } from '../lib/weiban/budget.js';
import { BLOCK_MS } from '../lib/weiban/budget.js';
import { formatDuration, formatTime } from './format.js';

/** The corp's Weiban budget as `status --json` shows it. */
export interface BudgetStatus {
  readonly holder: { readonly label: string; readonly until: string } | null;
  readonly waiting: number;
  readonly blocks: readonly {
    readonly endpoint: string;
    readonly until: string;
    readonly kind: 'minute' | 'hour' | 'day';
  }[];
}

const KINDS = ['minute', 'hour', 'day'] as const;

/** What the shared record says now: who may send, who waits, which endpoints are blocked. */
export function budgetStatus(record: BudgetRecord | undefined, nowMs: number): BudgetStatus {
  const holder = record?.holder;
  return {
    holder:
      holder === undefined || holder.until <= nowMs
        ? null
        : { label: holder.label, until: new Date(holder.until).toISOString() },
    waiting: Object.values(record?.waiting ?? {}).filter((until) => until > nowMs).length,
    blocks: Object.entries(record?.blocks ?? {})
      .filter(([, block]) => block.until > nowMs)
      .map(([endpoint, block]) => ({
        endpoint,
        until: new Date(block.until).toISOString(),
        kind: KINDS[Math.min(KINDS.length, Math.max(1, block.level)) - 1] ?? 'minute',
      })),
  };
}

/** The status lines about the budget; a block is loud, since nothing is polled meanwhile. */
export function budgetLines(status: BudgetStatus, nowMs: number): string[] {
  const held =
    status.holder === null
      ? 'nobody holds it now'
      : `held by the ${status.holder.label} until ${formatTime(Math.floor(Date.parse(status.holder.until) / 1000))}`;
  const lines = [
    `Weiban budget: ${held}${status.waiting > 0 ? `, ${status.waiting} caller(s) waiting` : ''}.`,
  ];
  for (const block of status.blocks) {
    const left = formatDuration((Date.parse(block.until) - nowMs) / 1000);
    const why =
      block.kind === 'minute'
        ? 'Weiban answered 10053 (the 60 s block)'
        : `10053 persisted past the shorter block: Weiban's ${block.kind === 'hour' ? 'hourly' : 'daily'} quota (${formatDuration((BLOCK_MS[KINDS.indexOf(block.kind)] ?? 0) / 1000)} block)`;
    lines.push(
      `BLOCKED: ${block.endpoint} for ${left} more: ${why}. Nothing calls it before then.`,
    );
  }
  return lines;
}
