import { simulateCorp, type CorpResult } from '../corp-model.js';
import { BUDGET_PER_MINUTE } from './detection.js';

export const SCALE_FORMS = [10, 100, 1_000, 5_000] as const;
/** Measured again with the corp-wide listing (docs/guarantees.md#corp-wide). */
export const SCALE_CORP_WIDE_FORMS = [100, 300, 1_000] as const;

export interface ScaleResult {
  readonly seed: number;
  readonly intervalSeconds: number;
  readonly cells: readonly CorpResult[];
}

/**
 * Many idle forms under one corp budget: how stale each form gets (the time between two polls
 * of it), the Weiban calls a minute, and DynamoDB requests per pass, at POLL_INTERVAL_SECONDS'
 * default. Long enough for every form to come round at least twice.
 */
export async function scale(
  seed: number,
  intervalSeconds: number,
  progress: (text: string) => void,
): Promise<ScaleResult> {
  const cells: CorpResult[] = [];
  const cases = [
    ...SCALE_FORMS.map((forms) => ({ forms, corpWide: false })),
    ...SCALE_CORP_WIDE_FORMS.map((forms) => ({ forms, corpWide: true })),
  ];
  for (const { forms, corpWide } of cases) {
    progress(
      `scale: F=${forms} idle forms, POLL_INTERVAL_SECONDS=${intervalSeconds}${corpWide ? ', corp-wide listing' : ''}`,
    );
    // At 80 % of the budget each form comes round every F / 400 minutes (with the corp-wide
    // listing too: each form's own sweep costs a call a minute).
    const cycleMinutes = Math.ceil(forms / (BUDGET_PER_MINUTE * 0.8));
    cells.push(
      await simulateCorp({
        forms,
        intervalSeconds,
        budgetPerMinute: BUDGET_PER_MINUTE,
        warmMinutes: 2 + cycleMinutes,
        measureMinutes: Math.max(10, 2 * cycleMinutes + 2),
        seed: seed + forms,
        corpWide,
      }),
    );
  }
  return { seed, intervalSeconds, cells };
}
