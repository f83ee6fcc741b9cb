import assert from 'node:assert/strict';
import fs from 'node:fs';
import { test } from 'node:test';
import { OutputLog } from '../../src/process/output-log.ts';

/** The log of `chunks` written with a 10-byte head and a 16-byte tail. */
function logOf(chunks: string[]): string {
  const log = new OutputLog(`unit-${process.hrtime.bigint()}`, { headBytes: 10, tailBytes: 16 });
  try {
    for (const chunk of chunks) log.write(Buffer.from(chunk));
    log.finish();
    assert.equal(fs.existsSync(`${log.path}.tail`), false, 'the ring file is removed');
    return fs.readFileSync(log.path, 'utf8');
  } finally {
    log.remove();
  }
}

test('output within head and tail is kept whole, in order', () => {
  assert.equal(logOf(['0123456', '789abcdef', 'ghijklmnop']), '0123456789abcdefghijklmnop');
});

test('beyond head and tail: the head, a line saying how much is omitted, and exactly the last tail bytes', () => {
  const rest = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
  // Chunks that wrap around the ring at every size, and one longer than the whole ring.
  const chunks = ['0123456789', ...rest.match(/.{1,7}/g)!, 'x'.repeat(5), '#'.repeat(40), 'the end'];
  const tail = (rest + 'x'.repeat(5) + '#'.repeat(40) + 'the end').slice(-16);
  const omitted = rest.length + 5 + 40 + 7 - 16;
  assert.equal(logOf(chunks), `0123456789\n[mlrun: ${omitted} bytes of output omitted here]\n${tail}`);
});

test('a tail of exactly the ring size omits nothing', () => {
  assert.equal(logOf(['0123456789', 'ABCDEFGHIJKLMNOP']), '0123456789ABCDEFGHIJKLMNOP');
});
