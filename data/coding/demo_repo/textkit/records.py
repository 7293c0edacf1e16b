"""Records written as `key=value` pairs, and a word tally built from them."""

from collections import Counter

from textkit.strings import slugify


class RecordError(ValueError):
    """A line that is not a list of key=value pairs."""


def parse_record(line):
    """Read a line such as "name=Ada; role=engineer" into a dict.

    Pairs are separated by semicolons; blank pairs are skipped. A pair with no
    "=" or an empty key raises RecordError naming the pair.
    """
    record = {}
    for pair in line.split(";"):
        if not pair.strip():
            continue
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise RecordError(f"not a key=value pair: {pair.strip()!r}")
        record[key.strip()] = value.strip()
    return record


def record_slug(record, field):
    """The slug of one field of a record, for use in URLs.

    A missing field raises KeyError naming the field and the fields there are.
    """
    if field not in record:
        raise KeyError(f"no field {field!r}; the record has {sorted(record)}")
    return slugify(record[field])


class Tally:
    """Counts how often each word appears in the texts added to it."""

    def __init__(self):
        self.counts = Counter()

    def add(self, text):
        """Count the words of text (lower-cased, split on white space)."""
        for word in text.lower().split():
            self.counts[word] += 1

    def total(self):
        """How many words were counted in all."""
        return sum(self.counts.values())

    def most_common(self, n):
        """The n most frequent words, most frequent first; ties in alphabetical order."""
        if n < 0:
            raise ValueError(f"n must not be negative, got {n}")
        ranked = sorted(self.counts.items(), key=lambda item: (-item[1], item[0]))
        return [word for word, _ in ranked[:n]]
