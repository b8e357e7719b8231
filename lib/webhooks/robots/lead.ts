import type { FormEvent } from '../../events.js';

/** One submission as a sales group reads it. Every text is plain, one line, already capped. */
export interface Lead {
  readonly id: string;
  readonly resubmitted: boolean;
  readonly form: string;
  readonly submitter: string;
  /** Empty when Weiban has no city for the submitter. */
  readonly city: string;
  /** Asia/Shanghai local time of the submission, `YYYY-MM-DD HH:mm`. */
  readonly time: string;
  readonly answers: readonly { readonly title: string; readonly value: string }[];
}

// Identity is never cut to make room: each part is only capped so that one absurd value cannot
// push a message past the robot's size limit.
const IDENTITY_CHARS = 60;
const TITLE_CHARS = 60;
const ANSWER_CHARS = 300;

/** China Standard Time is UTC+8 all year (no daylight saving since 1991). */
const SHANGHAI_OFFSET_S = 8 * 3_600;

/** `unixSeconds` as Asia/Shanghai local time, `YYYY-MM-DD HH:mm`. */
export function shanghaiTime(unixSeconds: number): string {
  const iso = new Date((unixSeconds + SHANGHAI_OFFSET_S) * 1000).toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 16)}`;
}

/** Reads what the group needs from an event; answers only when the event carries them. */
export function toLead(event: FormEvent): Lead {
  const { data } = event;
  const latest = data.submissions?.[0];
  return {
    id: event.id,
    resubmitted: event.type === 'weiban.form.resubmitted',
    form: cap(plain(data.form_name ?? '') || `表单 ${data.form_id}`, IDENTITY_CHARS),
    submitter: cap(plain(data.user_name ?? '') || '未署名用户', IDENTITY_CHARS),
    city: cap(plain(data.user_city ?? ''), IDENTITY_CHARS),
    time: shanghaiTime(data.submit_at),
    answers: (latest?.answers ?? []).map((answer) => ({
      title: cap(plain(answer.title) || '（无标题）', TITLE_CHARS),
      value: cap(plain(answerText(answer.value, answer.values)) || '（未填写）', ANSWER_CHARS),
    })),
  };
}

/** "张三（上海市）提交了《2026 秋季课程报名》", the sentence both kinds of message lead with. */
export function sentence(lead: Lead): string {
  const who = lead.city === '' ? lead.submitter : `${lead.submitter}（${lead.city}）`;
  return `${who}${lead.resubmitted ? '再次提交了' : '提交了'}《${lead.form}》`;
}

/** The first line of a single-submission message. */
export const headline = (lead: Lead): string =>
  `${lead.resubmitted ? '再次提交' : '新线索'}：${sentence(lead)}`;

/** The first line of a digest. */
export const digestHeadline = (count: number): string => `${count} 条新线索`;

/** The note that ends a message whose answers were cut. */
export const cutNote = (hidden: number): string => `（另有 ${hidden} 项回答未显示）`;

function answerText(value: string | null, values: readonly string[] | null): string {
  if (values !== null && values.length > 0) return values.join('、');
  return value ?? '';
}

/**
 * One line of plain text: no control characters or line breaks, and none of the characters
 * the robots' markdown would read as markup (they become their full-width forms), so a
 * submitter's answer can neither format the message nor mention anyone.
 */
export function plain(text: string): string {
  return text
    .replace(/\p{Cc}|[\u2028\u2029]/gu, ' ')
    .replace(/[<>[\]*_`#|~\\]/g, (char) => String.fromCharCode(char.charCodeAt(0) + 0xfee0))
    .replace(/ {2,}/g, ' ')
    .trim();
}

function cap(text: string, chars: number): string {
  const points = Array.from(text);
  return points.length <= chars ? text : `${points.slice(0, chars - 1).join('')}…`;
}
