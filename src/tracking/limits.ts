// MLflow's limits on what a run holds (mlflow/utils/validation.py), shared by the embedded store,
// which enforces them as MLflow does, and the commands, which warn before MLflow truncates.
export const MAX_ENTITY_KEY_LENGTH = 250;
export const MAX_PARAM_VAL_LENGTH = 6000;
export const MAX_TAG_VAL_LENGTH = 8000;
