// train: logistic regression by mini-batch gradient descent (Node.js, standard library only).
//
//   node src/train.mjs --epochs 20 --lr 0.05 --batch-size 128 --l2 0.001 --seed 7 --threshold 0.5
//
// Reads data/features/{train,val}.csv; prints one Keras-like line per epoch:
//   epoch 3/20 - loss: 0.4531 - accuracy: 0.8711 - val_loss: 0.4511 - val_accuracy: 0.8667
// and writes model/model.json, metrics/train.json and plots/train_loss.csv (step,loss).
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { parseArgs } from "node:util";

const { values: opt } = parseArgs({
  options: {
    features: { type: "string", default: "data/features" },
    epochs: { type: "string", default: "20" },
    lr: { type: "string", default: "0.05" },
    "batch-size": { type: "string", default: "128" },
    l2: { type: "string", default: "0.001" },
    seed: { type: "string", default: "7" },
    threshold: { type: "string", default: "0.5" },
    model: { type: "string", default: "model/model.json" },
    metrics: { type: "string", default: "metrics/train.json" },
    plot: { type: "string", default: "plots/train_loss.csv" },
  },
});
const epochs = Number.parseInt(opt.epochs, 10);
const lr = Number(opt.lr);
const batchSize = Number.parseInt(opt["batch-size"], 10);
const l2 = Number(opt.l2);
const seed = Number.parseInt(opt.seed, 10);
const threshold = Number(opt.threshold);
for (const [name, v] of Object.entries({ epochs, lr, batchSize, l2, seed, threshold })) {
  if (!Number.isFinite(v)) throw new Error(`train: --${name} is not a number`);
}

/** A CSV of numeric features with the label in the last column. */
function load(path) {
  const [header, ...lines] = readFileSync(path, "utf8").trimEnd().split("\n");
  const names = header.split(",");
  const X = [];
  const y = [];
  for (const line of lines) {
    const cells = line.split(",").map(Number);
    y.push(cells.pop());
    X.push(cells);
  }
  return { features: names.slice(0, -1), label: names.at(-1), X, y };
}

/** mulberry32: a tiny seeded PRNG, so the same --seed gives byte-identical results everywhere. */
function prng(a) {
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const sigmoid = (z) => 1 / (1 + Math.exp(-z));
const predict = (w, b, x) => sigmoid(x.reduce((s, xi, i) => s + w[i] * xi, b));

/** Mean log loss and accuracy at `threshold`. */
function evaluate(w, b, { X, y }) {
  const eps = 1e-12;
  let loss = 0;
  let correct = 0;
  for (let r = 0; r < X.length; r++) {
    const p = predict(w, b, X[r]);
    loss -= y[r] * Math.log(p + eps) + (1 - y[r]) * Math.log(1 - p + eps);
    if ((p >= threshold ? 1 : 0) === y[r]) correct++;
  }
  return { loss: loss / X.length, accuracy: correct / X.length };
}

const round = (v, digits = 4) => Number(v.toFixed(digits));

const train = load(`${opt.features}/train.csv`);
const val = load(`${opt.features}/val.csv`);
const random = prng(seed);
const d = train.features.length;
let w = Array.from({ length: d }, () => (random() - 0.5) * 0.02);
let b = 0;
const order = train.X.map((_, i) => i);
const history = [];

for (let epoch = 1; epoch <= epochs; epoch++) {
  // Fisher-Yates shuffle with the seeded PRNG.
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  for (let start = 0; start < order.length; start += batchSize) {
    const batch = order.slice(start, start + batchSize);
    const gw = new Array(d).fill(0);
    let gb = 0;
    for (const r of batch) {
      const err = predict(w, b, train.X[r]) - train.y[r];
      for (let i = 0; i < d; i++) gw[i] += err * train.X[r][i];
      gb += err;
    }
    w = w.map((wi, i) => wi - lr * (gw[i] / batch.length + l2 * wi));
    b -= (lr * gb) / batch.length;
  }
  const tr = evaluate(w, b, train);
  const va = evaluate(w, b, val);
  history.push({ step: epoch, loss: tr.loss });
  console.log(
    `epoch ${epoch}/${epochs} - loss: ${tr.loss.toFixed(4)} - accuracy: ${tr.accuracy.toFixed(4)}` +
      ` - val_loss: ${va.loss.toFixed(4)} - val_accuracy: ${va.accuracy.toFixed(4)}`,
  );
}

const final = { train: evaluate(w, b, train), val: evaluate(w, b, val) };
const write = (path, text) => {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
};
write(
  opt.model,
  JSON.stringify(
    {
      type: "logistic_regression",
      features: train.features,
      label: train.label,
      weights: w.map((v) => round(v, 8)),
      bias: round(b, 8),
      threshold,
      trained: { epochs, lr, batch_size: batchSize, l2, seed, rows: train.X.length },
    },
    null,
    2,
  ) + "\n",
);
write(
  opt.metrics,
  JSON.stringify(
    {
      loss: round(final.train.loss),
      accuracy: round(final.train.accuracy),
      val_loss: round(final.val.loss),
      val_accuracy: round(final.val.accuracy),
    },
    null,
    2,
  ) + "\n",
);
write(opt.plot, "step,loss\n" + history.map((h) => `${h.step},${h.loss.toFixed(6)}`).join("\n") + "\n");
