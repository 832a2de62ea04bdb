"""A folder of hostile news items: one file per kind of bad input, and what storygraph must do.

:func:`build` writes the folder; :data:`SKIPPED` maps each file that must be skipped
to its ``code``, :data:`KEPT` each file that must become (part of) a node to the
notice fields it must raise. Two files are only hostile with the test's help:
``files/unreadable.md`` (the test makes opening it raise PermissionError: we run as
root, so chmod cannot stop a read) and ``files/vanishes.md`` (the test deletes it
between listing and reading). A FIFO is tested on its own (``test_fifo_does_not_hang``).
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

from conftest import item

#: Written by the ``!!python/object/apply`` items if a loader ever ran them.
PWNED = "PWNED"
MAX_FILE_BYTES = 10 * 1024 * 1024
NON_UTF8_NAME = b"ok/name-\xff\xfe.md"  # shown as U+FFFD in outputs

_BOMB = "\n".join(
    ["lol0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    + [f"lol{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]" for i in range(1, 10)]
)


def _fm(body: str) -> str:
    return f"---\n{body}\n---\n"


def _ok(title: str, slug: str, **kw) -> str:
    return item(title, f"https://example.com/{slug}", **kw)


def _yaml_cases(pwned: Path) -> dict[str, tuple[str | bytes, str]]:
    url = "webUrl: https://example.com/y"
    return {
        "yaml/alias-bomb.md": (_fm(f"title: Laughs\n{url}\n{_BOMB}"), "invalid-yaml"),
        "yaml/python-object.md": (
            _fm(f"title: !!python/object/apply:os.system ['touch {pwned}']\n{url}"), "invalid-yaml"),
        "yaml/python-object-in-list.md": (
            _fm(f"{url}\ntitle: x\ntopics:\n  - !!python/object/apply:os.system\n    args: ['touch {pwned}']"),
            "invalid-yaml"),
        "yaml/python-name.md": (_fm(f"title: !!python/name:os.system\n{url}"), "invalid-yaml"),
        "yaml/custom-tag.md": (_fm(f"title: !include /etc/passwd\n{url}"), "invalid-yaml"),
        "yaml/bad-bool-tag.md": (_fm(f"title: x\n{url}\nflag: !!bool maybe"), "invalid-yaml"),
        "yaml/duplicate-key.md": (_fm(f"title: a\ntitle: b\n{url}"), "duplicate-key"),
        "yaml/syntax-error.md": (_fm(f"title: [unclosed\n{url}"), "invalid-yaml"),
        "yaml/two-documents.md": ("---\ntitle: x\n--- y\n---\n", "invalid-yaml"),
        "yaml/surrogate-escape.md": (_fm(f'title: "\\ud800"\n{url}'), "invalid-yaml"),
        "yaml/deep-flow.md": (_fm(f"{url}\ntitle: " + "[" * 100_000), "too-deep"),
        "yaml/deep-flow-closed.md": (_fm(f"{url}\ntitle: " + "[" * 100_000 + "]" * 100_000), "too-deep"),
        "yaml/deep-flow-mapping.md": (_fm(f"{url}\ntitle: " + "{a: " * 50_000 + "}" * 50_000), "too-deep"),
        # Block nesting: these crash yaml-rs (SIGSEGV) if it is ever handed them.
        "yaml/deep-block-dashes.md": (_fm(f"{url}\ntitle: x\nt:\n  " + "- " * 100_000 + "x"), "too-deep"),
        "yaml/deep-block-keys.md": (_fm(f"{url}\ntitle: x\nt:\n  " + "? " * 100_000 + "x"), "too-deep"),
        "yaml/deep-indent.md": (
            _fm(f"{url}\ntitle: x\nt:\n" + "".join(" " * (i + 1) + "k:\n" for i in range(1_000)) + " " * 1_001 + "v"),
            "too-deep"),
        "yaml/many-nodes.md": (_fm(f"{url}\ntitle: x\nt: [" + "a, " * 150_000 + "a]"), "too-many-nodes"),
    }


def _shape_cases() -> dict[str, tuple[str | bytes, str]]:
    return {
        "shape/list.md": ("---\n- title: x\n- webUrl: https://example.com/l\n---\n", "not-a-mapping"),
        "shape/scalar.md": ("---\njust a sentence\n---\n", "not-a-mapping"),
        "shape/null.md": ("---\n~\n---\n", "not-a-mapping"),
        "shape/unterminated.md": ("---\ntitle: x\nwebUrl: https://example.com/u\n", "unterminated-front-matter"),
        "shape/no-front-matter.md": ("# Just markdown\n\ntitle: x\n", "no-front-matter"),
        "bytes/empty.md": (b"", "empty"),
        "bytes/blank.md": (b" \n\t\r\n", "empty"),
        "bytes/binary.md": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)), "binary"),
        "bytes/latin1.md": ("---\ntitle: Caf\xe9\nwebUrl: https://example.com/b\n---\n".encode("latin-1"), "not-utf8"),
        "bytes/utf16.md": (_fm("title: x\nwebUrl: https://example.com/c").encode("utf-16"), "binary"),
    }


def _field_cases() -> dict[str, tuple[str | bytes, str]]:
    url = "webUrl: https://example.com/f"
    return {
        "fields/no-title.md": (_fm(url), "no-title"),
        "fields/empty-title.md": (_fm(f'title: "  \\t "\n{url}'), "no-title"),
        "fields/title-list.md": (_fm(f"title: [a, b]\n{url}"), "bad-title"),
        "fields/title-mapping.md": (_fm(f"title: {{a: 1}}\n{url}"), "bad-title"),
        "fields/title-bool.md": (_fm(f"title: true\n{url}"), "bad-title"),
        "fields/title-inf.md": (_fm(f"title: .inf\n{url}"), "bad-title"),
        "fields/title-nan.md": (_fm(f"title: .nan\n{url}"), "bad-title"),
        "fields/title-huge-int.md": (_fm(f"title: 1{'0' * 5000}\n{url}"), "bad-title"),
        "fields/no-url.md": (_fm("title: No URL"), "no-url"),
        "fields/url-wrong-type.md": (_fm("title: x\nwebUrl: [https://example.com/a]\noriginalUrl: 42"), "no-url"),
        "fields/url-100k.md": (_fm(f"title: x\nwebUrl: https://example.com/{'a' * 100_000}"), "no-url"),
        "fields/url-javascript.md": (_fm('title: x\nwebUrl: "javascript:alert(1)"'), "no-url"),
        "fields/url-control-host.md": (_fm('title: x\nwebUrl: "https://exa\\x01mple.com/a"'), "no-url"),
    }


def _kept_cases() -> dict[str, tuple[str | bytes, set[str]]]:
    """File -> (content, notice fields it must raise)."""
    crlf = "\ufeff" + _ok("BOM and CRLF", "bom").replace("\n", "\r\n")
    return {
        "ok/plain.md": (_ok("Storm Ciaran batters the coast", "storm", excerpt="storm wind coast"), set()),
        "ok/bom-crlf.md": (crlf.encode("utf-8"), set()),
        "ok/cr-only.md": (_ok("Classic Mac line ends", "cr").replace("\n", "\r").encode("utf-8"), set()),
        "ok/naive-date.md": (_ok("Naive date", "naive", published='"2024-03-05T10:00:00"'), {"publishedDateTime"}),
        "ok/impossible-date.md": (_ok("Impossible date", "feb30", published="2024-02-30T10:00:00Z"),
                                  {"publishedDateTime"}),
        "ok/words-date.md": (_ok("Words for a date", "words", published='"next tuesday"'), {"publishedDateTime"}),
        "ok/related-not-list.md": (_ok("Related is a string", "rel1", extra='related: "https://example.com/x"'),
                                   {"related"}),
        "ok/related-no-url.md": (
            _ok("Related without URLs", "rel2",
                extra=f'related:\n  - title: video\n    webUrl: ""\n  - just text\n'
                      f'  - title: long\n    webUrl: "https://example.com/{"b" * 100_000}"'),
            {"related[0]", "related[1]", "related[2]"}),
        "ok/related-huge.md": (
            _ok("Twelve hundred related entries", "rel3",
                extra="related:\n" + "".join(f"  - webUrl: https://example.com/r{i % 3}\n" for i in range(1200))),
            {"related"}),
        "ok/topics-huge.md": (_ok("Five thousand topics", "topics",
                                  extra="topics:\n" + "".join(f"  - topic {i}\n" for i in range(5000))), {"topics"}),
        "ok/quality-nan.md": (_ok("Quality NaN", "qnan", extra="quality: .nan"), {"quality"}),
        "ok/quality-inf.md": (_ok("Quality infinite", "qinf", extra="quality: -.inf"), {"quality"}),
        "ok/quality-huge-int.md": (_ok("Quality huge", "qhuge", extra=f"quality: {'9' * 5000}"), {"quality"}),
        "ok/excerpt-nan.md": (_fm('title: "Excerpt NaN"\nwebUrl: https://example.com/enan\nexcerpt: .nan'),
                              {"excerpt"}),
        "ok/excerpt-5mb.md": (_ok("Five megabyte excerpt", "big", excerpt="word " * 1_000_000), {"excerpt"}),
        "ok/xml-forbidden.md": (_ok("Bell\\a tab\\t nul\\0 vt\\v esc\\e end\\uFFFE", "ctl",
                                    excerpt="line\\r\\nnext\\x01\\uFFFF"), set()),
        "ok/markup.md": (_ok("<script>alert('x')</script> ]]> &amp; <![CDATA[ x ]]>", "markup",
                             excerpt='</data><data key="label">forged'), set()),
        "ok/markup-url.md": (item("Markup in URL", 'https://example.com/q?a=<b>&c="d"'), set()),
        "ok/long-url-alt.md": (
            _fm(f'title: "Long webUrl, good originalUrl"\nwebUrl: "https://example.com/{"c" * 100_000}"\n'
                "originalUrl: https://example.com/long-alt"), {"webUrl"}),
        "ok/tag-str.md": (_fm("title: !!str 1984\nwebUrl: https://example.com/1984"), set()),
        "ok/same-url-a.md": (_ok("Same URL", "same"), set()),
        "ok/same-url-b.md": (item("Same URL again", "http://www.example.com/same/?utm_source=x"), set()),
        "ok/ctl-name-\x01.md": (_ok("Control character in the file name", "ctlname"), set()),
        "x.md/inner.md": (_ok("Inside a folder named x.md", "inner"), set()),
        "files/unreadable.md": (_ok("Cannot be opened", "unreadable"), set()),
        "files/vanishes.md": (_ok("Deleted mid-run", "vanishes"), set()),
    }


#: Files whose skip code depends on the test's monkeypatching (see the module docstring).
RUNTIME_SKIPPED = {"files/unreadable.md": "unreadable", "files/vanishes.md": "vanished"}
#: File -> skip code, for everything built on disk.
SKIPPED: dict[str, str] = {
    **{rel: code for rel, (_, code) in _yaml_cases(Path(PWNED)).items()},
    **{rel: code for rel, (_, code) in _shape_cases().items()},
    **{rel: code for rel, (_, code) in _field_cases().items()},
    "files/too-large.md": "too-large",
    "files/symlink-loop-a.md": "unreadable",
    "files/symlink-loop-b.md": "unreadable",
    "files/symlink-self.md": "unreadable",
    "files/socket.md": "unreadable",
    "files/dangling-symlink.md": "broken-link",
}
#: File -> notice fields, for everything that must end in a node's ``files``.
KEPT: dict[str, set[str]] = {
    **{rel: fields for rel, (_, fields) in _kept_cases().items() if rel not in RUNTIME_SKIPPED},
    os.fsdecode(NON_UTF8_NAME): set(),
}


def build(root: Path, reverse: bool = False, only: set[str] | None = None) -> Path:
    """Write the hostile folder under ``root`` (created) and return it.

    ``reverse`` flips the order files are created in; ``only`` writes just those files.
    """
    root.mkdir(parents=True, exist_ok=True)
    pwned = root.parent / PWNED
    texts = {rel: body for rel, (body, _) in {**_yaml_cases(pwned), **_shape_cases(), **_field_cases(),
                                              **_kept_cases()}.items()}
    texts[os.fsdecode(NON_UTF8_NAME)] = _ok("File name that is not UTF-8", "nonutf8")
    for rel in sorted(texts, reverse=reverse):
        if only is None or rel in only:
            _write(root / rel, texts[rel])
    for rel, make in sorted(_SPECIAL.items(), reverse=reverse):
        if only is None or rel in only:
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            make(root / rel)
    if only is None:
        (root / "notes.txt").write_text("not markdown: ignored and counted\n")
        os.symlink(root, root / "loop-to-root")  # a folder symlink back into the tree
    return root


def _write(path: Path, body: str | bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(body if isinstance(body, bytes) else body.encode("utf-8"))


def _too_large(path: Path) -> None:
    with open(path, "wb") as handle:  # sparse: costs no disk
        handle.write(_ok("Too large", "large").encode())
        handle.truncate(MAX_FILE_BYTES + 1)


def _symlink(target: str):
    return lambda path: os.symlink(target, path)


def _unix_socket(path: Path) -> None:
    """A socket file: open() fails with ENXIO, a real unreadable file even for root."""
    here = os.getcwd()
    os.chdir(path.parent)  # bind() takes at most 107 bytes of path: use a relative one
    try:
        with socket.socket(socket.AF_UNIX) as sock:
            sock.bind(path.name)
    finally:
        os.chdir(here)


#: Files that are not plain text files, and how to make each.
_SPECIAL = {
    "files/too-large.md": _too_large,
    "files/symlink-loop-a.md": _symlink("symlink-loop-b.md"),
    "files/symlink-loop-b.md": _symlink("symlink-loop-a.md"),
    "files/symlink-self.md": _symlink("symlink-self.md"),
    "files/dangling-symlink.md": _symlink("no-such-target.md"),
    "files/socket.md": _unix_socket,
}


#: Files that only make sense together (a symlink loop needs both ends).
COMPANIONS = {
    "files/symlink-loop-a.md": {"files/symlink-loop-b.md"},
    "files/symlink-loop-b.md": {"files/symlink-loop-a.md"},
}


def md_files_on_disk(root: Path) -> set[str]:
    """Every ``.md`` entry under ``root`` that is not a folder, walked without following
    folder symlinks: what storygraph must account for."""
    found = set()
    for dirpath, dirnames, filenames in os.walk(root):
        rel = Path(dirpath).relative_to(root)
        found.update((rel / name).as_posix() for name in filenames if name.lower().endswith(".md"))
    return found


def shown(name: str) -> str:
    """A file name as outputs show it (lone surrogates from non-UTF-8 bytes become U+FFFD)."""
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
