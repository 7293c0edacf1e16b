from textkit.numbers import clamp, digit_sum, factorial, is_prime, mean, safe_divide, sum_of_squares


def test_clamp():
    assert clamp(5, 0, 10) == 5
    assert clamp(-3, 0, 10) == 0
    assert clamp(42, 0, 10) == 10
    assert clamp(10, 0, 10) == 10


def test_safe_divide():
    assert safe_divide(10, 4) == 2.5
    assert safe_divide(1, 0) is None


def test_factorial():
    assert factorial(0) == 1
    assert factorial(1) == 1
    assert factorial(5) == 120


def test_sum_of_squares():
    assert sum_of_squares(3) == 14
    assert sum_of_squares(1) == 1
    assert sum_of_squares(0) == 0


def test_is_prime():
    assert [n for n in range(20) if is_prime(n)] == [2, 3, 5, 7, 11, 13, 17, 19]


def test_digit_sum():
    assert digit_sum(1234) == 10
    assert digit_sum(0) == 0


def test_mean():
    assert mean([1, 2, 3, 4]) == 2.5
    assert mean([]) is None
