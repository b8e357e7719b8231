import { describe, expect, it } from 'vitest';
import { buildEvent, formEventSchema } from '../../lib/events.js';
import { submitter } from '../fixtures/weiban.js';

const detectedAtMs = Date.UTC(2026, 10, 26, 8, 0, 3);

describe('buildEvent', () => {
  it('builds the documented envelope from a Weiban row', () => {
    const row = submitter({ extra_field: 'kept' });

    const event = buildEvent({
      corpId: 'corp-1',
      submitter: row,
      type: 'weiban.form.submitted',
      detectedAtMs,
    });

    expect(event).toEqual({
      id: 'weiban:corp-1:842:768',
      type: 'weiban.form.submitted',
      schema_version: 1,
      occurred_at: '2021-04-28T12:38:31Z',
      detected_at: '2026-11-26T08:00:03Z',
      data: row,
    });
    expect(formEventSchema.parse(event)).toEqual(event);
  });

  it('gives a resubmission an id that carries its submit_at', () => {
    const event = buildEvent({
      corpId: 'corp-1',
      submitter: submitter({ submit_at: 1_700_000_000 }),
      type: 'weiban.form.resubmitted',
      detectedAtMs,
    });

    expect(event.id).toBe('weiban:corp-1:842:768:1700000000');
  });
});
