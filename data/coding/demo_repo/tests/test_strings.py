from textkit.strings import count_vowels, initials, is_palindrome, repeat_word, slugify, truncate


def test_slugify():
    assert slugify("Hello, World!") == "hello-world"
    assert slugify("  Many   spaces here ") == "many-spaces-here"
    assert slugify("") == ""


def test_truncate():
    assert truncate("short", 10) == "short"
    assert truncate("a longer sentence", 8) == "a lon..."
    assert truncate("exactly", 7) == "exactly"


def test_count_vowels():
    assert count_vowels("Banana") == 3
    assert count_vowels("RHYTHM") == 0
    assert count_vowels("AEIOU aeiou") == 10


def test_is_palindrome():
    assert is_palindrome("A man, a plan, a canal: Panama")
    assert not is_palindrome("Python")


def test_initials():
    assert initials("ada lovelace") == "AL"
    assert initials("Grace Brewster Murray Hopper") == "GBMH"
    assert initials("") is None


def test_repeat_word():
    assert repeat_word("ha", 3) == "ha ha ha"
    assert repeat_word("x", 0) == ""
