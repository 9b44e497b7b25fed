"""The cleaner's knowledge read by key (issue 26): a chunk of pages asks the warehouse only for its own keys,
and reads exactly as it would with everything the warehouse knows held at once."""

from __future__ import annotations

import pickle
from pathlib import Path

import pyarrow as pa
import pytest

from huunghi.corpus import generate
from huunghi.knowledge import BOILERPLATE_MIN_PAGES, Knowledge
from huunghi.parsing.clean import clean_chunk
from huunghi.readers import read_files
from huunghi.records import RawPage
from huunghi.text import title_key
from huunghi.warehouse import reads, store
from tests.test_clean_variants import BODY, LEAD, STORY_A, STORY_B, STORY_C, end, page

PROMO = "Đặt mua báo Thời Đại năm 2026"


def _unrelated(n: int) -> list[str]:
    return [f"Tin số {i} về hợp tác giữa hai tỉnh bạn" for i in range(n)]


def _warehouse(root: Path, titles: list[str], lines: list[str] = ()) -> reads.StoredKnowledge:
    """A warehouse filled as `_fill` does, and its knowledge as the flow ships it."""
    _fill(root, titles, lines)
    stored = reads.stored_knowledge(root)
    assert stored is not None
    return stored


def _fill(root: Path, titles: list[str], lines: list[str] = ()) -> None:
    """A warehouse holding these stories (with their alias rows, as every run writes them) and these lines
    on BOILERPLATE_MIN_PAGES articles each."""
    con = store.connect(store.check_location(root, create=True), read_only=False)
    store.ensure_schema(con)
    ids = [f"id-{n}" for n in range(len(titles))]
    con.register("s", pa.table({"id": ids, "title": titles, "key": [title_key(t) for t in titles]}))
    con.execute("INSERT INTO stories SELECT id, title, NULL, NULL, 'r1' FROM s")
    con.execute("INSERT INTO story_aliases SELECT key, id FROM s")
    rows = [(title_key(line), f"a{n}") for line in lines for n in range(BOILERPLATE_MIN_PAGES)]
    con.register("h", pa.table({"k": [k for k, _ in rows], "a": [a for _, a in rows]}, schema=pa.schema(
        [("k", pa.string()), ("a", pa.string())])))  # fmt: skip
    con.execute("INSERT INTO headline_lines SELECT k, a FROM h")
    con.close()


TITLES = [STORY_A, STORY_C, *_unrelated(300)]
LINES = [PROMO, *_unrelated(300)]


@pytest.fixture(scope="module")
def shared(tmp_path_factory) -> tuple[Path, reads.StoredKnowledge]:
    """One warehouse of TITLES and LINES for the tests that only read it (a warehouse's schema alone takes
    seconds to create)."""
    root = tmp_path_factory.mktemp("knowledge") / "wh"
    return root, _warehouse(root, TITLES, LINES)


def _raw(text: str, name: str = "p") -> RawPage:
    return RawPage(f"file:///{name}.txt", "0" * 64, None, "text", len(text), text)


def _whole(titles: list[str], lines: list[str] = ()) -> Knowledge:
    """What the old read_knowledge loaded: every title and furniture line of the warehouse."""
    return Knowledge(frozenset(title_key(t) for t in titles), frozenset(title_key(line) for line in lines))


# A plain teaser line of two joined titles, STORY_C known only from the warehouse (a late key: a suffix of a
# line, not a line), and a promo line that is furniture only by the warehouse's count.
JOINED = page(
    [LEAD, f"{STORY_B} {STORY_C}", "", BODY[0], "", PROMO, "", BODY[1]], end(), sidebar=["", "Phiên bản di động"]
)


def test_a_teaser_and_furniture_known_only_from_the_warehouse_read_as_with_all_its_knowledge(shared):
    _, stored = shared
    raws = [_raw(JOINED), _raw(page([LEAD, STORY_A, "", BODY[0]], end()), "q")]
    by_key = clean_chunk(raws, stored=stored)
    assert by_key == clean_chunk(raws, _whole(TITLES, LINES))
    article = by_key.articles[0]
    assert [s.title for s in article.stories if s.block == "inline"] == [STORY_B, STORY_C]
    assert PROMO not in [text for _, text in article.paragraphs]
    assert by_key != clean_chunk(raws)  # the warehouse's knowledge is what settled both


