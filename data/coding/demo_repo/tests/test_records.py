import pytest

from textkit.records import RecordError, Tally, parse_record, record_slug


def test_parse_record():
    assert parse_record("name=Ada; role=engineer") == {"name": "Ada", "role": "engineer"}
    assert parse_record("a=1;; b = two ") == {"a": "1", "b": "two"}
    assert parse_record("") == {}


def test_parse_record_rejects_bad_pairs():
    with pytest.raises(RecordError, match="no-equals"):
        parse_record("a=1; no-equals")
    with pytest.raises(RecordError):
        parse_record("=value")


def test_record_slug():
    assert record_slug({"title": "Hello, World!"}, "title") == "hello-world"
    with pytest.raises(KeyError, match="missing"):
        record_slug({"title": "x"}, "missing")


def test_tally():
    tally = Tally()
    tally.add("the cat and the hat")
    tally.add("The end")
    assert tally.total() == 7
    assert tally.most_common(2) == ["the", "and"]
    assert tally.most_common(0) == []
    with pytest.raises(ValueError):
        tally.most_common(-1)
