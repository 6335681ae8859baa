"""Classification metrics, validation-tuned thresholds and the report tables.

Conventions: precision, recall and F1 are 0.0 when their denominator is 0; AUROC and average precision
are NaN for a class whose labels are all one value. ``macro`` rows average the classes with support > 0
(AUROC/AP: the classes where they are defined); ``micro`` rows pool every (sample, class) decision.

Multi-label (``superclass``): sigmoid probabilities, per-class thresholds tuned on validation for maximum
F1, metrics at 0.5 and at the tuned thresholds. Single-label (``beats``): softmax probabilities, argmax
predictions (thresholds do not apply), one-vs-rest AUROC/AP, accuracy on the ``micro`` row.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, precision_recall_curve, roc_auc_score

METRIC_COLUMNS = ["class", "auroc", "average_precision", "precision", "recall", "f1", "threshold",
                  "precision_tuned", "recall_tuned", "f1_tuned", "support", "accuracy"]


def _ratio(num, den) -> np.ndarray:
    num, den = np.asarray(num, dtype=np.float64), np.asarray(den, dtype=np.float64)
    return np.divide(num, den, out=np.zeros_like(num), where=den > 0)


def prf(tp, fp, fn) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Precision, recall, F1 from counts (0.0 where a denominator is 0)."""
    tp, fp, fn = (np.asarray(a, dtype=np.float64) for a in (tp, fp, fn))
    return _ratio(tp, tp + fp), _ratio(tp, tp + fn), _ratio(2 * tp, 2 * tp + fp + fn)


def binary_auroc(y, p) -> float:
    """AUROC, NaN when ``y`` has a single value."""
    y = np.asarray(y)
    return float(roc_auc_score(y, p)) if 0 < y.sum() < len(y) else float("nan")


def binary_ap(y, p) -> float:
    """Average precision, NaN when ``y`` has a single value."""
    y = np.asarray(y)
    return float(average_precision_score(y, p)) if 0 < y.sum() < len(y) else float("nan")


def _nanmean(values) -> float:
    values = np.asarray(values, dtype=np.float64)
    return float(np.mean(values[~np.isnan(values)])) if (~np.isnan(values)).any() else float("nan")


def macro_auroc(y: np.ndarray, p: np.ndarray) -> float:
    """Mean per-class AUROC over the classes where it is defined (``y``, ``p``: samples x classes)."""
    return _nanmean([binary_auroc(y[:, k], p[:, k]) for k in range(y.shape[1])])


def macro_f1(labels: np.ndarray, predicted: np.ndarray, n_classes: int) -> float:
    """Single-label macro F1 over the classes with support > 0."""
    tp, fp, fn, support = _class_counts(labels, predicted, n_classes)
    f1 = prf(tp, fp, fn)[2]
    return float(f1[support > 0].mean()) if (support > 0).any() else float("nan")


def best_f1_threshold(y, p) -> tuple[float, float]:
    """``(threshold, F1)`` maximising F1 of ``p >= threshold`` on ``y``; the lowest such threshold on ties.
    ``(0.5, nan)`` when ``y`` has no positive."""
    y = np.asarray(y)
    if y.sum() == 0:
        return 0.5, float("nan")
    precision, recall, thresholds = precision_recall_curve(y, p)
    f1 = _ratio(2 * precision[:-1] * recall[:-1], precision[:-1] + recall[:-1])
    best = int(np.argmax(f1))
    return float(thresholds[best]), float(f1[best])


def tune_thresholds(y_val: np.ndarray, p_val: np.ndarray, classes) -> pd.DataFrame:
    """Per-class validation thresholds: ``class, threshold, val_f1, val_support, tuned``
    (``tuned`` False where validation has no positive: the threshold stays 0.5)."""
    rows = []
    for k, name in enumerate(classes):
        threshold, f1 = best_f1_threshold(y_val[:, k], p_val[:, k])
        support = int(y_val[:, k].sum())
        rows.append((name, threshold, f1, support, support > 0))
    return pd.DataFrame(rows, columns=["class", "threshold", "val_f1", "val_support", "tuned"]).astype(
        {"threshold": "float64", "val_f1": "float64", "val_support": "int64", "tuned": "bool"})


def _counts(y: np.ndarray, decided: np.ndarray):
    y, decided = y.astype(bool), decided.astype(bool)
    return (y & decided).sum(0), (~y & decided).sum(0), (y & ~decided).sum(0)


def multilabel_metrics(y: np.ndarray, p: np.ndarray, thresholds, classes) -> pd.DataFrame:
    """Per-class, macro and micro metrics of a multi-label problem at 0.5 and at ``thresholds``."""
    thresholds = np.asarray(thresholds, dtype=np.float64)
    at_half, tuned = _counts(y, p >= 0.5), _counts(y, p >= thresholds[None, :])
    support = y.sum(0).astype(np.int64)
    pr, rc, f1 = prf(*at_half)
    pr_t, rc_t, f1_t = prf(*tuned)
    auroc = np.array([binary_auroc(y[:, k], p[:, k]) for k in range(len(classes))])
    ap = np.array([binary_ap(y[:, k], p[:, k]) for k in range(len(classes))])
    table = pd.DataFrame({"class": list(classes), "auroc": auroc, "average_precision": ap, "precision": pr,
                          "recall": rc, "f1": f1, "threshold": thresholds, "precision_tuned": pr_t,
                          "recall_tuned": rc_t, "f1_tuned": f1_t, "support": support, "accuracy": np.nan})
    present = support > 0
    macro = {"class": "macro", "auroc": _nanmean(auroc), "average_precision": _nanmean(ap),
             **{c: float(table.loc[present, c].mean()) if present.any() else np.nan
                for c in ("precision", "recall", "f1", "precision_tuned", "recall_tuned", "f1_tuned")},
             "threshold": np.nan, "support": int(support.sum()), "accuracy": np.nan}
    micro_half = prf(*(c.sum() for c in at_half))
    micro_tuned = prf(*(c.sum() for c in tuned))
    micro = {"class": "micro", "auroc": binary_auroc(y.ravel(), p.ravel()), "average_precision": binary_ap(
        y.ravel(), p.ravel()), "precision": float(micro_half[0]), "recall": float(micro_half[1]),
        "f1": float(micro_half[2]), "threshold": np.nan, "precision_tuned": float(micro_tuned[0]),
        "recall_tuned": float(micro_tuned[1]), "f1_tuned": float(micro_tuned[2]), "support": int(support.sum()),
        "accuracy": np.nan}
    return _finish(pd.concat([table, pd.DataFrame([macro, micro])], ignore_index=True))


