// nvidia-smi's CSV lines (--format=csv,noheader,nounits), as mlrun's queries make it print them:
// there is no GPU on the machines that run these tests.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { parseComputeAppLine, parseGpuLine } from '../../src/system/gpu.ts';
import { repoRoot } from '../support/paths.ts';

const MIB = 1024 * 1024;
const lines = (name: string) => fs.readFileSync(path.join(repoRoot, 'test/fixtures/system', name), 'utf8').trimEnd().split('\n');

test('GPU lines: index, utilization, memory in MiB, power; [N/A] fields are missing, not zero', () => {
  assert.deepEqual(lines('nvidia-smi-gpu.csv').map(parseGpuLine), [
    { index: 0, utilizationPercent: 87, memoryUsedBytes: 10240 * MIB, memoryTotalBytes: 40960 * MIB, powerWatts: 251.37, powerLimitWatts: 400 },
    { index: 1, utilizationPercent: 0, memoryUsedBytes: 4 * MIB, memoryTotalBytes: 40960 * MIB, powerWatts: 55.12, powerLimitWatts: 400 },
    { index: 0, utilizationPercent: 91, memoryUsedBytes: 10496 * MIB, memoryTotalBytes: 40960 * MIB, powerWatts: 262.8, powerLimitWatts: 400 },
    { index: 1, utilizationPercent: 0, memoryUsedBytes: 4 * MIB, memoryTotalBytes: 40960 * MIB, powerWatts: undefined, powerLimitWatts: undefined },
  ]);
});

test('process lines: pid and GPU memory in MiB; a process whose memory cannot be read is skipped', () => {
  assert.deepEqual(lines('nvidia-smi-compute-apps.csv').map(parseComputeAppLine), [{ pid: 48213, usedBytes: 10234 * MIB }, { pid: 48377, usedBytes: 256 * MIB }, undefined]);
});

test('what is not a line of the query is no reading: messages, a header, other columns', () => {
  for (const line of ['No devices were found', 'index, utilization.gpu [%], memory.used [MiB]', '', '0, 87, 10240']) {
    assert.equal(parseGpuLine(line), undefined, line);
  }
  for (const line of ['No running processes found', 'pid, used_gpu_memory [MiB]', '48213']) assert.equal(parseComputeAppLine(line), undefined, line);
});
