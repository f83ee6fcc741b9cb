/** What the rest of mlrun uses from `dvc/` (which knows nothing of MLflow). */
export { parseStageAddress } from './address.ts';
export type { StageAddress } from './address.ts';
export { readDvcliveHistory, dvcliveDirsOf, parseMetricTsv } from './dvclive.ts';
export type { MetricPoint } from './dvclive.ts';
export { DvcError } from './errors.ts';
export { findRunningStage, locateStage } from './locate.ts';
export type { LocateOptions, Located } from './locate.ts';
export { readLock } from './lock.ts';
export type { LockEntry, LockStage } from './lock.ts';
export { readMetricsFile, flattenMetrics } from './metrics-files.ts';
export { readStageParams } from './params.ts';
export type { ParamsValues } from './params.ts';
export { Pipeline } from './pipeline.ts';
export type { Output, ParamsDep, Stage } from './stage.ts';
export { Project } from './project.ts';
export { findDvcRoot, findGitRoot } from './root.ts';
