import { createHmac } from 'node:crypto';
import { codeOf, utf8Bytes, verdictFor, type Payload, type RobotDialect } from './dialect.js';
import { cutNote, digestHeadline, headline, sentence, type Lead } from './lead.js';

// DingTalk custom robot (docs/receivers.md#dingtalk): no size limit was found documented; the
// markdown text is kept to 4000 bytes, far below any limit reported for it.
const MAX_TEXT_BYTES = 4000;

function markdown(title: string, paragraphs: readonly string[]): Payload {
  return { msgtype: 'markdown', markdown: { title, text: paragraphs.join('\n\n') } };
}

function textOf(payload: Payload): string {
  const body = payload.markdown as { text?: unknown } | undefined;
  return typeof body?.text === 'string' ? body.text : '';
}

/**
 * The documented rule: HMAC-SHA256 keyed with the secret over `timestamp + "\n" + secret`,
 * base64; `timestamp` is epoch milliseconds, within an hour of DingTalk's clock. Both go in
 * the query string (the sign URL-encoded).
 */
export function dingtalkSign(secret: string, timestampMs: number): string {
  return createHmac('sha256', secret).update(`${timestampMs}\n${secret}`).digest('base64');
}

/** DingTalk custom robot: markdown messages, signed in the query string when a secret is set. */
export const dingtalk: RobotDialect = {
  format: 'dingtalk',
  single(lead: Lead, answersShown: number) {
    const paragraphs = [
      `#### ${headline(lead)}`,
      `> 提交时间：${lead.time}`,
      ...lead.answers.slice(0, answersShown).map((a) => `> ${a.title}：${a.value}`),
    ];
    const hidden = lead.answers.length - answersShown;
    if (hidden > 0) paragraphs.push(cutNote(hidden));
    return markdown(headline(lead), paragraphs);
  },
  digest(leads: readonly Lead[]) {
    const title = digestHeadline(leads.length);
    const lines = leads.map((lead, index) => `${index + 1}. ${sentence(lead)} ${lead.time}`);
    return markdown(title, [`#### ${title}`, ...lines]);
  },
  fits: (payload) => utf8Bytes(textOf(payload)) <= MAX_TEXT_BYTES,
  request(payload, { url, secret, nowMs }) {
    const body = JSON.stringify(payload);
    if (secret === undefined) return { url, body };
    const signed = new URL(url);
    signed.searchParams.set('timestamp', String(nowMs));
    signed.searchParams.set('sign', dingtalkSign(secret, nowMs));
    return { url: signed.toString(), body };
  },
  verdict: (body) =>
    verdictFor(codeOf(body, 'errcode'), {
      // 410100: sent too fast (over 20 a minute). DingTalk then blocks the robot for 10 minutes.
      throttle: [410100],
      pauseMs: 10 * 60_000,
      refused: {
        300001: 'the robot access_token does not exist (300001)',
        300005: 'the robot access_token does not exist (300005)',
        310000: "the robot's security check failed: signature, timestamp, keyword or IP (310000)",
      },
    }),
};
