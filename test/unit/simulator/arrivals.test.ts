import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ArrivalPlan } from '../../../dev/arrivals.js';

const HISTORY_S = 900;
const FORMS = [842, 901, 977];

const plan = (seed: number) => new ArrivalPlan({ seed, historySeconds: HISTORY_S, perForm: 8 });

describe('the local runner’s arrival plan', () => {
  // fast-check prints the seed of any failing case.
  it('gives every form half its history after START_FROM, whatever the seed', () => {
    fc.assert(
      fc.property(fc.nat(), fc.integer({ min: 1_600_000_000, max: 2_000_000_000 }), (seed, now) => {
        const startFrom = now - HISTORY_S;

        const history = plan(seed).history(FORMS, now);

        for (const formId of FORMS) {
          const times = history.filter((a) => a.formId === formId).map((a) => a.submitAt);
          expect(times).toHaveLength(8);
          expect(times.filter((at) => at > startFrom && at <= now)).toHaveLength(4);
          expect(times.filter((at) => at < startFrom && at >= now - 2 * HISTORY_S)).toHaveLength(4);
        }
      }),
    );
  });

  it('repeats its history and arrivals for the same seed, and differs for another', () => {
    const now = 1_780_000_000;
    const script = (seed: number) => {
      const arrivals = plan(seed);
      return [
        arrivals.history(FORMS, now),
        Array.from({ length: 20 }, () => arrivals.next(FORMS, now)),
      ];
    };

    expect(script(7)).toEqual(script(7));
    expect(script(8)).not.toEqual(script(7));
  });

  it('sends new submitters to every form, late ones inside the lookback', () => {
    const now = 1_780_000_000;
    const arrivals = plan(11);

    const next = Array.from({ length: 200 }, () => arrivals.next(FORMS, now));

    expect(new Set(next.map((a) => a?.formId))).toEqual(new Set(FORMS));
    const late = next.flatMap((a) => (a?.submitAt === undefined ? [] : [now - a.submitAt]));
    expect(late.length).toBeGreaterThan(0);
    expect(late.every((ago) => ago >= 120 && ago < 360)).toBe(true);
  });
});
