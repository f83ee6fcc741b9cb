// The team set-up at the size of a real stage: outputs of a 600 MiB file and a folder of 2,000
// small files, through mlflow server on PostgreSQL into S3 (moto), proxied and direct, with
// MLflow's default multipart settings. Every object is compared with the local file through the
// S3 API (boto3): sizes and MD5 ETags for the small files, the big file's SHA-256 and its parts.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { runMlrun } from '../support/mlrun.ts';
import { runIdOf, tempProject } from '../support/project.ts';
import { inspectS3 } from '../support/s3.ts';
import { startTeamRig, type ArtifactMode, type TeamRig } from '../support/team-rig.ts';

const MIB = 1024 * 1024;
const BIG_BYTES = 600 * MIB;
const SMALL_FILES = 2000;
// 600 MiB in the proxied server's 10 MiB parts (MLflow's default chunk size, the file above its
// 500 MiB threshold), and in the 8 MiB parts of a direct upload (boto3's default).
const PARTS: Record<ArtifactMode, number> = { proxied: 60, direct: 75 };

let rig: TeamRig;
let project: string;
let bigSha256: string;
const smallMd5 = new Map<string, { size: number; md5: string }>();

before(async () => {
  rig = await startTeamRig();
  project = tempProject('team');
  bigSha256 = writeBigFile(path.join(project, 'big.bin'));
  fs.mkdirSync(path.join(project, 'data'));
  for (let i = 0; i < SMALL_FILES; i++) {
    const bytes = crypto.randomBytes(100 + ((i * 7919) % 4000));
    const name = `data/${String(i).padStart(4, '0')}.bin`;
    fs.writeFileSync(path.join(project, name), bytes);
    smallMd5.set(name, { size: bytes.length, md5: crypto.createHash('md5').update(bytes).digest('hex') });
  }
  fs.writeFileSync(path.join(project, 'dvc.yaml'), 'stages:\n  train:\n    cmd: mlrun -- true\n    outs: [big.bin, data]\n');
});
after(async () => {
  await rig?.stop();
  // 600 MiB is too much to leave in the temp folder after every run.
  if (project) fs.rmSync(project, { recursive: true, force: true });
});

/**
 * Written fast in 8 MiB chunks of one random MiB repeated, each MiB stamped with its index: no
 * two MiB are alike, so a part stored out of place changes the digest. Returns its SHA-256.
 */
function writeBigFile(file: string): string {
  const block = crypto.randomBytes(MIB);
  const chunk = Buffer.alloc(8 * MIB);
  const digest = crypto.createHash('sha256');
  const fd = fs.openSync(file, 'w');
  for (let mib = 0; mib < BIG_BYTES / MIB; mib += 8) {
    for (let i = 0; i < 8; i++) {
      block.copy(chunk, i * MIB);
      chunk.writeBigUInt64BE(BigInt(mib + i), i * MIB);
    }
    fs.writeSync(fd, chunk);
    digest.update(chunk);
  }
  fs.closeSync(fd);
  return digest.digest('hex');
}

for (const mode of ['proxied', 'direct'] as const) {
  test(`${mode}: the 600 MiB file arrives in parts and 2,000 small files one each, every object identical`, async (t) => {
    const started = Date.now();
    const result = await runMlrun(['--no-output-log', '--', 'sh', '-c', 'echo run=$MLFLOW_RUN_ID'], {
      cwd: project,
      env: { MLFLOW_TRACKING_URI: rig.servers[mode].server.uri, ...(mode === 'direct' ? rig.s3.env : {}), DVC_ROOT: project, DVC_STAGE: 'train' },
    });
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(result.messages, []);
    const prefix = `${rig.servers[mode].keyPrefix}0/${runIdOf(result)}/artifacts/`;
    const big = `${prefix}big.bin`;
    const answer = inspectS3(rig.s3, { bucket: rig.bucket, prefix, sha256: [big], uploads: true });
    const objects = answer.objects!;
    assert.equal(Object.keys(objects).length, SMALL_FILES + 1);
    assert.equal(objects[big]!.size, BIG_BYTES);
    assert.match(objects[big]!.etag, new RegExp(`^[0-9a-f]{32}-${PARTS[mode]}$`));
    assert.equal(answer.sha256![big], bigSha256);
    for (const [name, expected] of smallMd5) assert.deepEqual(objects[`${prefix}${name}`], { size: expected.size, etag: expected.md5 }, name);
    assert.deepEqual(answer.uploads, []);
    t.diagnostic(`the stage and the read-back: ${Date.now() - started} ms`);
  });
}
