"""Sequence helpers."""


def chunk(items, size):
    """Split items into consecutive lists of at most size elements.

    >>> chunk([1, 2, 3, 4, 5], 2)
    [[1, 2], [3, 4], [5]]
    >>> chunk([], 3)
    []
    """
    return [items[i:i + size] for i in range(0, len(items), size)]


def running_total(values):
    """Return the running totals of values.

    >>> running_total([1, 2, 3])
    [1, 3, 6]
    >>> running_total([])
    []
    """
    totals = []
    current = 0
    for value in values:
        current += value
        totals.append(current)
    return totals


def second_largest(values):
    """Return the second largest distinct value, or None when there is none.

    >>> second_largest([4, 1, 7, 7, 3])
    4
    >>> second_largest([5, 5]) is None
    True
    """
    distinct = sorted(set(values))
    if len(distinct) < 2:
        return None
    return distinct[-2]


def count_greater(values, threshold):
    """Count how many values are strictly greater than threshold.

    >>> count_greater([1, 5, 8, 5], 5)
    1
    >>> count_greater([], 0)
    0
    """
    count = 0
    for value in values:
        if value > threshold:
            count += 1
    return count


def first_index(values, target):
    """Return the index of the first occurrence of target, or -1 when absent.

    >>> first_index([3, 9, 9], 9)
    1
    >>> first_index([1, 2], 7)
    -1
    """
    for i in range(len(values)):
        if values[i] == target:
            return i
    return -1


def pairwise_differences(values):
    """Return the differences between each value and the one before it.

    >>> pairwise_differences([1, 4, 9, 16])
    [3, 5, 7]
    >>> pairwise_differences([5])
    []
    """
    return [values[i] - values[i - 1] for i in range(1, len(values))]


def merge_sorted(left, right):
    """Merge two sorted lists into one sorted list.

    >>> merge_sorted([1, 4, 9], [2, 3, 10])
    [1, 2, 3, 4, 9, 10]
    >>> merge_sorted([], [1])
    [1]
    """
    merged = []
    i = j = 0
    while i < len(left) and j < len(right):
        if left[i] <= right[j]:
            merged.append(left[i])
            i += 1
        else:
            merged.append(right[j])
            j += 1
    return merged + left[i:] + right[j:]
