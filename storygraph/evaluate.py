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
import mmap
from collections import Counter
from collections.abc import Hashable, Sequence
from pathlib import Path

from sklearn import metrics

from .errors import InputError
from .runtime import without_gc

__all__ = ["scores", "read_truth", "read_document", "predicted_labels", "evaluate_document"]


def scores(truth: Sequence[Hashable], predicted: Sequence[Hashable]) -> dict[str, float | int]:
    """All metrics for two labelings of the same items (same order)."""
    if len(truth) != len(predicted):
        raise ValueError("truth and predicted label lists differ in length")
    n = len(truth)
    if n == 0:
        raise ValueError("no items to score")
    joint = Counter(zip(truth, predicted))
    true_sizes, pred_sizes = Counter(truth), Counter(predicted)
    pair = _pairwise(joint, true_sizes, pred_sizes)
    b_p = sum(c * c / pred_sizes[p] for (_, p), c in joint.items()) / n
    b_r = sum(c * c / true_sizes[t] for (t, _), c in joint.items()) / n
    return {
        "items": n,
        "pairwise_precision": pair[0],
        "pairwise_recall": pair[1],
        "pairwise_f1": _f1(*pair),
        "bcubed_precision": b_p,
        "bcubed_recall": b_r,
        "bcubed_f1": _f1(b_p, b_r),
        "ari": float(metrics.adjusted_rand_score(truth, predicted)),
        "nmi": float(metrics.normalized_mutual_info_score(truth, predicted, average_method="geometric")),
        "ami": _ami(truth, predicted, len(true_sizes), len(pred_sizes)),
        "stories_true": len(true_sizes),
        "stories_found": len(pred_sizes),
    }


#: AMI's expected mutual information costs about (true clusters x found clusters x largest
#: cluster) steps: 80 s for 35,000 x 60,000 clusters (100k synthetic items), hours at 1M.
AMI_MAX_CELLS = 2e8


def _ami(truth: Sequence[Hashable], predicted: Sequence[Hashable], n_true: int, n_pred: int) -> float | None:
    """AMI, or None (JSON null) when the cluster counts make it too slow to compute."""
    if n_true * n_pred > AMI_MAX_CELLS:
        return None
    return float(metrics.adjusted_mutual_info_score(truth, predicted))


def _pairwise(joint: Counter, true_sizes: Counter, pred_sizes: Counter) -> tuple[float, float]:
    same_both = sum(c * (c - 1) // 2 for c in joint.values())
    same_pred = sum(c * (c - 1) // 2 for c in pred_sizes.values())
    same_true = sum(c * (c - 1) // 2 for c in true_sizes.values())
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


@without_gc
def read_document(path: str | Path) -> dict:
    """A storygraph JSON output, lean: no edges, and nodes with only ``id``, ``files``, ``story``.

    At a million articles the edges and the nodes' texts are most of the file
    (gigabytes) and, parsed whole, tens of GB of memory; scores need neither.
    storygraph writes compact JSON with its top-level keys in a fixed order, and
    outside strings (whose quotes are escaped) ``,"nodes":[`` and ``,"edges":[``
    occur only as those keys, so the node array is found by position and its
    objects are decoded one by one. Another layout (e.g. pretty-printed) is parsed
    whole. Raises ``ValueError`` for a file that is not JSON.
    """
    with open(path, "rb") as handle:
        try:
            data = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
        except (ValueError, OSError):  # an empty file, a pipe: read it whole
            return json.loads(handle.read())
    with data:
        nodes = data.find(b',"nodes":[')
        edges = data.find(b',"edges":[', nodes) if nodes >= 0 else -1
        tail = data.find(b'],"skipped":[', edges) if edges >= 0 else -1
        if min(nodes, edges, tail) < 0:
            return json.loads(data[:])
        document = json.loads(data[:nodes] + b',"nodes":[],"edges":[' + data[tail:])
        document["nodes"] = list(_lean_nodes(data, nodes + len(b',"nodes":['), edges - 1))
    return document


def _lean_nodes(data: mmap.mmap, start: int, end: int, chunk: int = 1 << 26):
    """Decode the node objects in ``data[start:end]`` one by one, 64 MB of text at a time,
    keeping only the fields scores need (memory stays near one chunk, not the whole array)."""
    decoder = json.JSONDecoder()
    chunk = max(chunk, 4)  # a UTF-8 character is at most 4 bytes: every chunk makes progress
    pending = ""
    position = start
    while position < end or pending:
        stop = min(end, position + chunk)
        while stop < end and (data[stop] & 0xC0) == 0x80:  # never cut a UTF-8 character in two
            stop -= 1
        text = pending + data[position:stop].decode("utf-8")
        position, pending, at = stop, "", 0
        while at < len(text):
            if text[at] == ",":
                at += 1
            try:
                node, after = decoder.raw_decode(text, at)
            except json.JSONDecodeError:
                if position >= end:
                    raise
                pending = text[at:]  # an object cut by the chunk's end: finish it with the next chunk
                break
            yield {"id": node["id"], "files": node["files"], "story": node["story"]}
            at = after


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
