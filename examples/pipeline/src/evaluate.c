/* evaluate: score a split with the logistic-regression model (C99 + POSIX mkdir, libc and libm only).
 *
 *   bin/evaluate <model.json> <features.csv> <metrics.json> <roc.csv> [threshold]
 *
 * Reads the weights and bias from model.json (as written by src/train.mjs) and a features CSV
 * (header, numeric features, label last). Prints, C-style,
 *   tp=227 fp=36 tn=291 fn=46
 *   accuracy=0.8633 precision=0.8631 recall=0.8315 f1=0.8470 auc=0.9439
 * and writes those five scores (plus the row count) to metrics.json and the ROC curve
 * (fpr,tpr,threshold; one point per distinct score) to roc.csv. Parent folders are created.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>

#define MAX_FEATURES 64

static void die(const char *what, const char *detail) {
    fprintf(stderr, "evaluate: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
    exit(1);
}

static char *slurp(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) die(path, strerror(errno));
    size_t cap = 4096, len = 0, n;
    char *buf = malloc(cap);
    while (buf && (n = fread(buf + len, 1, cap - len - 1, f)) > 0) {
        len += n;
        if (cap - len - 1 == 0) buf = realloc(buf, cap *= 2);
    }
    fclose(f);
    if (!buf) die("out of memory", NULL);
    buf[len] = '\0';
    return buf;
}

/* The value after `"key":` in a flat-enough JSON text (enough for model.json). */
static const char *json_value(const char *json, const char *key) {
    char pattern[128];
    snprintf(pattern, sizeof pattern, "\"%s\"", key);
    const char *p = strstr(json, pattern);
    if (!p) return NULL;
    p = strchr(p + strlen(pattern), ':');
    if (!p) return NULL;
    for (p++; *p == ' ' || *p == '\n' || *p == '\r' || *p == '\t'; p++) {}
    return p;
}

static int load_model(const char *path, double *w, double *bias) {
    char *json = slurp(path);
    const char *p = json_value(json, "weights");
    if (!p || *p != '[') die(path, "no \"weights\" array");
    int d = 0;
    for (p++;;) {
        char *end;
        while (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t' || *p == ',') p++;
        if (*p == ']') break;
        if (d == MAX_FEATURES) die(path, "too many weights");
        w[d++] = strtod(p, &end);
        if (end == p) die(path, "bad number in \"weights\"");
        p = end;
    }
    p = json_value(json, "bias");
    if (!p) die(path, "no \"bias\"");
    *bias = strtod(p, NULL);
    free(json);
    return d;
}

typedef struct { double score; int label; } Row;

static int by_score_desc(const void *a, const void *b) {
    double x = ((const Row *)a)->score, y = ((const Row *)b)->score;
    return (x < y) - (x > y);
}

static void ensure_parent_dir(const char *path) {
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", path);
    for (char *s = dir + 1; *s; s++) {
        if (*s != '/') continue;
        *s = '\0';
        if (mkdir(dir, 0777) != 0 && errno != EEXIST) die(dir, strerror(errno));
        *s = '/';
    }
}

static FILE *create(const char *path) {
    ensure_parent_dir(path);
    FILE *f = fopen(path, "w");
    if (!f) die(path, strerror(errno));
    return f;
}

static double ratio(double num, double den) { return den > 0 ? num / den : 0.0; }

int main(int argc, char **argv) {
    if (argc < 5 || argc > 6) {
        fprintf(stderr, "usage: %s <model.json> <features.csv> <metrics.json> <roc.csv> [threshold]\n", argv[0]);
        return 2;
    }
    double threshold = argc == 6 ? strtod(argv[5], NULL) : 0.5;
    double w[MAX_FEATURES], bias;
    int d = load_model(argv[1], w, &bias);

    /* Score every row of the CSV. */
    char *csv = slurp(argv[2]);
    size_t cap = 1024, n = 0;
    Row *rows = malloc(cap * sizeof *rows);
    char *line = strtok(csv, "\n"); /* header */
    while ((line = strtok(NULL, "\n")) != NULL) {
        double cells[MAX_FEATURES + 1];
        int k = 0;
        for (char *p = line, *end; *p && k <= MAX_FEATURES; p = *end ? end + 1 : end) {
            cells[k++] = strtod(p, &end);
            if (end == p) die(argv[2], "non-numeric cell");
        }
        if (k != d + 1) die(argv[2], "column count does not match the model");
        double z = bias;
        for (int i = 0; i < d; i++) z += w[i] * cells[i];
        if (n == cap) rows = realloc(rows, (cap *= 2) * sizeof *rows);
        if (!rows) die("out of memory", NULL);
        rows[n].score = 1.0 / (1.0 + exp(-z));
        rows[n].label = cells[d] > 0.5;
        n++;
    }
    if (n == 0) die(argv[2], "no rows");

    /* Confusion matrix at the threshold. */
    long tp = 0, fp = 0, tn = 0, fn = 0;
    for (size_t r = 0; r < n; r++) {
        int predicted = rows[r].score >= threshold;
        if (predicted && rows[r].label) tp++;
        else if (predicted) fp++;
        else if (rows[r].label) fn++;
        else tn++;
    }
    double accuracy = ratio(tp + tn, n);
    double precision = ratio(tp, tp + fp);
    double recall = ratio(tp, tp + fn);
    double f1 = ratio(2 * precision * recall, precision + recall);

    /* ROC: sweep the threshold down through the distinct scores; AUC by trapezoids. */
    qsort(rows, n, sizeof *rows, by_score_desc);
    long pos = tp + fn, neg = fp + tn, tps = 0, fps = 0;
    double auc = 0.0, prev_fpr = 0.0, prev_tpr = 0.0;
    FILE *roc = create(argv[4]);
    fprintf(roc, "fpr,tpr,threshold\n0.000000,0.000000,1.000000\n");
    for (size_t r = 0; r < n; r++) {
        if (rows[r].label) tps++; else fps++;
        if (r + 1 < n && rows[r + 1].score == rows[r].score) continue; /* ties move together */
        double fpr = ratio(fps, neg), tpr = ratio(tps, pos);
        auc += (fpr - prev_fpr) * (tpr + prev_tpr) / 2.0;
        prev_fpr = fpr;
        prev_tpr = tpr;
        fprintf(roc, "%.6f,%.6f,%.6f\n", fpr, tpr, rows[r].score);
    }
    if (fclose(roc) != 0) die(argv[4], strerror(errno));

    FILE *metrics = create(argv[3]);
    fprintf(metrics,
            "{\n  \"accuracy\": %.4f,\n  \"precision\": %.4f,\n  \"recall\": %.4f,\n"
            "  \"f1\": %.4f,\n  \"auc\": %.4f,\n  \"rows\": %zu\n}\n",
            accuracy, precision, recall, f1, auc, n);
    if (fclose(metrics) != 0) die(argv[3], strerror(errno));

    printf("tp=%ld fp=%ld tn=%ld fn=%ld\n", tp, fp, tn, fn);
    printf("accuracy=%.4f precision=%.4f recall=%.4f f1=%.4f auc=%.4f\n", accuracy, precision, recall, f1, auc);
    free(rows);
    free(csv);
    return 0;
}
