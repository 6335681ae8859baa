"""Classification metrics (scikit-learn), validation-tuned thresholds and the report tables.

Conventions: precision, recall and F1 are 0.0 when their denominator is 0; AUROC and average precision
are NaN for a class whose labels are all one value. In the field's terms, recall is the sensitivity
(Se), precision the positive predictivity (+P); ``fpr`` is the false positive rate FP / (FP + TN).

Multi-label (``superclass``): sigmoid probabilities, per-class thresholds tuned on validation for maximum
F1 where validation has at least ``MIN_TUNE_SUPPORT`` positives (else 0.5; the best-F1 threshold is
reported beside it), metrics at 0.5 and at the tuned thresholds; ``macro`` averages the classes with support > 0, ``micro``
pools every (sample, class) decision. Single-label (``beats``): softmax probabilities, argmax predictions,
one-vs-rest AUROC/AP and FPR per class; as in AAMI-based papers the ``macro`` and ``micro`` rows are over
N, S, V, F (Q is reported but left out), and ``accuracy`` (micro row) counts every beat.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import (average_precision_score, confusion_matrix, f1_score, multilabel_confusion_matrix,
                             precision_recall_curve, precision_recall_fscore_support, roc_auc_score)

from ..beats import AAMI_MACRO

METRIC_COLUMNS = ["class", "auroc", "average_precision", "precision", "recall", "f1", "fpr", "threshold",
                  "precision_tuned", "recall_tuned", "f1_tuned", "support", "accuracy"]


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


def macro_f1(labels: np.ndarray, predicted: np.ndarray, classes) -> float:
    """Single-label macro F1 over the class ids ``classes`` (NaN when empty)."""
    classes = list(classes)
    if not classes:
        return float("nan")
    return float(f1_score(labels, predicted, labels=classes, average="macro", zero_division=0))


def best_f1_threshold(y, p) -> tuple[float, float]:
    """``(threshold, F1)`` maximising F1 of ``p >= threshold`` on ``y``; the lowest such threshold on ties.
    ``(0.5, nan)`` when ``y`` has no positive."""
    y = np.asarray(y)
    if y.sum() == 0:
        return 0.5, float("nan")
    precision, recall, thresholds = precision_recall_curve(y, p)
    denom = precision[:-1] + recall[:-1]
    f1 = np.divide(2 * precision[:-1] * recall[:-1], denom, out=np.zeros_like(denom), where=denom > 0)
    best = int(np.argmax(f1))
    return float(thresholds[best]), float(f1[best])


MIN_TUNE_SUPPORT = 20  # validation positives below which a class keeps the 0.5 threshold (superclass task)


def tune_thresholds(y_val: np.ndarray, p_val: np.ndarray, classes, min_support: int = 1) -> pd.DataFrame:
    """Per-class validation thresholds: ``class, threshold, val_f1, val_support, tuned, best_threshold``.

    ``best_threshold``: the threshold of maximum validation F1 (``val_f1``; 0.5 without a positive);
    ``threshold``: the one used, ``best_threshold`` where validation has at least ``min_support`` (and at
    least one) positives, else 0.5 (``tuned`` False): a threshold fitted to a handful of positives does
    not carry over to test data. ``min_support=1`` is the former behaviour (tuned wherever there is a
    positive)."""
    rows = []
    for k, name in enumerate(classes):
        best, f1 = best_f1_threshold(y_val[:, k], p_val[:, k])
        support = int(y_val[:, k].sum())
        tuned = support >= max(int(min_support), 1)
        rows.append((name, best if tuned else 0.5, f1, support, tuned, best))
    return pd.DataFrame(rows, columns=["class", "threshold", "val_f1", "val_support", "tuned", "best_threshold"]).astype(
        {"threshold": "float64", "val_f1": "float64", "val_support": "int64", "tuned": "bool",
         "best_threshold": "float64"})


def _prf(y_true, y_pred, **kwargs):
    return precision_recall_fscore_support(y_true, y_pred, zero_division=0, **kwargs)[:3]


def _fpr(binary_confusions: np.ndarray) -> np.ndarray:
    """FP / (FP + TN) of each 2x2 matrix ``[[tn, fp], [fn, tp]]`` (0.0 where undefined)."""
    fp, tn = binary_confusions[:, 0, 1].astype(np.float64), binary_confusions[:, 0, 0].astype(np.float64)
    return np.divide(fp, fp + tn, out=np.zeros_like(fp), where=fp + tn > 0)


def multilabel_metrics(y: np.ndarray, p: np.ndarray, thresholds, classes) -> pd.DataFrame:
    """Per-class, macro and micro metrics of a multi-label problem at 0.5 and at ``thresholds``."""
    y = np.asarray(y).astype(np.int64)
    thresholds = np.asarray(thresholds, dtype=np.float64)
    at_half, tuned = (p >= 0.5).astype(np.int64), (p >= thresholds[None, :]).astype(np.int64)
    support = y.sum(0).astype(np.int64)
    pr, rc, f1 = _prf(y, at_half, average=None)
    pr_t, rc_t, f1_t = _prf(y, tuned, average=None)
    auroc = np.array([binary_auroc(y[:, k], p[:, k]) for k in range(len(classes))])
    ap = np.array([binary_ap(y[:, k], p[:, k]) for k in range(len(classes))])
    confusions = multilabel_confusion_matrix(y, at_half)
    table = pd.DataFrame({"class": list(classes), "auroc": auroc, "average_precision": ap, "precision": pr,
                          "recall": rc, "f1": f1, "fpr": _fpr(confusions),
                          "threshold": thresholds, "precision_tuned": pr_t, "recall_tuned": rc_t, "f1_tuned": f1_t,
                          "support": support, "accuracy": np.nan})
    present = support > 0
    macro = {"class": "macro", "auroc": _nanmean(auroc), "average_precision": _nanmean(ap),
             **{c: float(table.loc[present, c].mean()) if present.any() else np.nan
                for c in ("precision", "recall", "f1", "fpr", "precision_tuned", "recall_tuned", "f1_tuned")},
             "threshold": np.nan, "support": int(support.sum()), "accuracy": np.nan}
    micro_half = _prf(y.ravel(), at_half.ravel(), average="binary")
    micro_tuned = _prf(y.ravel(), tuned.ravel(), average="binary")
    micro = {"class": "micro", "auroc": binary_auroc(y.ravel(), p.ravel()),
             "average_precision": binary_ap(y.ravel(), p.ravel()), "precision": float(micro_half[0]),
             "recall": float(micro_half[1]), "f1": float(micro_half[2]),
             "fpr": float(_fpr(confusions.sum(0, keepdims=True))[0]),
             "threshold": np.nan, "precision_tuned": float(micro_tuned[0]), "recall_tuned": float(micro_tuned[1]),
             "f1_tuned": float(micro_tuned[2]), "support": int(support.sum()), "accuracy": np.nan}
    return _finish(pd.concat([table, pd.DataFrame([macro, micro])], ignore_index=True))


def singlelabel_metrics(labels: np.ndarray, p: np.ndarray, classes) -> pd.DataFrame:
    """Per-class (one-vs-rest), macro and micro metrics of the argmax predictions of a single-label
    problem; macro and micro over the classes of :data:`~ecgflow.beats.AAMI_MACRO` present in ``classes``
    (all classes otherwise), accuracy over every sample."""
    classes = list(classes)
    n = len(classes)
    labels = np.asarray(labels, dtype=np.int64)
    predicted = p.argmax(1)
    ids = list(range(n))
    pr, rc, f1, support = precision_recall_fscore_support(labels, predicted, labels=ids, zero_division=0)
    onehot = np.eye(n, dtype=np.int64)[labels]
    auroc = np.array([binary_auroc(onehot[:, k], p[:, k]) for k in ids])
    ap = np.array([binary_ap(onehot[:, k], p[:, k]) for k in ids])
    fpr = _fpr(multilabel_confusion_matrix(labels, predicted, labels=ids))
    table = pd.DataFrame({"class": classes, "auroc": auroc, "average_precision": ap, "precision": pr,
                          "recall": rc, "f1": f1, "fpr": fpr, "support": support.astype(np.int64)})
    macro_ids = [classes.index(c) for c in AAMI_MACRO if c in classes] or ids
    aggregates = []
    for average in ("macro", "micro"):
        a_pr, a_rc, a_f1 = _prf(labels, predicted, labels=macro_ids, average=average)
        aggregates.append({"class": average, "precision": float(a_pr), "recall": float(a_rc), "f1": float(a_f1),
                           "fpr": float(fpr[macro_ids].mean()) if average == "macro" else np.nan,
                           "auroc": _nanmean(auroc[macro_ids]) if average == "macro" else np.nan,
                           "average_precision": _nanmean(ap[macro_ids]) if average == "macro" else np.nan,
                           "support": int(support[macro_ids].sum())})
    aggregates[1]["accuracy"] = float((predicted == labels).mean()) if len(labels) else np.nan
    return _finish(pd.concat([table, pd.DataFrame(aggregates)], ignore_index=True))


def confusion_table(task: str, classes, predictions: pd.DataFrame) -> pd.DataFrame:
    """The test confusion counts from the predictions table: beats, one row per true class with one count
    column per predicted class; superclass, one row per class with ``tn, fp, fn, tp`` at the tuned
    thresholds."""
    classes = list(classes)
    if task == "superclass":
        y = predictions[[f"{c}_true" for c in classes]].to_numpy(np.int64)
        decided = predictions[[f"{c}_pred" for c in classes]].to_numpy(np.int64)
        m = multilabel_confusion_matrix(y, decided).reshape(len(classes), 4)
        return pd.DataFrame({"class": classes, **{k: m[:, i].astype(np.int64)
                                                  for i, k in enumerate(("tn", "fp", "fn", "tp"))}})
    m = confusion_matrix(predictions["true"].to_numpy(str), predictions["predicted"].to_numpy(str), labels=classes)
    return pd.DataFrame({"true": classes, **{c: m[:, j].astype(np.int64) for j, c in enumerate(classes)}})


def ensemble_predictions(runs: list[pd.DataFrame], classes) -> pd.DataFrame:
    """The single-label predictions table of a seed ensemble: the mean of the runs' class probabilities
    (``p_<class>``) and its argmax; the runs must hold the same test beats in the same order."""
    if not runs:
        raise ValueError("an ensemble needs at least one run")
    keys = [c for c in ("row", "record", "sample", "true") if c in runs[0].columns]
    for run in runs[1:]:
        if not run[keys].equals(runs[0][keys]):
            raise ValueError("the runs' predictions are not of the same test rows")
    columns = [f"p_{c}" for c in classes]
    probs = np.mean([run[columns].to_numpy(np.float64) for run in runs], axis=0)
    out = runs[0][keys].copy()
    out["predicted"] = np.asarray(list(classes))[probs.argmax(1)] if len(out) else np.array([], str)
    for k, column in enumerate(columns):
        out[column] = probs[:, k].astype(np.float32)
    return out


def _finish(table: pd.DataFrame) -> pd.DataFrame:
    table = table.reindex(columns=METRIC_COLUMNS)
    floats = [c for c in METRIC_COLUMNS if c not in ("class", "support")]
    return table.astype({"class": "str", "support": "int64", **{c: "float64" for c in floats}})


def report_tables(task: str, classes, index: pd.DataFrame, val_probs: np.ndarray,
                  test_probs: np.ndarray) -> dict[str, pd.DataFrame]:
    """``thresholds``, ``metrics`` (test), ``predictions`` (test) and ``confusion`` (test) tables of a
    trained model.

    ``index``: the dataset index; ``val_probs``/``test_probs``: probabilities of its ``val``/``test`` rows
    in index order. Multi-label tasks have one column per class in ``index``; single-label ones ``label``.
    """
    classes = list(classes)
    val, test = index[index["split"] == "val"], index[index["split"] == "test"]
    ids = [c for c in ("row", "ecg_id", "record", "sample") if c in index.columns]
    predictions = test[ids].reset_index(drop=True)
    if task == "superclass":
        thresholds = tune_thresholds(val[classes].to_numpy(), val_probs, classes, MIN_TUNE_SUPPORT)
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
    return {"thresholds": thresholds, "metrics": metrics, "predictions": predictions,
            "confusion": confusion_table(task, classes, predictions)}
