import { describe, expect, it } from 'vitest';
import {
  admits,
  consistentHypotheses,
  judgeNewToken,
  judgeOrder,
  judgeTimeFilter,
  knownRegion,
  LimitSearch,
  planTimeWindows,
  type Hypothesis,
  type TimePlan,
} from '../../../lib/probe/plan.js';
import type { SubmitterPage } from '../../../lib/model.js';
import { submitter } from '../../fixtures/weiban.js';

/** Form 842's rows, newest first, at these submit_at values (u_id ascending with time). */
const pageAt = (times: readonly number[], total = times.length): SubmitterPage => ({
  total,
  result: [...times]
    .map((at, i) => submitter({ u_id: i + 1, submit_at: at }))
    .sort((a, b) => b.submit_at - a.submit_at || b.u_id - a.u_id),
});

const HYPOTHESES: Hypothesis[] = [
  'exact',
  'exclusive-start',
  'exclusive-end',
  'exclusive-both',
  'ignored',
];

describe('the time-filter plan', () => {
  const page = pageAt([100, 200, 300, 400, 500]);
  const region = knownRegion(page, 'desc');
  const plan = planTimeWindows(region, 100) as TimePlan;

  it('places its windows at the submit_at of two adjacent known rows', () => {
    expect(plan).toMatchObject({
      t: 200,
      u: 300,
      windows: [
        { start: 200, end: 300 },
        { start: 200, end: 200 },
        { start: 199, end: 301 },
      ],
    });
  });

  it.each(HYPOTHESES)('tells a filter that is %s from every other', (truth) => {
    // What a Weiban filtering as `truth` answers to each window.
    const seen = plan.windows.map((window) => {
      const rows = page.result.filter((row) => admits(truth, window, row.submit_at));
      return { window, page: { total: rows.length, result: rows } };
    });

    const standing = consistentHypotheses({
      formId: 842,
      region: region ?? { rows: [], from: 0, to: 0 },
      scope: { kind: 'form', total: page.total },
      seen,
    });

    expect(standing).toEqual([truth]);
  });

  it('judges the bounds of an exclusive start: filtered, start refuted, end confirmed', () => {
    const verdicts = judgeTimeFilter(['exclusive-start'], []);

    expect([
      verdicts.timeFilter.verdict,
      verdicts.startInclusive.verdict,
      verdicts.endInclusive.verdict,
    ]).toEqual(['confirmed', 'refuted', 'confirmed']);
  });

  it('says why there is no plan when the form has one submit_at value only', () => {
    const one = pageAt([100, 100]);

    expect(planTimeWindows(knownRegion(one, undefined), 100)).toBe(
      'needs two submitters with different submit_at whose rows are all in view; the form shows one submit_at value only',
    );
  });

  it('knows nothing of a partial page in no known order', () => {
    expect(knownRegion(pageAt([100, 300, 200], 10), 'unordered')).toBeUndefined();
  });
});

describe('the sort order', () => {
  it.each([
    [[300, 200, 100], 'confirmed', 'desc'],
    [[100, 200, 300], 'refuted', 'asc'],
    [[200, 300, 100], 'refuted', 'unordered'],
  ] as const)('from rows served at submit_at %j', (times, verdict, observed) => {
    const served: SubmitterPage = {
      total: times.length,
      result: times.map((at, i) => submitter({ u_id: i + 1, submit_at: at })),
    };

    expect(judgeOrder(served, [])).toMatchObject({ verdict, observed });
  });

  it('is undetermined with fewer than two distinct submit_at values', () => {
    expect(judgeOrder(pageAt([100]), []).verdict).toBe('undetermined');
  });
});

describe('the limit search', () => {
  it('tries the bound first, then halves towards the refusal', () => {
    const search = new LimitSearch({ accepted: 100 });
    const tried: number[] = [];
    // A Weiban that accepts up to 350.
    for (let limit = search.next(); limit !== undefined; limit = search.next()) {
      tried.push(limit);
      if (limit <= 350) search.accept(limit);
      else search.refuse(limit);
    }

    expect(tried[0]).toBe(1000);
    expect(search).toMatchObject({ accepted: 350, refused: 351 });
    expect(tried.length).toBeLessThanOrEqual(11);
  });

  it('stops at once when the bound is accepted', () => {
    const search = new LimitSearch({ accepted: 100 });
    search.accept(1000);

    expect(search.done).toBe(true);
  });
});

describe('the new-token test', () => {
  it.each([
    ['refused', 'confirmed'],
    ['ok', 'refuted'],
  ] as const)('with the first token %s after a second, is %s', (oldAfter, verdict) => {
    expect(
      judgeNewToken({ before: 'ok', fetched: 'ok', oldAfter, newAfter: 'ok', evidence: [] })
        .verdict,
    ).toBe(verdict);
  });

  it('is undetermined when Weiban hands back the same token', () => {
    expect(judgeNewToken({ before: 'ok', fetched: 'same token', evidence: [] })).toMatchObject({
      verdict: 'undetermined',
      summary: 'no second token: Weiban gave the same token again',
    });
  });
});
