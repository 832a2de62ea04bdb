"""Story quality against a labelled truth: pairwise, B-cubed, ARI, NMI, AMI.

- Pairwise precision/recall/F1 over pairs of items put in one cluster (the
  "standard F1" of Miranda et al., EMNLP 2018).
- B-cubed precision/recall/F1 (Bagga and Baldwin 1998): per item, the share of
  its predicted cluster that shares its true label, and the share of its true
  cluster that shares its predicted cluster, averaged over items.
- ARI, NMI and AMI from scikit-learn. NMI uses geometric normalisation, as the
  published numbers on the tweets set do. AMI is None when true x found clusters
  exceeds :data:`AMI_MAX_CELLS` (its expected-information term is far slower than
  the rest: 80 s at 100k items, hours at 1M).

Truth files: TSV (``file<TAB>label``, header optional, path relative to the
content folder) or JSON Lines (``{"file"|"id": ..., "label": ...}``).
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Hashable, Sequence
from pathlib import Path

import numpy as np
from sklearn import metrics

from .errors import InputError
from .document import read_document

__all__ = ["scores", "read_truth", "read_document", "predicted_labels", "evaluate_document"]


def scores(truth: Sequence[Hashable], predicted: Sequence[Hashable]) -> dict[str, float | int]:
    """All metrics for two labelings of the same items (same order)."""
    if len(truth) != len(predicted):
        raise ValueError("truth and predicted label lists differ in length")
    n = len(truth)
    if n == 0:
        raise ValueError("no items to score")
    # Labels as integer codes, counted with numpy: at a million items, counting tuples of
    # strings and sorting strings (sklearn's label encoding) were most of the scoring time.
    (t, n_true), (p, n_pred) = _codes(truth), _codes(predicted)
    cells, joint = np.unique(t * n_pred + p, return_counts=True)
    true_sizes, pred_sizes = np.bincount(t, minlength=n_true), np.bincount(p, minlength=n_pred)
    pair = _pairwise(joint, true_sizes, pred_sizes)
    # fsum: correctly rounded, so the order of the cells cannot change a digit
    b_p = math.fsum((joint * joint / pred_sizes[cells % n_pred]).tolist()) / n
    b_r = math.fsum((joint * joint / true_sizes[cells // n_pred]).tolist()) / n
    return {
        "items": n,
        "pairwise_precision": pair[0],
        "pairwise_recall": pair[1],
        "pairwise_f1": _f1(*pair),
        "bcubed_precision": b_p,
        "bcubed_recall": b_r,
        "bcubed_f1": _f1(b_p, b_r),
        "ari": float(metrics.adjusted_rand_score(t, p)),
        "nmi": float(metrics.normalized_mutual_info_score(t, p, average_method="geometric")),
        "ami": _ami(t, p, n_true, n_pred),
        "stories_true": n_true,
        "stories_found": n_pred,
    }


def _codes(labels: Sequence[Hashable]) -> tuple[np.ndarray, int]:
    """Each label as the index of its first appearance, and how many labels there are."""
    index: dict[Hashable, int] = {}
    codes = np.fromiter((index.setdefault(label, len(index)) for label in labels), dtype=np.int64, count=len(labels))
    return codes, len(index)


#: AMI's expected mutual information costs about (true clusters x found clusters x largest
#: cluster) steps: 80 s for 35,000 x 60,000 clusters (100k synthetic items), hours at 1M.
AMI_MAX_CELLS = 2e8


def _ami(truth: Sequence[Hashable], predicted: Sequence[Hashable], n_true: int, n_pred: int) -> float | None:
    """AMI, or None (JSON null) when the cluster counts make it too slow to compute."""
    if n_true * n_pred > AMI_MAX_CELLS:
        return None
    return float(metrics.adjusted_mutual_info_score(truth, predicted))


def _pairwise(joint: np.ndarray, true_sizes: np.ndarray, pred_sizes: np.ndarray) -> tuple[float, float]:
    same_both, same_pred, same_true = (int((c * (c - 1) // 2).sum()) for c in (joint, pred_sizes, true_sizes))
    precision = same_both / same_pred if same_pred else 1.0
    recall = same_both / same_true if same_true else 1.0
    return precision, recall


def _f1(p: float, r: float) -> float:
    return 2 * p * r / (p + r) if p + r else 0.0


def read_truth(path: str | Path) -> dict[str, str]:
    """Map item key (file path or id) -> true label, from a TSV or JSON Lines file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read truth file: {exc}") from None
    truth: dict[str, str] = {}
    if path.suffix.lower() in (".jsonl", ".ndjson"):
        for number, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                key = row.get("file") or row.get("id")
                label = row["label"]
            except (ValueError, KeyError, AttributeError):
                raise InputError(f"{path}:{number}: expected a JSON object with 'file' or 'id' and 'label'") from None
            truth[str(key)] = str(label)
        return truth
    for number, row in enumerate(csv.reader(text.splitlines(), delimiter="\t"), 1):
        if not row or (number == 1 and row[:2] in (["file", "story"], ["file", "label"])):
            continue
        if len(row) < 2:
            raise InputError(f"{path}:{number}: expected 'file<TAB>label'")
        truth[row[0]] = row[1]
    return truth


def predicted_labels(document: dict) -> dict[str, str]:
    """Map every key an item can be named by (each file, and the node id) -> story id."""
    keys: dict[str, str] = {}
    for node in document["nodes"]:
        keys[node["id"]] = node["story"]
        for file in node["files"]:
            keys[file] = node["story"]
    return keys


def evaluate_document(document: dict, truth: dict[str, str]) -> dict[str, float | int]:
    """Score a storygraph JSON document against ``truth``.

    Items in the truth that the output does not hold (skipped files) count as
    singleton predictions, so they cost recall instead of vanishing.
    """
    predicted = predicted_labels(document)
    keys = sorted(truth)
    missing = [k for k in keys if k not in predicted]
    labels = [predicted.get(k, f"missing:{k}") for k in keys]
    result = scores([truth[k] for k in keys], labels)
    result["missing"] = len(missing)
    return result