def _class_counts(labels: np.ndarray, predicted: np.ndarray, n_classes: int):
    m = confusion_matrix(labels, predicted, n_classes)
    tp = np.diag(m)
    return tp, m.sum(0) - tp, m.sum(1) - tp, m.sum(1)


def confusion_matrix(labels, predicted, n_classes: int) -> np.ndarray:
    """``m[i, j]`` = number of samples of true class i predicted as j."""
    m = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(m, (np.asarray(labels, dtype=np.int64), np.asarray(predicted, dtype=np.int64)), 1)
    return m


def singlelabel_metrics(labels: np.ndarray, p: np.ndarray, classes) -> pd.DataFrame:
    """Per-class (one-vs-rest), macro and micro metrics of argmax predictions of a single-label problem."""
    n = len(classes)
    labels = np.asarray(labels, dtype=np.int64)
    predicted = p.argmax(1)
    tp, fp, fn, support = _class_counts(labels, predicted, n)
    pr, rc, f1 = prf(tp, fp, fn)
    onehot = np.eye(n, dtype=np.int64)[labels]
    auroc = np.array([binary_auroc(onehot[:, k], p[:, k]) for k in range(n)])
    ap = np.array([binary_ap(onehot[:, k], p[:, k]) for k in range(n)])
    table = pd.DataFrame({"class": list(classes), "auroc": auroc, "average_precision": ap, "precision": pr,
                          "recall": rc, "f1": f1, "support": support.astype(np.int64)})
    present = support > 0
    accuracy = float(tp.sum() / len(labels)) if len(labels) else np.nan
    micro_p, micro_r, micro_f = prf(tp.sum(), fp.sum(), fn.sum())
    aggregates = pd.DataFrame([
        {"class": "macro", "auroc": _nanmean(auroc), "average_precision": _nanmean(ap),
         **{c: float(table.loc[present, c].mean()) if present.any() else np.nan for c in ("precision", "recall", "f1")},
         "support": int(support.sum())},
        {"class": "micro", "auroc": binary_auroc(onehot.ravel(), p.ravel()),
         "average_precision": binary_ap(onehot.ravel(), p.ravel()), "precision": float(micro_p),
         "recall": float(micro_r), "f1": float(micro_f), "support": int(support.sum()), "accuracy": accuracy}])
    return _finish(pd.concat([table, aggregates], ignore_index=True))


def _finish(table: pd.DataFrame) -> pd.DataFrame:
    table = table.reindex(columns=METRIC_COLUMNS)
    floats = [c for c in METRIC_COLUMNS if c not in ("class", "support")]
    return table.astype({"class": "str", "support": "int64", **{c: "float64" for c in floats}})


def report_tables(task: str, classes, index: pd.DataFrame, val_probs: np.ndarray,
                  test_probs: np.ndarray) -> dict[str, pd.DataFrame]:
    """``thresholds``, ``metrics`` (test) and ``predictions`` (test) tables of a trained model.

    ``index``: the dataset index; ``val_probs``/``test_probs``: probabilities of its ``val``/``test`` rows
    in index order. Multi-label tasks have one column per class in ``index``; single-label ones ``label``.
    """
    classes = list(classes)
    val, test = index[index["split"] == "val"], index[index["split"] == "test"]
    ids = [c for c in ("row", "ecg_id", "record", "sample") if c in index.columns]
    predictions = test[ids].reset_index(drop=True)
    if task == "superclass":
        thresholds = tune_thresholds(val[classes].to_numpy(), val_probs, classes)
        y_test = test[classes].to_numpy()
        metrics = multilabel_metrics(y_test, test_probs, thresholds["threshold"].to_numpy(), classes)
        decided = test_probs >= thresholds["threshold"].to_numpy()[None, :]
        for k, name in enumerate(classes):
            predictions[f"{name}_true"] = y_test[:, k].astype(np.int8)
            predictions[f"{name}_prob"] = test_probs[:, k].astype(np.float32)
            predictions[f"{name}_pred"] = decided[:, k].astype(np.int8)
    else:
        thresholds = pd.DataFrame({"class": classes, "threshold": np.nan, "val_f1": np.nan,
                                   "val_support": np.bincount(val["label"], minlength=len(classes)).astype(np.int64),
                                   "tuned": False})
        metrics = singlelabel_metrics(test["label"].to_numpy(), test_probs, classes)
        predictions["true"] = test["aami_class"].to_numpy(str)
        predictions["predicted"] = np.asarray(classes)[test_probs.argmax(1)] if len(test) else np.array([], str)
        for k, name in enumerate(classes):
            predictions[f"p_{name}"] = test_probs[:, k].astype(np.float32)
    metrics.insert(0, "task", task)
    metrics.insert(1, "split", "test")
    return {"thresholds": thresholds, "metrics": metrics, "predictions": predictions}
