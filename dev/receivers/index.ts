/**
 * Local receivers for tests and `npm start`, over real HTTP on 127.0.0.1 (docs/receivers.md):
 * a `standard` endpoint that verifies every delivery with the official `standardwebhooks`
 * package, and fakes of the WeCom, Feishu and DingTalk robots that keep each robot's rate
 * limit, size limit, signature rule and HTTP-200 answer codes. Each takes scripted faults
 * (`fault()`: down, slow, a status such as 500, 410 or 429 with Retry-After, the robot's
 * invalid-key and throttle answers), counts what arrived (`stats()`), and can print each
 * accepted message (`onDelivery`).
 *
 * Where the robots' docs are silent, the fakes choose, and say so:
 * - every arrival counts toward the rate limit, refused ones included;
 * - WeCom's throttle lasts only while the rolling minute is over 20 (no penalty is documented);
 * - Feishu's 20 KB body limit is 20 × 1024 bytes and answered with 9499;
 * - DingTalk's body limit is 20,000 bytes (460101), a figure clients report, not the docs.
 */
export { DingtalkRobotFake, type DingtalkOptions } from './dingtalk.js';
export { FeishuBotFake, type FeishuOptions } from './feishu.js';
export { RobotFake, type RobotMessage, type RobotOptions } from './robot.js';
export type { ReceiverFault, ReceiverStats } from './server.js';
export { StandardReceiver, type StandardDelivery } from './standard.js';
export { WecomRobotFake } from './wecom.js';
