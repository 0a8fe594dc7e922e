import pytest

from mlops import datasets
from mlops.errors import DatasetRejected
from tests.unit.fakes import FakeS3


def profile(data: bytes) -> dict:
    return datasets.profile_csv(FakeS3({"k.csv": data}), "bucket", "k.csv")


def test_model_is_the_folder_under_datasets():
    assert datasets.model_from_key("datasets/churn/2026/11/upload.csv") == "churn"


@pytest.mark.parametrize("key", ["other/churn/a.csv", "datasets/a.csv", "datasets//a.csv", "datasets/churn/"])
def test_keys_outside_a_model_folder_are_rejected(key):
    with pytest.raises(DatasetRejected, match="not under datasets/<model>/"):
        datasets.model_from_key(key)


def test_profile_counts_rows_and_names_columns():
    assert profile(b"a,b,target\n1,2,0\n3,4,1\n") == {"columns": ["a", "b", "target"], "rows": 2}


def test_quoted_commas_and_newlines_are_one_field():
    assert profile(b'a,b\n"x,y","line1\nline2"\n')["rows"] == 1


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "is empty"),
        (b"\n", "is empty"),
        (b"a,b,target\n", "header but no data rows"),
        (b"a,b\n1,2\n3\n", "line 3 has 1 fields where the header has 2"),
        (b"a,a\n1,2\n", "repeats a column name"),
        (b"a,b\n\xff\xfe,2\n", "not UTF-8"),
        (b'a,b\n"unterminated,2\n', "not well-formed CSV"),
    ],
)
def test_unusable_files_are_rejected_with_a_readable_reason(data, reason):
    with pytest.raises(DatasetRejected, match=reason):
        profile(data)


def test_sha256_streams_the_object():
    data = b"x" * (datasets.READ_CHUNK_BYTES * 2 + 5)
    import hashlib

    assert datasets.sha256_of_object(FakeS3({"k": data}), "b", "k") == hashlib.sha256(data).hexdigest()
