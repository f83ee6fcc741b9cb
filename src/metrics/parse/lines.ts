// Turns the bytes a command writes into the lines a person sees, for matching. The bytes themselves
// go to the terminal elsewhere, unchanged; this only gets copies of the chunks.
//
// - A line ends at `\n`; `\r\n` counts as `\n`, also when split across two chunks.
// - `\r` not followed by `\n` moves back to column 0 and the next text written replaces the line:
//   progress bars (tqdm, Keras) redraw the whole line after `\r`, so only the final state of a
//   redrawn line is emitted, once, when its `\n` arrives.
// - `\b` erases the character before it (spinners, Keras' `\b` runs before its `\r`).
// - Invalid UTF-8 becomes U+FFFD; a character split across chunks is joined (StringDecoder).
// - At most `maxLineChars` of a line is kept. An over-long line is cut back to its last whitespace
//   within the cap, so no number is cut in half, and the rest up to the next `\n` is skipped.
import { StringDecoder } from 'node:string_decoder';

export const MAX_LINE_CHARS = 64 * 1024;

/**
 * Receives each line as the range text[start, end), without its `\n`: most lines are handed over
 * as a range of the decoded chunk, so splitting allocates nothing per line. The lines of one chunk
 * come with the very same `text`, at increasing positions.
 */
export type LineHandler = (text: string, start: number, end: number) => void;

const LF = 10;
const CR = 13;
const BS = 8;

export class LineSplitter {
  private readonly onLine: LineHandler;
  private readonly maxLineChars: number;
  private readonly decoder = new StringDecoder('utf8');
  /** Text of the current line so far (already redrawn and capped). */
  private pending = '';
  /** A `\r` was seen: the next text starts the line over, unless `\n` comes first. */
  private carriageReturn = false;
  /** The current line hit the cap; its further text is skipped. */
  private truncated = false;

  constructor(onLine: LineHandler, maxLineChars = MAX_LINE_CHARS) {
    this.onLine = onLine;
    this.maxLineChars = maxLineChars;
  }

  write(chunk: Uint8Array): void {
    const text = this.decoder.write(chunk);
    if (text.length > 0) this.scan(text);
  }

  /** Flushes the decoder and a last line that has no `\n`. */
  end(): void {
    const rest = this.decoder.end();
    if (rest.length > 0) this.scan(rest);
    if (this.pending.length > 0) this.emit();
    this.pending = '';
    this.carriageReturn = false;
    this.truncated = false;
  }

  private scan(text: string): void {
    const length = text.length;
    // Where the next `\r` and `\b` are (length: none left): the lines before them are plain
    // text. Each is searched again only once passed, so a chunk costs one pass per character.
    let cr = indexOrEnd(text, '\r', 0);
    let bs = indexOrEnd(text, '\b', 0);
    let start = 0;
    while (start < length) {
      let newline = text.indexOf('\n', start);
      if (newline === -1) newline = length;
      if (cr < start) cr = indexOrEnd(text, '\r', start);
      if (bs < start) bs = indexOrEnd(text, '\b', start);
      const plain = cr >= newline && bs >= newline;
      const complete = newline < length;
      if (plain && complete && this.pending.length === 0 && !this.carriageReturn && !this.truncated && newline - start <= this.maxLineChars) {
        // The common case: a whole plain line inside this chunk, handed over as a range of it.
        this.onLine(text, start, newline);
      } else {
        if (plain) this.append(text, start, newline);
        else this.applyControls(text, start, newline);
        if (complete) this.emit();
      }
      start = newline + 1;
    }
  }

  private applyControls(text: string, from: number, to: number): void {
    let start = from;
    for (let i = from; i < to; i++) {
      const code = text.charCodeAt(i);
      if (code !== CR && code !== BS) continue;
      this.append(text, start, i);
      if (code === CR) this.carriageReturn = true;
      else this.backspace();
      start = i + 1;
    }
    this.append(text, start, to);
  }

  private append(text: string, from: number, to: number): void {
    if (from >= to) return;
    if (this.carriageReturn) {
      this.carriageReturn = false;
      this.pending = '';
      this.truncated = false;
    }
    if (this.truncated) return;
    const room = this.maxLineChars - this.pending.length;
    if (to - from <= room) {
      this.pending += text.slice(from, to);
    } else {
      this.pending = this.cut(this.pending + text.slice(from, from + room + 1));
      this.truncated = true;
    }
  }

  private backspace(): void {
    // At column 0 (after `\r`) a backspace has nothing to erase; in a cut line the end is gone.
    if (this.carriageReturn || this.truncated || this.pending.length === 0) return;
    const last = this.pending.charCodeAt(this.pending.length - 1);
    const isLowSurrogate = last >= 0xdc00 && last <= 0xdfff && this.pending.length > 1;
    this.pending = this.pending.slice(0, this.pending.length - (isLowSurrogate ? 2 : 1));
  }

  /** Keeps at most the cap, ending at whitespace so the last token is whole. */
  private cut(overlong: string): string {
    let end = Math.min(overlong.length, this.maxLineChars + 1);
    while (end > 0 && !isWhitespace(overlong.charCodeAt(end - 1))) end--;
    this.truncated = true;
    return overlong.slice(0, Math.max(0, end - 1));
  }

  private emit(): void {
    const line = this.pending;
    this.pending = '';
    this.carriageReturn = false;
    this.truncated = false;
    this.onLine(line, 0, line.length);
  }
}

function indexOrEnd(text: string, char: string, from: number): number {
  const index = text.indexOf(char, from);
  return index === -1 ? text.length : index;
}

function isWhitespace(code: number): boolean {
  return code === 32 || code === 9 || code === 11 || code === 12 || code === LF || code === CR;
}
