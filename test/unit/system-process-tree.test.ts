// The command's process tree as /proc shows it, from real processes: each test starts a tree in
// its own process group, which prints the pids it made, and samples it from its root.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { test } from 'node:test';
import { ProcessTree } from '../../src/system/process-tree.ts';
import { venvBin } from '../support/paths.ts';
import { stopProcessGroup } from '../support/processes.ts';

interface Started {
  root: ChildProcess;
  /** The pids the tree printed, once it printed `count` of them. */
  printed: number[];
}

async function startTree(argv: string[], count: number): Promise<Started> {
  const root = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'inherit'], detached: true });
  const printed: number[] = [];
  for await (const line of readline.createInterface({ input: root.stdout! })) {
    printed.push(Number(line));
    if (printed.length === count) break;
  }
  assert.equal(printed.length, count, 'the tree printed its pids');
  return { root, printed };
}

const sorted = (pids: number[]) => [...pids].sort((a, b) => a - b);

test('a shell with a child, a grandchild shell and its two children: exactly those five; none once it is gone', async () => {
  const script = `sleep 30 & echo $!; sh -c 'sleep 30 & echo $!; sleep 30 & echo $!; echo $$; wait' & wait`;
  const { root, printed } = await startTree(['sh', '-c', script], 4);
  const tree = new ProcessTree(root.pid!);
  try {
    const sample = tree.sample();
    assert.deepEqual(sorted(sample!.pids), sorted([root.pid!, ...printed]));
    assert.ok(sample!.rssBytes > 0 && sample!.largestPeakBytes > 0, 'the processes hold memory');
  } finally {
    await stopProcessGroup(root, 'SIGKILL');
  }
  assert.equal(tree.sample(), undefined);
});

test('a child started by a thread other than the main one is in the tree (each thread lists its own children)', async () => {
  const worker = `new (require('node:worker_threads').Worker)("console.log(require('node:child_process').spawn('sleep', ['30']).pid)", { eval: true })`;
  const { root, printed } = await startTree([process.execPath, '-e', worker], 1);
  try {
    assert.deepEqual(sorted(new ProcessTree(root.pid!).sample()!.pids), sorted([root.pid!, ...printed]));
  } finally {
    await stopProcessGroup(root, 'SIGKILL');
  }
});

test('a process that exited and was not reaped yet is gone: no sample, so no memory of 0 in the histories', async () => {
  // `sleep 30` does not wait for the child the shell left it.
  const { root, printed } = await startTree(['sh', '-c', 'sleep 0 & echo $!; exec sleep 30'], 1);
  const zombie = printed[0]!;
  try {
    while (!/\) Z /.test(fs.readFileSync(`/proc/${zombie}/stat`, 'latin1'))) await new Promise((resolve) => setTimeout(resolve, 5));
    assert.equal(new ProcessTree(zombie).sample(), undefined);
    assert.equal(new ProcessTree(zombie).sample(false), undefined);
  } finally {
    await stopProcessGroup(root, 'SIGKILL');
  }
});

test('a process whose main thread ended while another runs on (its /proc stat says Z) keeps its children in the tree', async () => {
  const script = [
    'import ctypes, subprocess, threading, time',
    "threading.Thread(target=lambda: (print(subprocess.Popen(['sleep', '30']).pid, flush=True), time.sleep(30))).start()",
    'time.sleep(0.1)',
    // ctypes lets go of the GIL around the call: the other thread runs on.
    'ctypes.CDLL(None).pthread_exit(None)',
  ].join('\n');
  const { root, printed } = await startTree([path.join(venvBin, 'python'), '-c', script], 1);
  try {
    while (!/\) Z /.test(fs.readFileSync(`/proc/${root.pid}/stat`, 'latin1'))) await new Promise((resolve) => setTimeout(resolve, 5));
    assert.deepEqual(sorted(new ProcessTree(root.pid!).sample()!.pids), sorted([root.pid!, ...printed]));
  } finally {
    await stopProcessGroup(root, 'SIGKILL');
  }
});
