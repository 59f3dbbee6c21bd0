"""bench/pdf_libraries.py compares like with like: every library's letters and print files carry
the own code's text page for page and pass qpdf --check (no timing here; the bench times)."""

from __future__ import annotations

import shutil

import pytest

pytest.importorskip("pikepdf")  # a bench dependency (requirements-dev.txt)
if shutil.which("qpdf") is None:
    pytest.skip("qpdf is not installed", allow_module_level=True)

from bench import pdf_libraries as bench  # noqa: E402


@pytest.fixture(scope="module")
def inputs() -> bench.Inputs:
    return bench.render(3, chunk_size=2)  # two overlay passes, as in a real batch


def test_the_bench_stamps_what_render_batch_stamped(inputs: bench.Inputs) -> None:
    own = bench.stamp_own(inputs)

    assert [bench.page_texts(pdf) for pdf in own] == [
        bench.page_texts(pdf) for pdf in inputs.letters
    ]


@pytest.mark.parametrize("name", sorted(bench.STAMPS))
def test_each_library_stamps_the_same_letters(inputs: bench.Inputs, name: str) -> None:
    bench.check_letters(name, bench.STAMPS[name](inputs), inputs.letters, [0, 1, 2])


@pytest.mark.parametrize("name", sorted(bench.MERGES))
def test_each_library_merges_the_same_print_file(inputs: bench.Inputs, name: str) -> None:
    own = bench.merge_own(inputs.letters)
    pages = list(range(3 * inputs.pages))

    bench.check_print_file(name, bench.MERGES[name](inputs.letters), own, pages)


def test_the_check_catches_a_letter_with_someone_else_s_text(inputs: bench.Inputs) -> None:
    with pytest.raises(SystemExit, match="letter 0"):
        bench.check_letters("swapped", inputs.letters[::-1], inputs.letters, [0])


def test_deduplicating_on_pikepdf_shares_the_body_between_letters(inputs: bench.Inputs) -> None:
    plain = bench.merge_pikepdf(inputs.letters)
    deduplicated = bench.merge_pikepdf_dedupe(inputs.letters)

    assert len(deduplicated) < len(plain) / 2
