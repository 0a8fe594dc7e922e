import pytest

from mlops.data import readers
from mlops.shared.errors import DatasetRejected
from tests.unit.fakes import FakeS3


def read(data: bytes, key: str = "k.csv", columns=("a", "b")) -> tuple[list[str], list]:
    header, rows = readers.read_table(FakeS3({key: data}), "bucket", key, list(columns))
    return header, list(rows)


def test_model_is_the_folder_under_datasets():
    assert readers.model_from_key("datasets/churn/2026/11/upload.csv") == "churn"


@pytest.mark.parametrize("key", ["other/churn/a.csv", "datasets/a.csv", "datasets//a.csv", "datasets/churn/"])
def test_keys_outside_a_model_folder_are_rejected(key):
    with pytest.raises(DatasetRejected, match="not under datasets/<model>/"):
        readers.model_from_key(key)


def test_csv_rows_come_with_their_line_numbers_and_quoting_is_honoured():
    header, rows = read(b'a,b\n1,"x,y"\n\n2,"line1\nline2"\n')
    assert header == ["a", "b"]
    assert rows == [(2, ["1", "x,y"], ""), (5, ["2", "line1\nline2"], "")]


def test_a_byte_order_mark_is_not_part_of_the_first_column():
    assert read(b"\xef\xbb\xbfa,b\n1,2\n")[0] == ["a", "b"]


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "is empty"),
        (b"\n", "is empty"),
        (b"a,b\n\xff\xfe,2\n", "not UTF-8"),
        (b'a,b\n1,2\n"unterminated,2\n', "not well-formed CSV"),
    ],
)
def test_unreadable_files_are_rejected_with_a_readable_reason(data, reason):
    with pytest.raises(DatasetRejected, match=reason):
        read(data)


def test_json_lines_follow_the_spec_columns_and_bad_lines_are_handed_back():
    data = b'{"a": 1, "b": "x"}\n[1, 2]\n{broken\n{"a": null}\n'
    header, rows = read(data, key="k.jsonl")
    assert header == ["a", "b"]
    assert rows[0] == (1, ["1", "x"], "")
    assert rows[1] == (2, None, "not a JSON object")
    assert rows[2][1] is None and rows[2][2].startswith("not valid JSON")
    assert rows[3] == (4, ["", ""], "")


def test_sha256_streams_the_object():
    import hashlib

    data = b"x" * (readers.READ_CHUNK_BYTES * 2 + 5)
    assert readers.sha256_of_object(FakeS3({"k": data}), "b", "k") == hashlib.sha256(data).hexdigest()
