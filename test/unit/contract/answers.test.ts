import { describe, expect, it } from 'vitest';
import { buildEvent, type FormEvent } from '../../../lib/events.js';
import { SNS_MAX_BYTES, toMessage } from '../../../lib/publish/message.js';
import type { Submission } from '../../../lib/model.js';
import { submitter } from '../../fixtures/weiban.js';

const detectedAtMs = Date.UTC(2026, 10, 26, 8, 0, 3);

function submission(id: number, submitAt: number, note = '周末有空'): Submission {
  return {
    id,
    form_id: 842,
    submit_at: submitAt,
    component_value_list: [
      { component_id: 105, component_type: 'input', title: '备注', value: note, values: [note] },
    ],
  };
}

const eventWith = (submissions: Submission[]): FormEvent =>
  buildEvent({
    corpId: 'corp-1',
    submitter: submitter({ submit_at: 1_700_000_300 }),
    type: 'weiban.form.resubmitted',
    detectedAtMs,
    submissions,
  });

describe("a resubmitter's answers", () => {
  it('are listed newest first, whatever order Weiban sends them in', () => {
    const event = eventWith([
      submission(7, 1_700_000_200),
      submission(5, 1_700_000_000),
      submission(9, 1_700_000_300),
    ]);

    expect(event.data.submissions?.map((each) => each.id)).toEqual([9, 7, 5]);
  });

  it('keep the newest submission when a long history is cut to fit SNS', () => {
    const history = Array.from({ length: 3_000 }, (_, i) =>
      submission(i + 1, 1_600_000_000 + i, '希望尽快安排'.repeat(20)),
    );

    const message = toMessage(eventWith(history));
    const body = JSON.parse(message.body) as FormEvent;

    expect(Buffer.byteLength(message.body)).toBeLessThanOrEqual(SNS_MAX_BYTES);
    expect(body.truncated).toBe(true);
    expect(body.data.submissions?.length).toBeLessThan(3_000);
    expect(body.data.submissions?.[0]?.id).toBe(3_000);
  });
});
