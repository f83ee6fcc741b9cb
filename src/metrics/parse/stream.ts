// Ties the metric path together for `mlrun -- cmd`: copies of the command's stdout/stderr chunks
// come in with the time they were read; complete lines are matched; the points go to the sink.
import { LineSplitter } from './lines.ts';
import type { Metric } from '../../tracking/store.ts';
import type { MetricConfig } from './config.ts';
import { PointExtractor, type LastPoint } from './points.ts';

export type OutputStream = 'stdout' | 'stderr';
/** `--metrics-from`: which of the command's outputs is matched. */
export type MetricsFrom = OutputStream | 'both';

export interface PointSink {
  push(point: Metric): void;
}

export interface MetricStreamStats {
  /** Complete lines read from the matched outputs. */
  lines: number;
  /** Points produced (handed to the sink). */
  points: number;
  /** Distinct metric keys. */
  keys: number;
}

/** False when nothing would be matched (`--metrics none`, or no pattern at all). */
export function metricsEnabled(config: MetricConfig): boolean {
  return config.enabled && (config.defaults || config.patterns.length > 0 || config.named.length > 0);
}

export class MetricStream {
  private readonly extractor: PointExtractor | undefined;
  private readonly splitters: Partial<Record<OutputStream, LineSplitter>> = {};
  /** The time the chunk being split was read: each line keeps the time its end arrived. */
  private readTime = 0;
  private lines = 0;
  private points = 0;

  constructor(config: MetricConfig, sink: PointSink, from: MetricsFrom = 'stdout') {
    if (!metricsEnabled(config)) return;
    const extractor = new PointExtractor(config, (point) => sink.push(point));
    this.extractor = extractor;
    const onLine = (text: string, start: number, end: number): void => {
      this.lines++;
      this.points += extractor.extract(text, start, end, this.readTime);
    };
    if (from !== 'stderr') this.splitters.stdout = new LineSplitter(onLine);
    if (from !== 'stdout') this.splitters.stderr = new LineSplitter(onLine);
  }

  /** A copy of a chunk the command wrote, and when it was read (ms since the epoch). */
  write(stream: OutputStream, chunk: Uint8Array, timestamp: number): void {
    const splitter = this.splitters[stream];
    if (splitter === undefined) return;
    this.readTime = timestamp;
    splitter.write(chunk);
  }

  /** The stream closed: its last line, even without a newline, is matched now. */
  end(stream: OutputStream, timestamp: number): void {
    const splitter = this.splitters[stream];
    if (splitter === undefined) return;
    this.readTime = timestamp;
    splitter.end();
  }

  /** Each key with its latest point, as MLflow will show it. */
  lastPoints(): Map<string, LastPoint> {
    return this.extractor?.lastPoints() ?? new Map();
  }

  stats(): MetricStreamStats {
    return { lines: this.lines, points: this.points, keys: this.extractor?.keyCount ?? 0 };
  }
}