@pytest.mark.slow
def test_html_pages_asked_by_key_read_as_with_all_the_knowledge(tmp_path):
    """The HTML pages of a generated corpus (rendered once, parsed from their prepared form), against a
    warehouse that knows every story title they show and many unrelated ones."""
    root = generate(tmp_path / "corpus", 30, seed=31, formats=("html",))
    pages = read_files(sorted(root.rglob("*.html"))).pages
    titles = [*sorted({s.title for r in clean_chunk(pages).articles for s in r.stories}), *_unrelated(100)]
    stored = _warehouse(tmp_path / "wh", titles)
    whole = clean_chunk(pages, _whole(titles))
    assert clean_chunk(pages, stored=stored) == whole
    assert whole != clean_chunk(pages)  # the titles settle some of them


class Recorded:
    """A lookup that notes what it was asked and what it answered."""

    def __init__(self, stored: reads.StoredKnowledge) -> None:
        self.stored, self.asked, self.answers = stored, [], []

    def __call__(self, keys: list[str]) -> Knowledge:
        self.asked.extend(keys)
        self.answers.append(self.stored(keys))
        return self.answers[-1]


@pytest.mark.slow
def test_a_chunk_asks_and_holds_only_its_own_keys_whatever_the_warehouse_holds(tmp_path):
    """What a batch is shipped names the warehouse, not what it holds; what a worker asks and holds are the
    page's keys: the same for a warehouse of one story and one of thousands of unrelated ones."""
    seen: dict[str, Recorded] = {}
    for name, extra in (("few", 0), ("many", 5000)):
        stored = _warehouse(tmp_path / name, [STORY_C, *_unrelated(extra)], [PROMO, *_unrelated(extra)])
        seen[name] = Recorded(stored)
        clean_chunk([_raw(JOINED)], stored=seen[name])
        assert len(pickle.dumps(stored)) < 200
    assert (seen["few"].asked, seen["few"].answers) == (seen["many"].asked, seen["many"].answers)
    asked, answers = seen["many"].asked, seen["many"].answers
    assert set(asked) <= {title_key(" ".join(w[i:j])) for line in JOINED.split("\n") if (w := line.split(" "))
                          for i in range(len(w)) for j in range(i, len(w) + 1)}  # fmt: skip
    assert {k for a in answers for k in a.titles | a.lines} == {title_key(STORY_C), title_key(PROMO)}
    assert len(asked) == len(set(asked))  # never asked twice


def test_read_knowledge_answers_only_the_keys_asked(shared):
    root, stored = shared
    keys = [title_key(STORY_C), title_key(PROMO), title_key(STORY_B)]
    got = reads.read_knowledge(root, keys, stored.snapshot)
    assert got == Knowledge(frozenset({title_key(STORY_C)}), frozenset({title_key(PROMO)}))
    assert got == reads.read_knowledge(root, keys)  # now, or at the snapshot: the same here
    with reads.session(root):  # the run's shared connection, where the warehouse still is
        assert reads.read_knowledge(root, keys, stored.snapshot) == got


def test_a_process_that_asks_often_reads_the_knowledge_whole_once_with_the_same_answers(shared, monkeypatch):
    """A large run asks once per chunk, and each query scans the key columns: after WHOLE_AFTER_QUERIES a
    process reads what the warehouse knows whole, once (what every run did before), and answers the same."""
    _, stored = shared
    monkeypatch.setattr(reads, "_answers", {})  # a new process: what other tests asked is not remembered
    titles, lines = TITLES[:52], LINES[:21]
    calls = {"by_key": 0, "whole": 0}
    by_key, whole = reads.read_knowledge, reads.read_all_knowledge

    def counted(name, function):
        def call(*args, **kwargs):
            calls[name] += 1
            return function(*args, **kwargs)

        return call

    monkeypatch.setattr(reads, "read_knowledge", counted("by_key", by_key))
    monkeypatch.setattr(reads, "read_all_knowledge", counted("whole", whole))
    asked = [[title_key(t), f"khong co {n}"] for n, t in enumerate([*titles, *lines, STORY_B])]
    answers = [stored(keys) for keys in asked]
    expected = _whole(TITLES, LINES)
    for keys, got in zip(asked, answers, strict=True):
        assert got == Knowledge(frozenset(k for k in keys if k in expected.titles),
                                frozenset(k for k in keys if k in expected.lines))  # fmt: skip
    assert calls == {"by_key": reads.WHOLE_AFTER_QUERIES, "whole": 1}
