import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { stageRegion } from '../../../cli/serverless-yml.js';

const scratch: string[] = [];
afterEach(async () => {
  await Promise.all(scratch.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

async function serverlessYml(text: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'weiban-sls-'));
  scratch.push(dir);
  const path = join(dir, 'serverless.yml');
  await writeFile(path, text);
  return path;
}

describe('the region serverless.yml deploys a stage to', () => {
  it('is ap-northeast-1 for any stage of this repository’s serverless.yml', () => {
    expect(stageRegion('prod')).toBe('ap-northeast-1');
    expect(stageRegion('dev')).toBe('ap-northeast-1');
  });

  it('is the stage’s own region param, else the default one, with CloudFormation tags around', async () => {
    const path = await serverlessYml(`
provider:
  region: \${opt:region, param:region}
  role: !Sub \${PollRole.Arn}
params:
  default:
    region: ap-northeast-1
  eu:
    region: eu-central-1
  other:
    logLevel: DEBUG
`);

    expect(stageRegion('eu', path)).toBe('eu-central-1');
    expect(stageRegion('other', path)).toBe('ap-northeast-1');
    expect(stageRegion('unlisted', path)).toBe('ap-northeast-1');
  });

  it('is a literal provider.region when serverless.yml sets one', async () => {
    const path = await serverlessYml(`
provider:
  region: us-west-2
params:
  default:
    region: ap-northeast-1
`);

    expect(stageRegion('prod', path)).toBe('us-west-2');
  });

  it('is unknown when only a variable names it, or nothing does', async () => {
    const variable = await serverlessYml(`
params:
  default:
    region: ap-northeast-1
  prod:
    region: \${env:PROD_REGION}
`);
    const none = await serverlessYml('service: x\n');

    expect(stageRegion('prod', variable)).toBeUndefined();
    expect(stageRegion('prod', none)).toBeUndefined();
  });
});
