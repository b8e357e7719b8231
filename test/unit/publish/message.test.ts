import { describe, expect, it } from 'vitest';
import { buildEvent, formEventSchema, type FormEvent } from '../../../lib/events.js';
import { SNS_MAX_BYTES, toMessage } from '../../../lib/publish/message.js';
import { submitter } from '../../fixtures/weiban.js';

const detectedAtMs = Date.UTC(2026, 10, 26, 8, 0, 3);

describe('toMessage', () => {
  const event = (overrides: Parameters<typeof submitter>[0] = {}): FormEvent =>
    buildEvent({
      corpId: 'corp-1',
      submitter: submitter(overrides),
      type: 'weiban.form.submitted',
      detectedAtMs,
    });

  it('sets the filterable message attributes', () => {
    expect(toMessage(event()).attributes).toEqual({
      event_type: { DataType: 'String', StringValue: 'weiban.form.submitted' },
      form_id: { DataType: 'Number', StringValue: '842' },
      user_city: { DataType: 'String', StringValue: '南昌市' },
    });
  });

  it.each([[null], [''], ['  ']])('omits user_city when Weiban sends %j', (city) => {
    expect(toMessage(event({ user_city: city })).attributes).not.toHaveProperty('user_city');
  });

  it('strips characters SNS refuses from the user_city attribute but keeps the body exact', () => {
    const message = toMessage(event({ user_city: '上海\u0000市\uFFFF' }));

    expect(message.attributes.user_city?.StringValue).toBe('上海市');
    expect(JSON.parse(message.body)).toMatchObject({ data: { user_city: '上海\u0000市\uFFFF' } });
    const illegal = Array.from({ length: message.body.length }, (_, i) =>
      message.body.charCodeAt(i),
    ).filter((code) => code < 0x20 || code === 0xfffe || code === 0xffff);
    expect(illegal).toEqual([]);
  });

  it('keeps emoji and a 64 KB user_name whole', () => {
    const name = `😀${'名'.repeat(21_000)}`;

    const message = toMessage(event({ user_name: name }));

    expect(JSON.parse(message.body)).toMatchObject({ data: { user_name: name } });
    expect(message.body).not.toContain('"truncated"');
  });

  it('cuts long fields to fit 256 KiB, flags it, and keeps who submitted', () => {
    const huge = event({ user_name: 'x'.repeat(400_000), avatar: 'y'.repeat(100_000) });

    const message = toMessage(huge);
    const body = formEventSchema.parse(JSON.parse(message.body));

    expect(Buffer.byteLength(message.body)).toBeLessThanOrEqual(SNS_MAX_BYTES);
    expect(body.truncated).toBe(true);
    expect(body.id).toBe(huge.id);
    expect(body.data).toMatchObject({
      u_id: 768,
      form_id: 842,
      external_user_id: huge.data.external_user_id,
    });
  });

  it('cuts answers down when they alone are too big', () => {
    const answers = Array.from({ length: 3_000 }, (_, i) => ({
      id: i,
      form_id: 842,
      submit_at: 1_700_000_000,
      component_value_list: [
        {
          component_id: i,
          component_type: 'text',
          title: `Q${i}`,
          value: 'z'.repeat(200),
          values: [],
        },
      ],
    }));

    const message = toMessage(
      buildEvent({
        corpId: 'c',
        submitter: submitter(),
        type: 'weiban.form.submitted',
        detectedAtMs,
        submissions: answers,
      }),
    );
    const body = formEventSchema.parse(JSON.parse(message.body));

    expect(Buffer.byteLength(message.body)).toBeLessThanOrEqual(SNS_MAX_BYTES);
    expect(body.truncated).toBe(true);
    expect(body.data.submissions?.length).toBeGreaterThan(0);
  });
});
