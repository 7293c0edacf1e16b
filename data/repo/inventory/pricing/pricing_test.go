package pricing

import (
	"errors"
	"testing"
)

func TestPercentOffApply(t *testing.T) {
	tests := []struct {
		percent, cents, want int
	}{
		{10, 1000, 900},
		{0, 1000, 1000},
		{100, 1000, 0},
		{150, 1000, 0},
		{-5, 1000, 1000},
		{33, 100, 67},
	}
	for _, tt := range tests {
		if got := (PercentOff{Percent: tt.percent}).Apply(tt.cents); got != tt.want {
			t.Errorf("PercentOff{%d}.Apply(%d) = %d, want %d", tt.percent, tt.cents, got, tt.want)
		}
	}
}

func TestFixedOffApply(t *testing.T) {
	tests := []struct {
		off, cents, want int
	}{
		{100, 1000, 900},
		{1000, 1000, 0},
		{2000, 1000, 0},
		{0, 1000, 1000},
	}
	for _, tt := range tests {
		if got := (FixedOff{Cents: tt.off}).Apply(tt.cents); got != tt.want {
			t.Errorf("FixedOff{%d}.Apply(%d) = %d, want %d", tt.off, tt.cents, got, tt.want)
		}
	}
}

func TestClamp(t *testing.T) {
	tests := []struct {
		v, lo, hi, want int
	}{
		{5, 0, 10, 5},
		{-1, 0, 10, 0},
		{11, 0, 10, 10},
		{0, 0, 10, 0},
		{10, 0, 10, 10},
	}
	for _, tt := range tests {
		if got := Clamp(tt.v, tt.lo, tt.hi); got != tt.want {
			t.Errorf("Clamp(%d, %d, %d) = %d, want %d", tt.v, tt.lo, tt.hi, got, tt.want)
		}
	}
}

func TestApplyAll(t *testing.T) {
	if got := ApplyAll(1000, PercentOff{Percent: 10}, FixedOff{Cents: 100}); got != 800 {
		t.Errorf("ApplyAll = %d, want 800", got)
	}
	if got := ApplyAll(1000, FixedOff{Cents: 100}, PercentOff{Percent: 10}); got != 810 {
		t.Errorf("ApplyAll in the other order = %d, want 810", got)
	}
	if got := ApplyAll(1000); got != 1000 {
		t.Errorf("ApplyAll with no discounts = %d, want 1000", got)
	}
}

func TestParsePrice(t *testing.T) {
	tests := []struct {
		text    string
		want    int
		wantErr bool
	}{
		{"12.34", 1234, false},
		{"12.3", 1230, false},
		{"12", 1200, false},
		{" 0.05 ", 5, false},
		{"", 0, true},
		{"12.", 0, true},
		{"1.234", 0, true},
		{"-1.00", 0, true},
		{"abc", 0, true},
		{"1.x0", 0, true},
	}
	for _, tt := range tests {
		got, err := ParsePrice(tt.text)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("ParsePrice(%q) = %d, %v; want %d, error %v", tt.text, got, err, tt.want, tt.wantErr)
		}
		if err != nil && !errors.Is(err, ErrBadPrice) {
			t.Errorf("ParsePrice(%q) error %v does not wrap ErrBadPrice", tt.text, err)
		}
	}
}

func TestFormatPrice(t *testing.T) {
	tests := []struct {
		cents int
		want  string
	}{
		{1234, "12.34"},
		{5, "0.05"},
		{0, "0.00"},
		{100, "1.00"},
		{-250, "-2.50"},
	}
	for _, tt := range tests {
		if got := FormatPrice(tt.cents); got != tt.want {
			t.Errorf("FormatPrice(%d) = %q, want %q", tt.cents, got, tt.want)
		}
	}
}
