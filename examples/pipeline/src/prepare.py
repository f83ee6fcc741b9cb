"""prepare: generate one split of a synthetic customer-churn table (Python 3 standard library only).

    python3 src/prepare.py <train|val|test> --rows N --val-size F --test-size F --seed S

The whole table (N rows) is drawn from one seeded generator, then cut in order into
train / val / test, so every split is reproducible on its own and the three never overlap.
Writes data/prepared/<split>.csv and prints one metric line, e.g. `rows=1800 positives=0.4406`.
"""

import argparse
import math
import os
import random

SPLITS = ("train", "val", "test")
FEATURES = ("tenure_months", "monthly_spend", "support_calls", "logins_per_week")
LABEL = "churned"
CHURN_RATE = 0.45


def gauss(rng: random.Random, mu: float, sigma: float) -> float:
    """Box-Muller on rng.random(): only rng.random() is guaranteed stable across Python versions."""
    u1 = 1.0 - rng.random()  # (0, 1]
    u2 = rng.random()
    return mu + sigma * math.sqrt(-2.0 * math.log(u1)) * math.cos(2.0 * math.pi * u2)


def customer(rng: random.Random) -> tuple:
    """One row: churners are newer, call support more and log in less; spend barely matters."""
    churned = 1 if rng.random() < CHURN_RATE else 0
    if churned:
        tenure = gauss(rng, 14, 9)
        spend = gauss(rng, 72, 22)
        calls = gauss(rng, 3.2, 1.6)
        logins = gauss(rng, 3.0, 2.0)
    else:
        tenure = gauss(rng, 30, 14)
        spend = gauss(rng, 64, 20)
        calls = gauss(rng, 1.4, 1.2)
        logins = gauss(rng, 5.5, 2.4)
    return (
        str(max(0, round(tenure))),
        f"{max(5.0, spend):.2f}",
        str(max(0, round(calls))),
        f"{max(0.0, logins):.1f}",
        str(churned),
    )


def split_bounds(rows: int, val_size: float, test_size: float) -> dict:
    n_val = round(rows * val_size)
    n_test = round(rows * test_size)
    n_train = rows - n_val - n_test
    if n_train <= 0 or n_val <= 0 or n_test <= 0:
        raise SystemExit(f"prepare: bad sizes: rows={rows} val_size={val_size} test_size={test_size}")
    return {
        "train": (0, n_train),
        "val": (n_train, n_train + n_val),
        "test": (n_train + n_val, rows),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("split", choices=SPLITS)
    parser.add_argument("--rows", type=int, default=3000)
    parser.add_argument("--val-size", type=float, default=0.2)
    parser.add_argument("--test-size", type=float, default=0.2)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--out-dir", default="data/prepared")
    args = parser.parse_args()

    start, end = split_bounds(args.rows, args.val_size, args.test_size)[args.split]
    rng = random.Random(args.seed)
    table = [customer(rng) for _ in range(args.rows)]
    rows = table[start:end]

    os.makedirs(args.out_dir, exist_ok=True)
    path = os.path.join(args.out_dir, f"{args.split}.csv")
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write(",".join(FEATURES + (LABEL,)) + "\n")
        for row in rows:
            f.write(",".join(row) + "\n")

    positives = sum(int(row[-1]) for row in rows) / len(rows)
    print(f"wrote {path}")
    print(f"rows={len(rows)} positives={positives:.4f}")


if __name__ == "__main__":
    main()
