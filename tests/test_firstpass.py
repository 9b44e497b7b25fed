"""Read and clean in one pass: the same records as reading then cleaning, without the pages' texts."""

from __future__ import annotations

import dataclasses

import pytest

from huunghi.corpus import generate
from huunghi.firstpass import PageFile, read_again, read_and_clean
from huunghi.parsing.clean import clean_chunk
from huunghi.readers import discover, read_files
from huunghi.records import PageRef, RawPage
from huunghi.text import odd_char_share


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    folder = generate(tmp_path_factory.mktemp("firstpass"), 60, seed=5, formats=("text", "html.gz"))
    (folder / "000" / "broken.html").write_bytes(b"\x00\x01\x02 not a page")
    (folder / "000" / "noisy.txt").write_text("Tiêu đề \ufffd\ufffd\n\nMột đoạn văn \x07 có ký tự lạ.\n", "utf-8")
    return folder


def test_read_and_clean_gives_what_reading_then_cleaning_gives(corpus):
    paths = discover([corpus])
    read = read_files(paths)
    cleaned = clean_chunk(read.pages)
    first = read_and_clean([PageFile.of(p) for p in paths])

    assert first.cleaned.articles == cleaned.articles
    assert first.cleaned.quarantined == cleaned.quarantined
    assert first.unreadable == read.quarantined and first.unreadable  # the broken file
    assert [r.source_uri for r in first.refs] == [p.source_uri for p in read.pages]
    for ref, page in zip(first.refs, read.pages, strict=True):
        assert isinstance(ref, PageRef)
        assert (ref.sha256, ref.size, ref.format) == (page.sha256, page.size, page.format)
        assert (ref.fetched_at, ref.url) == (page.fetched_at, page.url)
        assert ref.odd_char_share == odd_char_share(page.text)
    noisy = next(r for r in first.refs if r.source_uri.endswith("noisy.txt"))
    assert noisy.odd_char_share > 0.01
    # only the pages the second pass parses again come back whole
    doubtful = {r.source_uri for r in cleaned.articles if r.needs_knowledge}
    assert doubtful and {p.source_uri for p in first.kept} == doubtful
    assert first.kept == [p for p in read.pages if p.source_uri in doubtful]


def test_pages_held_by_the_flow_are_cleaned_as_they_are(corpus):
    page = next(p for p in read_files(discover([corpus])).pages if p.format == "html")
    fetched = dataclasses.replace(page, source_uri="https://example.org/a", url="https://example.org/a")
    first = read_and_clean([fetched])
    assert first.refs[0].origin is None and read_again(first.refs[0]) is None
    assert first.cleaned.articles == clean_chunk([fetched]).articles


def test_a_page_is_read_again_only_while_its_bytes_are_the_same(corpus, tmp_path):
    source = next(p for p in discover([corpus]) if p.name.endswith(".html.gz"))
    path = tmp_path / source.name
    path.write_bytes(source.read_bytes())
    ref = read_and_clean([PageFile.of(path)]).refs[0]
    again = read_again(ref)
    assert isinstance(again, RawPage) and again.sha256 == ref.sha256
    assert again == read_files([path]).pages[0]

    path.write_bytes(source.read_bytes() + b"\n")  # the file changed since the run read it
    assert read_again(ref) is None
    assert PageFile.of(path) != PageFile.of(source)  # and the clean's cache key sees it


def test_a_batch_staged_in_pieces_reads_back_as_the_batch_and_sends_no_text(corpus, tmp_path):
    """Each worker stages its piece of a batch itself: what comes back to the flow is references and summaries
    (no page text), and the batch's staged rows are those of one pass over the whole batch, in input order,
    whatever order the pieces were staged in."""
    import pickle

    from huunghi.parallel import chunks
    from huunghi.records import StagedPass
    from huunghi.staging import Stage, cleaned_from_arrow, piece_name, stage_piece

    inputs = [PageFile.of(p) for p in discover([corpus])]
    whole = read_and_clean(inputs)
    stage = Stage.of_run(tmp_path, "run")
    pieces = list(enumerate(chunks(inputs, 4)))
    staged = {k: stage_piece([(k, part)], stage, "000001", None) for k, part in reversed(pieces)}
    batch = StagedPass.merge("000001", [staged[k] for k in sorted(staged)])

    text = sum(len(p.text.encode()) for p in read_files(discover([corpus])).pages)
    assert len(pickle.dumps(batch)) < text / 10  # the flow's share of a batch: no page's text
    articles = [dataclasses.replace(a, prepared=None) for a in whole.cleaned.articles]
    assert cleaned_from_arrow(stage.read("cleaned", "000001")) == articles
    assert [p.source_uri for p in batch.pages] == [a.source_uri for a in articles]
    assert [(p.part, p.piece) for p in batch.pages] == [("000001", k) for k, part in pieces
                                                        for a in read_and_clean(part).cleaned.articles]  # fmt: skip
    assert batch.refs == whole.refs and batch.unreadable == whole.unreadable
    kept = [page for k in sorted(batch.kept) for page, _ in stage.kept(piece_name("000001", k))]
    assert kept == whole.kept and sum(batch.kept.values()) == len(whole.kept)
