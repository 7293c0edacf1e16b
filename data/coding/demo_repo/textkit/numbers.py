"""Number helpers."""


def clamp(value, low, high):
    """Limit value to the range [low, high].

    >>> clamp(5, 0, 10)
    5
    >>> clamp(-3, 0, 10)
    0
    >>> clamp(42, 0, 10)
    10
    """
    if value < low:
        return low
    if value > high:
        return high
    return value


def safe_divide(a, b):
    """Divide a by b, returning None when b is zero.

    >>> safe_divide(10, 4)
    2.5
    >>> safe_divide(1, 0) is None
    True
    """
    if b == 0:
        return None
    return a / b


def factorial(n):
    """Return n! for a non-negative integer n.

    >>> factorial(0)
    1
    >>> factorial(5)
    120
    """
    result = 1
    for k in range(2, n + 1):
        result *= k
    return result


def sum_of_squares(n):
    """Return 1*1 + 2*2 + ... + n*n.

    >>> sum_of_squares(3)
    14
    >>> sum_of_squares(1)
    1
    >>> sum_of_squares(0)
    0
    """
    total = 0
    for k in range(1, n + 1):
        total += k * k
    return total


def is_prime(n):
    """Tell whether n is a prime number.

    >>> is_prime(2)
    True
    >>> is_prime(15)
    False
    >>> is_prime(1)
    False
    >>> is_prime(13)
    True
    """
    if n < 2:
        return False
    for d in range(2, int(n ** 0.5) + 1):
        if n % d == 0:
            return False
    return True


def digit_sum(n):
    """Sum the decimal digits of a non-negative integer.

    >>> digit_sum(1234)
    10
    >>> digit_sum(0)
    0
    """
    total = 0
    while n > 0:
        total += n % 10
        n //= 10
    return total


def mean(values):
    """Return the arithmetic mean of values, or None when there are none.

    >>> mean([1, 2, 3, 4])
    2.5
    >>> mean([]) is None
    True
    """
    if len(values) == 0:
        return None
    return sum(values) / len(values)
