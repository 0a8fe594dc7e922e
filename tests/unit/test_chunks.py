"""The byte-range planner and the choice of validation path (mlops.data.chunks)."""

import pytest

from mlops.data import chunks
from mlops.shared.errors import DatasetRejected

CSV = b'a,b\n1,"two\nlines"\n3,"say ""hi""\n"\n5,six\n'


def pieces(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


@pytest.mark.parametrize("block", [1, 3, 7, 1024])
def test_chunks_end_only_at_record_ends_whatever_the_read_blocks(block):
    plan = chunks.plan(pieces(CSV, block), chunk_bytes=1, json_lines=False)
    records = [CSV[c["start"] : c["end"]] for c in plan]
    assert records == [b'1,"two\nlines"\n', b'3,"say ""hi""\n"\n', b"5,six\n"]
    assert [c["first_line"] for c in plan] == [2, 4, 6]  # physical lines, as csv.reader counts them
    assert [c["index"] for c in plan] == [0, 1, 2]


def test_a_chunk_gathers_records_up_to_the_chunk_size_and_the_last_takes_the_rest():
    plan = chunks.plan([CSV + b"7,eight"], chunk_bytes=20, json_lines=False)  # no newline at the end
    assert [(c["start"], c["end"]) for c in plan] == [(4, 34), (34, len(CSV) + 7)]


def test_json_lines_have_no_header_and_break_at_every_newline():
    data = b'{"a": "x\\ny"}\n{"a": "\\""}\n'
    plan = chunks.plan([data], chunk_bytes=1, json_lines=True)
    assert [(c["start"], c["first_line"]) for c in plan] == [(0, 1), (14, 2)]


def test_a_header_alone_has_no_chunks():
    assert chunks.plan([b"a,b\n"], chunk_bytes=10, json_lines=False) == []


def test_the_path_follows_the_size_unless_the_upload_asks_for_the_map():
    budget = chunks.SINGLE_PATH_BYTES
    assert chunks.choose_path("k", budget, {})["path"] == "single"
    assert chunks.choose_path("k", budget + 1, {})["path"] == "distributed"
    asked = chunks.choose_path("k", 10, {"validation": "distributed", "validation-chunk-bytes": "65536"})
    assert asked == {"path": "distributed", "chunk_bytes": 65536, "reason": "asked by the upload's validation metadata"}
    assert chunks.choose_path("k", 10, {})["chunk_bytes"] == chunks.DEFAULT_CHUNK_BYTES


@pytest.mark.parametrize(
    ("metadata", "named"),
    [
        ({"validation-chunk-bytes": "1000"}, "validation-chunk-bytes='1000'"),
        ({"validation-chunk-bytes": "64k"}, "validation-chunk-bytes='64k'"),
        ({"validation": "single"}, "validation='single'"),
    ],
)
def test_bad_metadata_is_refused_naming_it(metadata, named):
    with pytest.raises(DatasetRejected, match=named):
        chunks.choose_path("datasets/m/a.csv", 10, metadata)


def test_a_file_that_would_need_too_many_chunks_is_refused():
    size = chunks.MIN_CHUNK_BYTES * chunks.MAX_CHUNKS + 1
    with pytest.raises(DatasetRejected, match="over 5000 chunks"):
        chunks.choose_path("k", size, {"validation-chunk-bytes": str(chunks.MIN_CHUNK_BYTES)})
