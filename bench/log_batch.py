"""The MLflow Python client logging N metric points with log_batch, 1000 per call (the comparison
for mlrun's metric delivery). Usage: log_batch.py RUN_ID N KEYS"""
import sys
import time

from mlflow.entities import Metric
from mlflow.tracking import MlflowClient

run_id, total, keys = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
client = MlflowClient()
now = int(time.time() * 1000)
batch = []
for i in range(total):
    key = "value" if keys == 1 else f"k{i % keys}"
    batch.append(Metric(key, float(i), now, i // keys))
    if len(batch) == 1000:
        client.log_batch(run_id, metrics=batch, synchronous=True)
        batch = []
if batch:
    client.log_batch(run_id, metrics=batch, synchronous=True)
