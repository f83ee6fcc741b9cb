// How runs/show/diff print: plain text in columns, fitted to the terminal's width; colour and
// status symbols only for a person at a terminal (stdout a TTY, NO_COLOR unset: no-color.org).
import type { RunStatus } from '../tracking/store.ts';

export interface Style {
  /** Colour and symbols. */
  color: boolean;
  /** Columns the output may take: the terminal's, else COLUMNS, else no limit. */
  width: number;
}

export function outputStyle(env: NodeJS.ProcessEnv): Style {
  const tty = process.stdout.isTTY === true;
  const columns = tty ? process.stdout.columns : Number(env.COLUMNS);
  return { color: tty && !env.NO_COLOR, width: Number.isInteger(columns) && columns > 0 ? columns : Infinity };
}

/** A stage DVC did not run in the launch: its outputs were up to date (or a stage before it failed). */
export type ShownStatus = RunStatus | 'SKIPPED';

const STATUS_LOOK: Record<ShownStatus, { symbol: string; color: number }> = {
  FINISHED: { symbol: '✓', color: 32 },
  FAILED: { symbol: '✗', color: 31 },
  KILLED: { symbol: '✗', color: 31 },
  RUNNING: { symbol: '●', color: 33 },
  SCHEDULED: { symbol: '○', color: 33 },
  SKIPPED: { symbol: '–', color: 2 },
};

export interface Cell {
  text: string;
  /** SGR colour code applied when the style has colour. */
  color?: number;
}

export function statusCell(status: ShownStatus, style: Style): Cell {
  const look = STATUS_LOOK[status];
  return style.color ? { text: `${look.symbol} ${status}`, color: look.color } : { text: status };
}

export interface Column {
  header: string;
  align?: 'right';
  /** Left out, from the last one back, when the table is wider than the terminal. */
  optional?: boolean;
}

const GAP = '  ';
const NARROWEST_FIRST_COLUMN = 12;

/**
 * The lines of a table as `dvc metrics diff` prints one (tabulate's plain format: headers, no
 * rules, two spaces between columns). Optional columns go while it is too wide; then the first
 * column is cut short with `…`.
 */
export function renderTable(columns: Column[], rows: Cell[][], style: Style): string[] {
  let shown = columns.map((_, index) => index);
  const widthOf = (index: number) => Math.max(columns[index]!.header.length, ...rows.map((row) => length(row[index]?.text ?? '')));
  const total = (indexes: number[]) => indexes.reduce((sum, index) => sum + widthOf(index), 0) + GAP.length * (indexes.length - 1);
  while (total(shown) > style.width) {
    const last = shown.findLastIndex((index) => columns[index]!.optional);
    if (last === -1) break;
    shown = shown.filter((_, position) => position !== last);
  }
  const widths = shown.map(widthOf);
  const over = total(shown) - style.width;
  if (over > 0) widths[0] = Math.max(NARROWEST_FIRST_COLUMN, widths[0]! - over);
  const line = (cells: Cell[]) =>
    shown
      .map((index, position) => {
        const cell = cells[index] ?? { text: '' };
        const text = cut(cell.text, widths[position]!);
        const padding = ' '.repeat(widths[position]! - length(text));
        const last = position === shown.length - 1;
        const padded = columns[index]!.align === 'right' ? padding + paint(text, cell, style) : paint(text, cell, style) + (last ? '' : padding);
        return padded;
      })
      .join(GAP);
  return [line(columns.map((column) => ({ text: column.header }))), ...rows.map(line)];
}

export function paint(text: string, cell: Cell, style: Style): string {
  return style.color && cell.color !== undefined ? `\x1b[${cell.color}m${text}\x1b[0m` : text;
}

/** Characters as the terminal shows them: a code point each. */
function length(text: string): number {
  return [...text].length;
}

function cut(text: string, width: number): string {
  const chars = [...text];
  return chars.length <= width ? text : `${chars.slice(0, width - 1).join('')}…`;
}

/** A start time as the launch names show it: local time, `2026-12-07 14:03:21`. */
export function formatTime(ms: number): string {
  const date = new Date(ms);
  const two = (n: number) => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${two(date.getMonth() + 1)}-${two(date.getDate())} ${two(date.getHours())}:${two(date.getMinutes())}:${two(date.getSeconds())}`;
}

/** `0.4s`, `12.3s`, `4m05s`, `2h03m`. */
export function formatDuration(ms: number): string {
  const seconds = ms / 1000;
  if (seconds < 60) return `${seconds.toFixed(1)}s`;
  const whole = Math.round(seconds);
  if (whole < 3600) return `${Math.floor(whole / 60)}m${String(whole % 60).padStart(2, '0')}s`;
  return `${Math.floor(whole / 3600)}h${String(Math.floor((whole % 3600) / 60)).padStart(2, '0')}m`;
}

/** As `dvc metrics diff` rounds them (its default precision, 5 digits after the point). */
export function formatNumber(value: number): string {
  return Number.isFinite(value) ? String(Number(value.toFixed(5))) : String(value);
}
