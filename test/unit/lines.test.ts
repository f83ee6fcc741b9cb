import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { LineSplitter, MAX_LINE_CHARS } from '../../src/metrics/parse/lines.ts';

/** The lines a sequence of chunks gives, end() included. */
function split(chunks: (string | Uint8Array)[], maxLineChars?: number): string[] {
  const lines: string[] = [];
  const splitter = new LineSplitter((text, start, end) => lines.push(text.slice(start, end)), maxLineChars);
  for (const chunk of chunks) splitter.write(typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk);
  splitter.end();
  return lines;
}

/** Every way of cutting `text` into two chunks gives `expected`. */
function assertEverySplit(text: string, expected: string[]): void {
  const bytes = Buffer.from(text, 'utf8');
  for (let cut = 0; cut <= bytes.length; cut++) {
    assert.deepEqual(split([bytes.subarray(0, cut), bytes.subarray(cut)]), expected, `cut at byte ${cut}`);
  }
}

describe('LineSplitter', () => {
  test('splits at \\n, keeps empty lines, drops nothing', () => {
    assert.deepEqual(split(['a=1\nb=2\n\nc=3\n']), ['a=1', 'b=2', '', 'c=3']);
  });

  test('\\r\\n ends a line like \\n, also when split between two chunks', () => {
    assert.deepEqual(split(['loss=1\r\nloss=2\r\n']), ['loss=1', 'loss=2']);
    assert.deepEqual(split(['loss=1\r', '\nloss=2\r', '\n']), ['loss=1', 'loss=2']);
    assertEverySplit('loss=1\r\nacc=2\r\n', ['loss=1', 'acc=2']);
  });

  test('tqdm redraws: one line, its final state', () => {
    const redraws = [' 0%|          | 0/3 [00:00<?, ?it/s]', ' 33%|███▎      | 1/3 [00:00<00:00, 9.8it/s, loss=0.9]', ' 67%|██████▋   | 2/3 [00:00<00:00, 9.9it/s, loss=0.5]', '100%|██████████| 3/3 [00:00<00:00, 9.9it/s, loss=0.2]'];
    const output = `${redraws.map((state) => `\r${state}`).join('')}\n`;
    assert.deepEqual(split([output]), [redraws[3]]);
    assertEverySplit(output, [redraws[3] as string]);
    // Written one redraw at a time, as tqdm does.
    assert.deepEqual(split([...redraws.map((state) => `\r${state}`), '\n']), [redraws[3]]);
  });

  test('a redraw after which a new line is printed: the \\r state is replaced, not kept', () => {
    assert.deepEqual(split(['step 1 loss=0.9\rstep 2 loss=0.5\rdone\n']), ['done']);
    assert.deepEqual(split(['\r\r\rlast\r\r\n']), ['last']);
  });

  test('Keras progress bar: backspaces, \\r, final state, newline', () => {
    const states = ['1/3 [=========>....................] - ETA: 0s - loss: 0.9000', '2/3 [===================>..........] - ETA: 0s - loss: 0.8000', '3/3 [==============================] - 0s 2ms/step - loss: 0.7000'];
    let output = 'Epoch 1/1\n';
    let previous = 0;
    for (const state of states) {
      output += `${'\b'.repeat(previous)}\r${state}`;
      previous = state.length;
    }
    output += '\n';
    assert.deepEqual(split([output]), ['Epoch 1/1', states[2]]);
    assertEverySplit(output, ['Epoch 1/1', states[2] as string]);
  });

  test('a backspace erases the character before it, a whole surrogate pair at once', () => {
    assert.deepEqual(split(['loss=0.59\b1\n']), ['loss=0.51']);
    assert.deepEqual(split(['spin |\b/\b-\b\\\b done\n']), ['spin  done']);
    assert.deepEqual(split(['a😀\bb\n']), ['ab']);
    assert.deepEqual(split(['\b\bx\n']), ['x']);
  });

  test('chunks split mid-line and mid-UTF-8 character', () => {
    assertEverySplit('précision=0.5 ✓\nloss=1\n', ['précision=0.5 ✓', 'loss=1']);
    const bytes = Buffer.from('€=1\n😀 x=2\n', 'utf8');
    assert.deepEqual(split([...bytes].map((byte) => Uint8Array.of(byte))), ['€=1', '😀 x=2']);
  });

  test('a last line without a newline is flushed by end()', () => {
    assert.deepEqual(split(['a=1\nloss=0.5']), ['a=1', 'loss=0.5']);
    assert.deepEqual(split(['a=1\nlo', 'ss=0.', '5']), ['a=1', 'loss=0.5']);
    assert.deepEqual(split(['a=1\n']), ['a=1']);
    assert.deepEqual(split([]), []);
  });

  test('invalid UTF-8 becomes U+FFFD, nothing crashes, the line is kept', () => {
    const bytes = Buffer.concat([Buffer.from('loss=0.5 '), Buffer.from([0xff, 0xfe, 0xc3]), Buffer.from('\nacc=1\n')]);
    assert.deepEqual(split([bytes]), ['loss=0.5 \ufffd\ufffd\ufffd', 'acc=1']);
    assert.deepEqual(split([Buffer.from([0xe2, 0x82])]), ['\ufffd']);
  });

  test('a 10 MB line: no crash, at most the cap is kept, cut at whitespace, the next line is intact', () => {
    const word = 'loss=0.123456 ';
    const huge = word.repeat(Math.ceil((10 * 1024 * 1024) / word.length));
    const bytes = Buffer.from(`${huge}\nacc=0.9\n`);
    const lines: string[] = [];
    let longest = 0;
    const splitter = new LineSplitter((text, start, end) => {
      lines.push(text.slice(start, end));
      longest = Math.max(longest, end - start);
    });
    for (let offset = 0; offset < bytes.length; offset += 65536) splitter.write(bytes.subarray(offset, offset + 65536));
    splitter.end();
    assert.equal(lines.length, 2);
    assert.ok(longest <= MAX_LINE_CHARS, `longest line ${longest}`);
    // Whole tokens only: the cut never leaves half a number.
    assert.match(lines[0] as string, /^(loss=0\.123456 )*loss=0\.123456$/);
    assert.equal(lines[1], 'acc=0.9');
    // The same in one piece, and with \r redraws of an over-long line.
    assert.deepEqual(split([bytes]).map((line) => line.length), [(lines[0] as string).length, 7]);
    assert.deepEqual(split([`${'x'.repeat(200)}\rshort\n`], 100), ['short']);
  });

  test('an over-long line without whitespace is kept as empty, not as half a token', () => {
    assert.deepEqual(split([`${'9'.repeat(300)}\nok=1\n`], 100), ['', 'ok=1']);
    assert.deepEqual(split([`a=1 ${'9'.repeat(300)}\n`], 100), ['a=1']);
  });
});
