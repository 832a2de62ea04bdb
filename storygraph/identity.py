"""Story identity across runs (``--previous OLD.json``) and what changed since.

A story keeps the id of the previous run's story it continues, matched by member overlap
(cluster-transition tracking: MONIC, Spiliopoulou et al. 2006), one to one:

- A pair (old story O, new story N) **qualifies** when their shared members are more than
  half of O (N holds most of O: O grew, or N is O's main part after a split) or more than
  half of N (N comes mostly from O: the parts of a merge).
- Qualifying pairs are matched greedily, most shared members first; a story takes part in
  one match at most. **Ties** (the same number of shared members) go to the pair with the
  higher Jaccard overlap, then to the old story whose id sorts first, then to the new story
  with the earliest first member.
- A matched new story takes the old id; any other story gets the id of its earliest member
  (``s`` + 12 hex digits of SHA-1 of its canonical URL), or, when that id is already taken,
  of that URL with ``#2``, ``#3``, ... appended.

So a story that keeps most of its members keeps its id even when an earlier article joins
it; on a split the part holding most of the old members keeps it; on a merge the merged
story keeps the id of the part with most members.

What changed (``changes`` in the JSON, the summary line, the HTML report):

- ``new``: stories that continue no previous story and are not a part of a split;
- ``grown``: stories that kept an id and gained members, with the members they gained;
- ``merged``: a story that holds most of two or more previous stories: its id, and the
  ids of the others it absorbed;
- ``split``: a previous story whose members went to two or more stories that each come
  mostly from it: its id, and the ids of those stories;
- ``gone``: previous stories whose id lives on nowhere, absorbed by no merge and split into
  no parts (their articles left the input, or scattered).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from .document import in_output_layout, read_document
from .errors import InputError
from .io import file_sha256
from .model import Node, Story

__all__ = ["Previous", "read_previous", "check_previous", "carry_ids", "Changes", "fresh_id"]


class PreviousError(InputError):
    """A ``--previous`` file that is not a storygraph JSON output."""


@dataclass(frozen=True)
class Previous:
    """The previous run's stories: id -> member node ids, and the file's SHA-256."""

    path: str
    sha256: str
    stories: dict[str, frozenset[str]]


@dataclass
class Changes:
    new: list[str] = field(default_factory=list)
    grown: list[dict] = field(default_factory=list)  # {"id", "added": [node ids]}
    merged: list[dict] = field(default_factory=list)  # {"id", "absorbed": [ids]}
    split: list[dict] = field(default_factory=list)  # {"id": old id, "into": [ids]}
    gone: list[str] = field(default_factory=list)

    def summary(self, name: str) -> str:
        return (f"since {name}: {len(self.new)} new, {len(self.grown)} grown, {len(self.merged)} merged, "
                f"{len(self.split)} split, {len(self.gone)} gone")

    def as_dict(self, sha256: str) -> dict:
        return {"previous_sha256": sha256, "new": self.new, "grown": self.grown, "merged": self.merged,
                "split": self.split, "gone": self.gone}


def read_previous(path: str | os.PathLike) -> Previous:
    """Read the stories of a previous JSON output (any schema 1.x); errors name the file."""
    name = str(path)
    try:
        sha256 = file_sha256(path)
        document = read_document(path, nodes=False)
        stories = {str(s["id"]): frozenset(str(m) for m in s["members"]) for s in document["stories"]}
    except OSError as exc:
        raise PreviousError(f"{name}: cannot read: {exc.strerror or exc}") from None
    except (ValueError, KeyError, TypeError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PreviousError(f"{name}: not a storygraph JSON output ({exc})") from None
    return Previous(name, sha256, stories)


def check_previous(path: str | os.PathLike) -> None:
    """Raise :class:`PreviousError` now for a file :func:`read_previous` would refuse for sure: one
    that cannot be read, or not in storygraph's output layout and not a storygraph output when
    parsed whole (here). A file in the layout is parsed once, later, by :func:`read_previous`
    (a run reads it after its community stage, where memory peaks): its stories at 1M articles
    take seconds to parse, twice if checked by parsing."""
    try:
        if in_output_layout(path):
            return
    except OSError as exc:
        raise PreviousError(f"{path}: cannot read: {exc.strerror or exc}") from None
    read_previous(path)


def fresh_id(first_member: str, taken: set[str]) -> str:
    """The id of a story whose earliest member is ``first_member``, avoiding ``taken``."""
    key, k = first_member, 1
    while True:
        candidate = "s" + hashlib.sha1(key.encode("utf-8")).hexdigest()[:12]
        if candidate not in taken:
            return candidate
        k += 1
        key = f"{first_member}#{k}"


def carry_ids(stories: Sequence[Story], nodes: Sequence[Node], previous: Previous) -> tuple[list[Story], Changes]:
    """``stories`` with ids carried from ``previous`` (see the module docstring), and the changes."""
    node_ids = [node.id for node in nodes]
    members = [frozenset(map(node_ids.__getitem__, s.members)) for s in stories]
    first = [node_ids[s.members[0]] for s in stories]
    shared = _shared(members, previous.stories)
    match = _match(members, first, previous.stories, shared)
    taken = set(match.values())
    ids = []
    for k in range(len(stories)):
        if k in match:
            ids.append(match[k])
        else:
            ids.append(fresh_id(first[k], taken))
            taken.add(ids[-1])
    out = [s if s.id == i else dataclasses.replace(s, id=i) for s, i in zip(stories, ids)]  # most ids stay
    return out, _changes(members, ids, match, previous.stories, shared)


def _shared(members: list[frozenset[str]], old: dict[str, frozenset[str]]) -> dict[int, Counter]:
    """New story index -> {old id: members the two share}, for the new stories that share any."""
    owner: dict[str, str] = {m: sid for sid, ms in old.items() for m in ms}
    shared = {}
    for k, ms in enumerate(members):
        counts = Counter(map(owner.get, ms))
        counts.pop(None, None)  # members no previous story had
        if counts:
            shared[k] = counts
    return shared


def _match(members: list[frozenset[str]], first: list[str], old: dict[str, frozenset[str]],
           shared: dict[int, Counter]) -> dict[int, str]:
    """New story index -> old id, one to one (the qualifying rule and tie order above)."""
    candidates = []
    for k, counts in shared.items():
        for sid, count in counts.items():
            if 2 * count > len(old[sid]) or 2 * count > len(members[k]):
                union = len(old[sid]) + len(members[k]) - count
                candidates.append((-count, -count / union, sid, first[k], k))
    candidates.sort()
    match: dict[int, str] = {}
    used: set[str] = set()
    for *_, sid, _, k in candidates:
        if k not in match and sid not in used:
            match[k] = sid
            used.add(sid)
    return match


def _changes(members, ids, match, old, shared: dict[int, Counter]) -> Changes:
    changes = Changes()
    absorbed_ids: set[str] = set()
    parts: dict[str, list[int]] = {}
    for k, counts in sorted(shared.items()):
        majority = sorted(sid for sid, c in counts.items() if 2 * c > len(old[sid]))
        if len(majority) >= 2:
            others = [sid for sid in majority if sid != ids[k]]
            changes.merged.append({"id": ids[k], "absorbed": others})
            absorbed_ids.update(others)
        for sid, c in counts.items():
            if 2 * c > len(members[k]):
                parts.setdefault(sid, []).append(k)
    split_parts: set[int] = set()
    for sid in sorted(parts):
        if len(parts[sid]) >= 2:
            changes.split.append({"id": sid, "into": [ids[k] for k in parts[sid]]})
            split_parts.update(parts[sid])
    for k, ms in enumerate(members):
        if k in match:
            added = sorted(ms - old[match[k]])
            if added:
                changes.grown.append({"id": ids[k], "added": added})
        elif k not in split_parts:
            changes.new.append(ids[k])
    carried = set(match.values())
    changes.gone = sorted(sid for sid in old
                          if sid not in carried and sid not in absorbed_ids and len(parts.get(sid, [])) < 2)
    return changes
