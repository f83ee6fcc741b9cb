// Everything mlrun itself says goes through here: one line each, prefixed `mlrun:`, with every
// known secret taken out, on stderr (stdout belongs to the command).
import { redactSecrets } from './tracking/redact.ts';

const DISK_FULL = /ENOSPC|no space left on device|database or disk is full/i;

export class Reporter {
  /** How many tracking problems were reported: `--strict` turns any into a failed exit. */
  problems = 0;
  readonly verbose: boolean;
  readonly #secrets: readonly string[];
  #diskFullSaid = false;

  /** `secrets` is what secretsOf found in the environment and the command line. */
  constructor(options: { verbose: boolean; secrets: readonly string[] }) {
    this.verbose = options.verbose;
    this.#secrets = options.secrets;
  }

  /** A tracking problem: the command is not affected. */
  warn(message: string): void {
    this.problems += 1;
    // One full disk makes every later write fail the same way: the first line says it all.
    if (DISK_FULL.test(message)) {
      if (this.#diskFullSaid) return;
      this.#diskFullSaid = true;
    }
    this.say(message);
  }

  /** Only with --verbose. */
  info(message: string): void {
    if (this.verbose) this.say(message);
  }

  say(message: string): void {
    process.stderr.write(`mlrun: ${this.clean(message)}\n`);
  }

  clean(message: string): string {
    return redactSecrets(message.replace(/\s*[\r\n]+\s*/g, ' ').trim(), this.#secrets);
  }
}

export function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** `1 run`, `3 runs`. */
export function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

/** In decimal units (1 MB = 1000 KB): `8.4 MB`. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit += 1;
  }
  return unit === 0 ? `${Math.round(value)} B` : `${value.toFixed(1)} ${units[unit]}`;
}
