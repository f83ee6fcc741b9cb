// MLflow's limits on what a run holds (mlflow/utils/validation.py), shared by the embedded store,
// which enforces them as MLflow does, and the commands, which warn before MLflow truncates.
export const MAX_ENTITY_KEY_LENGTH = 250;
export const MAX_PARAM_VAL_LENGTH = 6000;
export const MAX_TAG_VAL_LENGTH = 8000;

// What one log-batch request may carry (validation.py `_validate_batch_log_limits`).
export const MAX_METRICS_PER_BATCH = 1000;
export const MAX_PARAMS_TAGS_PER_BATCH = 100;
export const MAX_ENTITIES_PER_BATCH = 1000;
export const MAX_BATCH_REQUEST_BYTES = 1_000_000;

// Results per page of a search (mlflow/store/tracking/__init__.py SEARCH_MAX_RESULTS_DEFAULT, the
// page the Python client asks for) and metric points per page of a metric's history
// (GET_METRIC_HISTORY_MAX_RESULTS).
export const SEARCH_MAX_RESULTS_DEFAULT = 1000;
export const GET_METRIC_HISTORY_MAX_RESULTS = 25000;
