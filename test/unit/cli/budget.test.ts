import { describe, expect, it } from 'vitest';
import { budgetLines, budgetStatus } from '../../../cli/budget.js';

const NOW = Date.UTC(2026, 11, 1, 8, 0, 0);

describe('the Weiban budget in status', () => {
  it('says who holds the budget and how many wait, ignoring lapsed wishes', () => {
    const status = budgetStatus(
      {
        holder: {
          owner: 'a',
          label: 'poller',
          sendUntil: NOW + 5_000,
          until: NOW + 15_000,
          quota: 8,
        },
        waiting: { b: NOW + 9_000, c: NOW - 1 },
        sends: { seconds: {}, minutes: {} },
        blocks: {},
      },
      NOW,
    );

    expect(status).toEqual({
      holder: { label: 'poller', until: new Date(NOW + 15_000).toISOString() },
      waiting: 1,
      blocks: [],
    });
    expect(budgetLines(status, NOW)).toEqual([
      'Weiban budget: held by the poller until 2026-12-01 08:00:15Z, 1 caller(s) waiting.',
    ]);
  });

  it('says so loudly when Weiban blocked the corp for an hour', () => {
    const status = budgetStatus(
      {
        waiting: {},
        sends: { seconds: {}, minutes: {} },
        blocks: {
          'form/user/list': { until: NOW + 50 * 60_000, level: 2 },
          'access_token/get': { until: NOW - 1, level: 1 },
        },
      },
      NOW,
    );

    expect(status.blocks).toEqual([
      {
        endpoint: 'form/user/list',
        until: new Date(NOW + 50 * 60_000).toISOString(),
        kind: 'hour',
      },
    ]);
    expect(budgetLines(status, NOW)).toEqual([
      'Weiban budget: nobody holds it now.',
      "BLOCKED: form/user/list for 50m more: 10053 persisted past the shorter block: Weiban's hourly quota (1h block). Nothing calls it before then.",
    ]);
  });
});
