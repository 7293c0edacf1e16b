// Package textutil tidies item names for display and for URLs.
package textutil

import (
	"strings"
	"unicode"
)

// Slugify lower-cases text and joins its words with hyphens, dropping
// everything that is not a letter or a digit.
func Slugify(text string) string {
	var words []string
	var word strings.Builder
	for _, r := range strings.ToLower(text) {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			word.WriteRune(r)
			continue
		}
		if word.Len() > 0 {
			words = append(words, word.String())
			word.Reset()
		}
	}
	if word.Len() > 0 {
		words = append(words, word.String())
	}
	return strings.Join(words, "-")
}

// Truncate cuts text to at most limit runes, ending with "..." when it was
// cut. A limit below 4 leaves no room for the dots and returns the first
// limit runes.
func Truncate(text string, limit int) string {
	runes := []rune(text)
	if len(runes) <= limit {
		return text
	}
	if limit < 4 {
		return string(runes[:limit])
	}
	return string(runes[:limit-3]) + "..."
}

// WordCount returns how many words, separated by white space, text holds.
func WordCount(text string) int {
	return len(strings.Fields(text))
}

// Label builds the display label of an item: its name, truncated to
// limit runes, and its slug in brackets.
func Label(name string, limit int) string {
	return Truncate(name, limit) + " [" + Slugify(name) + "]"
}
