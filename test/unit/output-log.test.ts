import assert from 'node:assert/strict';
import fs from 'node:fs';
import { test } from 'node:test';
import { OutputLog } from '../../src/process/output-log.ts';
import { tempFolder } from '../../src/process/temp-files.ts';

/** The log of `chunks` written with a 10-byte head and a 16-byte tail. */
function logOf(chunks: string[]): string {
  const log = new OutputLog(`unit-${process.hrtime.bigint()}`, { headBytes: 10, tailBytes: 16 });
  try {
    for (const chunk of chunks) log.write(Buffer.from(chunk));
    log.finish();
    return fs.readFileSync(log.path, 'utf8');
  } finally {
    log.close();
  }
}

test('the log and its ring have no name in the temp folder, and are gone once closed', () => {
  const name = `unit-${process.hrtime.bigint()}`;
  const log = new OutputLog(name, { headBytes: 10, tailBytes: 16 });
  log.write(Buffer.from('0123456789 and the tail, written to the ring'));
  log.finish();
  assert.deepEqual(fs.readdirSync(tempFolder()).filter((file) => file.includes(name)), []);
  assert.equal(fs.readFileSync(log.path, 'utf8'), '0123456789\n[mlrun: 18 bytes of output omitted here]\ntten to the ring');
  log.close();
  assert.throws(() => fs.readFileSync(log.path), { code: 'ENOENT' });
});

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

test('many small chunks and some over 64 KiB, gathered into fewer writes: the same head and tail', () => {
  // Sizes from 1 byte to 100 KiB, bytes that differ by position, so any reordering shows.
  const sizes = Array.from({ length: 400 }, (_, i) => (i % 50 === 49 ? 100_000 + i : 1 + ((i * 7919) % 9000)));
  const all = Buffer.alloc(sizes.reduce((a, b) => a + b, 0));
  for (let i = 0; i < all.length; i++) all[i] = (i * 31 + (i >> 8)) & 0xff;
  const log = new OutputLog(`unit-${process.hrtime.bigint()}`, { headBytes: 100_000, tailBytes: 300_000 });
  try {
    let at = 0;
    for (const size of sizes) {
      log.write(all.subarray(at, at + size));
      at += size;
    }
    log.finish();
    const expected = Buffer.concat([
      all.subarray(0, 100_000),
      Buffer.from(`\n[mlrun: ${all.length - 400_000} bytes of output omitted here]\n`),
      all.subarray(all.length - 300_000),
    ]);
    assert.ok(fs.readFileSync(log.path).equals(expected));
  } finally {
    log.close();
  }
});
