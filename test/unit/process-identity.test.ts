import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import { test } from 'node:test';
import { processState, thisProcess } from '../../src/process/process-identity.ts';

test('this process is running; a pid that now names another process is not the one recorded', () => {
  const self = thisProcess();
  assert.equal(self.pid, process.pid);
  assert.match(self.start!, /^[0-9a-f-]{36}\/\d+$/);
  assert.equal(processState(self), 'running');
  // The same pid with another start time: the recorded process ended and its pid was reused.
  const [boot, ticks] = self.start!.split('/');
  assert.equal(processState({ ...self, start: `${boot}/${Number(ticks) + 1}` }), 'ended');
  // A process of an earlier boot has ended, whatever runs under its pid today.
  assert.equal(processState({ ...self, start: `00000000-0000-0000-0000-000000000000/${ticks}` }), 'ended');
});

test('a process that exited has ended; without a start time its pid alone is checked', () => {
  const child = spawnSync('true');
  assert.equal(child.status, 0);
  assert.equal(processState({ host: os.hostname(), pid: child.pid! }), 'ended');
  assert.equal(processState({ host: os.hostname(), pid: process.pid }), 'running');
});

test('a process of another host is never judged by its pid', () => {
  assert.equal(processState({ host: `${os.hostname()}-other`, pid: 999_999_999 }), 'elsewhere');
  assert.equal(processState({ ...thisProcess(), host: `${os.hostname()}-other` }), 'elsewhere');
});
