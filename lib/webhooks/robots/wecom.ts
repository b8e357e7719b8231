import { codeOf, utf8Bytes, verdictFor, type Payload, type RobotDialect } from './dialect.js';
import { cutNote, digestHeadline, headline, sentence, type Lead } from './lead.js';

// WeCom group robot (docs/receivers.md#wecom): markdown.content at most 4096 bytes of UTF-8.
const MAX_CONTENT_BYTES = 4096;

const comment = (text: string): string => `<font color="comment">${text}</font>`;

function markdown(content: string): Payload {
  return { msgtype: 'markdown', markdown: { content } };
}

function contentOf(payload: Payload): string {
  const body = payload.markdown as { content?: unknown } | undefined;
  return typeof body?.content === 'string' ? body.content : '';
}

/** WeCom group robot: markdown messages, no signing (the key in the URL is the credential). */
export const wecom: RobotDialect = {
  format: 'wecom',
  single(lead: Lead, answersShown: number) {
    const lines = [
      headline(lead),
      `> 提交时间：${comment(lead.time)}`,
      ...lead.answers.slice(0, answersShown).map((a) => `> ${a.title}：${a.value}`),
    ];
    const hidden = lead.answers.length - answersShown;
    if (hidden > 0) lines.push(comment(cutNote(hidden)));
    return markdown(lines.join('\n'));
  },
  digest(leads: readonly Lead[]) {
    const lines = leads.map(
      (lead, index) => `> ${index + 1}. ${sentence(lead)} ${comment(lead.time)}`,
    );
    return markdown([`**${digestHeadline(leads.length)}**`, ...lines].join('\n'));
  },
  fits: (payload) => utf8Bytes(contentOf(payload)) <= MAX_CONTENT_BYTES,
  request: (payload, { url }) => ({ url, body: JSON.stringify(payload) }),
  verdict: (body) =>
    verdictFor(codeOf(body, 'errcode'), {
      // 45009: api freq out of limit (more than 20 messages a minute).
      throttle: [45009],
      // WeCom documents no penalty length: one minute lets the window empty.
      pauseMs: 60_000,
      refused: {
        93000: 'the robot key is invalid or the robot was removed (93000)',
        40058: 'the robot refused the message as invalid (40058)',
        40008: 'the robot refused the message type (40008)',
        44004: 'the robot refused an empty message (44004)',
      },
    }),
};
