package textutil

import "testing"

func TestSlugify(t *testing.T) {
	tests := []struct {
		text, want string
	}{
		{"Hello, World!", "hello-world"},
		{"  Many   spaces here ", "many-spaces-here"},
		{"Crème brûlée 2", "crème-brûlée-2"},
		{"", ""},
		{"---", ""},
	}
	for _, tt := range tests {
		if got := Slugify(tt.text); got != tt.want {
			t.Errorf("Slugify(%q) = %q, want %q", tt.text, got, tt.want)
		}
	}
}

func TestTruncate(t *testing.T) {
	tests := []struct {
		text  string
		limit int
		want  string
	}{
		{"short", 10, "short"},
		{"a longer sentence", 8, "a lon..."},
		{"exactly", 7, "exactly"},
		{"abcdef", 3, "abc"},
		{"héllo wörld", 6, "hél..."},
	}
	for _, tt := range tests {
		if got := Truncate(tt.text, tt.limit); got != tt.want {
			t.Errorf("Truncate(%q, %d) = %q, want %q", tt.text, tt.limit, got, tt.want)
		}
	}
}

func TestWordCount(t *testing.T) {
	tests := []struct {
		text string
		want int
	}{
		{"one two three", 3},
		{"  spaced   out  ", 2},
		{"", 0},
		{"tab\tand\nnewline", 3},
	}
	for _, tt := range tests {
		if got := WordCount(tt.text); got != tt.want {
			t.Errorf("WordCount(%q) = %d, want %d", tt.text, got, tt.want)
		}
	}
}

func TestLabel(t *testing.T) {
	if got := Label("Blue Cheese Wedge", 10); got != "Blue Ch... [blue-cheese-wedge]" {
		t.Errorf("Label = %q", got)
	}
}
