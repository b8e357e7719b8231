import { simulateCorp, type CorpResult, type CorpShape } from '../corp-model.js';

export const DETECTION_FORMS = [1, 10, 50, 200] as const;
export const DETECTION_INTERVALS = [4, 5, 10, 20, 30, 60] as const;
/** The cells measured again with the corp-wide listing (docs/guarantees.md#corp-wide). */
export const CORP_WIDE_FORMS = [10, 50, 200] as const;
export const CORP_WIDE_INTERVALS = [4, 10] as const;
/** The corp budget the goals are set for. */
export const BUDGET_PER_MINUTE = 500;

export interface DetectionResult {
  readonly seed: number;
  readonly cells: readonly CorpResult[];
  /** The same corps when Weiban lists them without form_id and the findings prove it. */
  readonly corpWideCells?: readonly CorpResult[];
  /** One cell run twice with the same seed gave the same figures. */
  readonly repeatable: boolean;
}

/**
 * How each form's submissions arrive: Poisson, one every 10 minutes per form from F = 50 up
 * (so about two forms in three count as hot), and 2 a minute over the corp below that, where the
 * budget polls every form at the interval whatever its heat and only the sample count matters.
 */
export function meanGapMinutes(forms: number): number {
  return forms >= 50 ? 10 : forms / 2;
}

function shape(forms: number, intervalSeconds: number, seed: number, corpWide = false): CorpShape {
  const small = forms <= 10;
  return {
    corpWide,
    forms,
    intervalSeconds,
    budgetPerMinute: BUDGET_PER_MINUTE,
    // Hot and cold forms settle within 10 minutes (lib/poll/cadence.ts HOT_FOR_MS).
    warmMinutes: small ? 2 : 11,
    measureMinutes: small ? 60 : forms >= 200 ? 20 : 30,
    meanGapMinutes: meanGapMinutes(forms),
    seed: seed + forms * 100 + intervalSeconds,
  };
}

/**
 * Detection latency, Weiban calls and the AWS bill for every F × POLL_INTERVAL_SECONDS, each a
 * simulated corp (bench/corp-model.ts) on the event clock.
 */
export async function detection(
  seed: number,
  progress: (text: string) => void,
): Promise<DetectionResult> {
  const cells: CorpResult[] = [];
  for (const forms of DETECTION_FORMS) {
    for (const interval of DETECTION_INTERVALS) {
      progress(`detection: F=${forms}, POLL_INTERVAL_SECONDS=${interval}`);
      cells.push(await simulateCorp(shape(forms, interval, seed)));
    }
  }
  const corpWideCells: CorpResult[] = [];
  for (const forms of CORP_WIDE_FORMS) {
    for (const interval of CORP_WIDE_INTERVALS) {
      progress(`detection: F=${forms}, POLL_INTERVAL_SECONDS=${interval}, corp-wide listing`);
      corpWideCells.push(await simulateCorp(shape(forms, interval, seed, true)));
    }
  }
  progress('detection: one cell again with the same seed');
  const again = await simulateCorp(shape(10, 10, seed));
  const first = cells.find((cell) => cell.shape.forms === 10 && cell.shape.intervalSeconds === 10);
  const strip = (result: CorpResult | undefined) =>
    JSON.stringify({ ...result, wallMs: undefined });
  return { seed, cells, corpWideCells, repeatable: strip(first) === strip(again) };
}
