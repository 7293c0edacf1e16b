from textkit.sequences import (chunk, count_greater, first_index, merge_sorted, pairwise_differences, running_total,
                               second_largest)


def test_chunk():
    assert chunk([1, 2, 3, 4, 5], 2) == [[1, 2], [3, 4], [5]]
    assert chunk([], 3) == []


def test_running_total():
    assert running_total([1, 2, 3]) == [1, 3, 6]
    assert running_total([]) == []


def test_second_largest():
    assert second_largest([4, 1, 7, 7, 3]) == 4
    assert second_largest([5, 5]) is None
    assert second_largest([2, 9]) == 2


def test_count_greater():
    assert count_greater([1, 5, 8, 5], 5) == 1
    assert count_greater([], 0) == 0


def test_first_index():
    assert first_index([3, 9, 9], 9) == 1
    assert first_index([1, 2], 7) == -1
    assert first_index([4], 4) == 0


def test_pairwise_differences():
    assert pairwise_differences([1, 4, 9, 16]) == [3, 5, 7]
    assert pairwise_differences([5]) == []


def test_merge_sorted():
    assert merge_sorted([1, 4, 9], [2, 3, 10]) == [1, 2, 3, 4, 9, 10]
    assert merge_sorted([], [1]) == [1]
    assert merge_sorted([1, 1], [1]) == [1, 1, 1]
