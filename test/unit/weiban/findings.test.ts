import { describe, expect, it } from 'vitest';
import {
  findingsSchema,
  pollingModes,
  type ModeSettings,
  type Verdict,
} from '../../../lib/weiban/findings.js';
import { bestFindings } from '../../fixtures/findings.js';

const auto: ModeSettings = {
  pageSize: 100,
  largerPages: 'auto',
  trustTimeFilter: 'auto',
  corpWideListing: 'auto',
};

describe('pollingModes', () => {
  it('keeps every cautious mode when no findings are stored', () => {
    const modes = pollingModes(undefined, auto);

    expect(modes).toMatchObject({
      pageSize: 100,
      exactTimeFilter: false,
      corpWideListing: false,
    });
    expect(modes.reasons.pageSize).toBe(
      'PAGE_SIZE 100: no probe findings are stored (weiban-forms probe --save)',
    );
  });

  it('uses every cheap mode the findings prove, saying where they were learned', () => {
    const modes = pollingModes(bestFindings(), auto);

    expect(modes).toMatchObject({ pageSize: 1000, exactTimeFilter: true, corpWideListing: true });
    expect(modes.reasons.pageSize).toBe(
      'limit 1000: Weiban accepted limit 1000 (probe of form 842 at 2026-11-26T08:00:00.000Z)',
    );
    expect(modes.reasons.corpWideListing).toMatch(
      /^one listing for every form between sweeps: .*forms 842, 901/,
    );
  });

  it.each([
    ['WEIBAN_LARGER_PAGES', { largerPages: 'off' }, { pageSize: 100 }],
    ['WEIBAN_TRUST_TIME_FILTER', { trustTimeFilter: 'off' }, { exactTimeFilter: false }],
    ['WEIBAN_CORP_WIDE_LISTING', { corpWideListing: 'off' }, { corpWideListing: false }],
  ] as const)('turns a mode off with %s=off and leaves the others', (name, setting, expected) => {
    const modes = pollingModes(bestFindings(), { ...auto, ...setting });

    expect(modes).toMatchObject({
      pageSize: 1000,
      exactTimeFilter: true,
      corpWideListing: true,
      ...expected,
    });
    expect(Object.values(modes.reasons).join(' ')).toContain(`${name} is off`);
  });

  describe('page size', () => {
    it.each([
      ['the largest accepted when it is above PAGE_SIZE', { accepted: 350 }, 100, 350],
      ['PAGE_SIZE when the largest accepted equals it', { accepted: 100 }, 100, 100],
      [
        'the largest accepted below a refusal above PAGE_SIZE',
        { accepted: 60, refused: 61 },
        50,
        60,
      ],
      [
        'no more than Weiban served when it served fewer than asked',
        { accepted: 1000, servedAtMost: 500 },
        100,
        500,
      ],
      [
        'PAGE_SIZE when Weiban served no more than that',
        { accepted: 1000, servedAtMost: 80 },
        100,
        100,
      ],
      ['PAGE_SIZE when no limit was accepted', { accepted: undefined }, 100, 100],
      ['never above the search bound', { accepted: 5000 }, 100, 1000],
    ])('is %s', (_label, largestLimit, pageSize, expected) => {
      const modes = pollingModes(bestFindings({ largestLimit }), { ...auto, pageSize });

      expect(modes.pageSize).toBe(expected);
    });

    it('stays PAGE_SIZE and says to lower it when Weiban refused PAGE_SIZE', () => {
      const modes = pollingModes(bestFindings({ largestLimit: { accepted: 50, refused: 51 } }), {
        ...auto,
        pageSize: 100,
      });

      expect(modes.pageSize).toBe(100);
      expect(modes.reasons.pageSize).toBe(
        'PAGE_SIZE 100: Weiban refused limit 51 with 21901 and accepted 50: lower PAGE_SIZE',
      );
    });
  });

  describe('exact time filter', () => {
    it.each<[string, Verdict, Verdict, Verdict]>([
      ['the filter on submit_at refuted', 'refuted', 'confirmed', 'confirmed'],
      ['the filter on submit_at undetermined', 'undetermined', 'confirmed', 'confirmed'],
      ['start_time exclusive', 'confirmed', 'refuted', 'confirmed'],
      ['end_time exclusive', 'confirmed', 'confirmed', 'refuted'],
      ['start_time undetermined', 'confirmed', 'undetermined', 'confirmed'],
      ['end_time undetermined', 'confirmed', 'confirmed', 'undetermined'],
      ['both bounds exclusive', 'confirmed', 'refuted', 'refuted'],
    ])('is off with %s', (_label, filter, start, end) => {
      const findings = bestFindings({
        timeFilter: { verdict: filter },
        startInclusive: { verdict: start },
        endInclusive: { verdict: end },
        formIdOptional: { verdict: 'refuted' },
      });

      expect(pollingModes(findings, auto).exactTimeFilter).toBe(false);
    });

    it('is on per form when both bounds proved inclusive and form_id is required', () => {
      const findings = bestFindings({
        formIdOptional: {
          verdict: 'refuted',
          formsSeen: [],
          windowOnSubmitAt: 'undetermined',
          windowInclusive: 'undetermined',
        },
      });

      const modes = pollingModes(findings, auto);

      expect(modes).toMatchObject({ exactTimeFilter: true, corpWideListing: false });
    });

    it('is about the listing of one form, whatever the listing without form_id showed', () => {
      const findings = bestFindings({ formIdOptional: { windowInclusive: 'refuted' } });

      const modes = pollingModes(findings, auto);

      expect(modes).toMatchObject({ exactTimeFilter: true, corpWideListing: true });
    });
  });

  describe('corp-wide listing', () => {
    it.each([
      ['form_id proved required', { verdict: 'refuted' as const }],
      ['form_id optional undetermined', { verdict: 'undetermined' as const }],
      ['rows of one form only', { formsSeen: [842] }],
      ['rows lacking documented fields', { documentedFields: false }],
      ['no rows seen', { documentedFields: undefined }],
      ['its time window ignored', { windowOnSubmitAt: 'refuted' as const }],
      ['its time window undetermined', { windowOnSubmitAt: 'undetermined' as const }],
    ])('is off with %s', (_label, formIdOptional) => {
      const modes = pollingModes(bestFindings({ formIdOptional }), auto);

      expect(modes.corpWideListing).toBe(false);
      expect(modes.reasons.corpWideListing).toMatch(/^one listing per form: /);
    });
  });
});

describe('findingsSchema', () => {
  it('reads back what was written', () => {
    const findings = bestFindings();

    expect(findingsSchema.parse(JSON.parse(JSON.stringify(findings)))).toEqual(findings);
  });

  it('refuses findings of another version', () => {
    expect(findingsSchema.safeParse({ ...bestFindings(), version: 2 }).success).toBe(false);
  });
});
