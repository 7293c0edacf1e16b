"""String helpers."""

import re


def slugify(text):
    """Lower-case text and join its words with hyphens, dropping punctuation.

    >>> slugify("Hello, World!")
    'hello-world'
    >>> slugify("  Many   spaces here ")
    'many-spaces-here'
    """
    words = re.findall(r"[a-z0-9]+", text.lower())
    return "-".join(words)


def truncate(text, limit):
    """Cut text to at most limit characters, ending with '...' when it was cut.

    >>> truncate("short", 10)
    'short'
    >>> truncate("a longer sentence", 8)
    'a lon...'
    >>> truncate("exactly", 7)
    'exactly'
    """
    if len(text) <= limit:
        return text
    return text[: limit - 3] + "..."


def count_vowels(text):
    """Count the vowels (a, e, i, o, u) in text, ignoring case.

    >>> count_vowels("Banana")
    3
    >>> count_vowels("RHYTHM")
    0
    """
    total = 0
    for char in text.lower():
        if char in "aeiou":
            total += 1
    return total


def is_palindrome(text):
    """Tell whether text reads the same backwards, ignoring case and non-letters.

    >>> is_palindrome("A man, a plan, a canal: Panama")
    True
    >>> is_palindrome("Python")
    False
    """
    letters = [c.lower() for c in text if c.isalpha()]
    return letters == letters[::-1]


def initials(name):
    """Return the upper-case initials of a name, or None for an empty name.

    >>> initials("ada lovelace")
    'AL'
    >>> initials("Grace Brewster Murray Hopper")
    'GBMH'
    >>> initials("") is None
    True
    """
    if not name:
        return None
    return "".join(part[0].upper() for part in name.split())


def repeat_word(word, times):
    """Repeat word the given number of times, separated by spaces.

    >>> repeat_word("go", 3)
    'go go go'
    >>> repeat_word("stop", 1)
    'stop'
    >>> repeat_word("x", 0)
    ''
    """
    return " ".join([word] * times)
