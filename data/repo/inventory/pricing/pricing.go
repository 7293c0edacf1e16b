// Package pricing parses, formats and discounts prices held as whole cents.
package pricing

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ErrBadPrice is returned for text that is not a price such as "12.34".
var ErrBadPrice = errors.New("bad price")

// Discount lowers a price.
type Discount interface {
	// Apply returns the discounted price in cents, never below zero.
	Apply(cents int) int
}

// PercentOff takes a whole percentage off a price, rounding down.
type PercentOff struct {
	Percent int
}

// Apply returns cents less Percent percent of it. A percentage above 100
// counts as 100.
func (p PercentOff) Apply(cents int) int {
	percent := Clamp(p.Percent, 0, 100)
	return cents - cents*percent/100
}

// FixedOff takes a fixed amount of cents off a price.
type FixedOff struct {
	Cents int
}

// Apply returns cents less the fixed amount, but never less than zero.
func (f FixedOff) Apply(cents int) int {
	if f.Cents >= cents {
		return 0
	}
	return cents - f.Cents
}

// Clamp limits v to the range [lo, hi].
func Clamp(v, lo, hi int) int {
	if v < lo {
		return lo
	}
	if v > hi {
		return hi
	}
	return v
}

// ApplyAll applies each discount in turn and returns the final price.
func ApplyAll(cents int, discounts ...Discount) int {
	for _, d := range discounts {
		cents = d.Apply(cents)
	}
	return cents
}

// ParsePrice reads a price such as "12.34", "12.3" or "12" into cents. It
// wraps ErrBadPrice for anything else, including negative prices.
func ParsePrice(text string) (int, error) {
	whole, frac, hasFrac := strings.Cut(strings.TrimSpace(text), ".")
	if whole == "" || len(frac) > 2 || (hasFrac && frac == "") {
		return 0, fmt.Errorf("parse price %q: %w", text, ErrBadPrice)
	}
	units, err := strconv.Atoi(whole)
	if err != nil || units < 0 {
		return 0, fmt.Errorf("parse price %q: %w", text, ErrBadPrice)
	}
	cents := 0
	if frac != "" {
		for len(frac) < 2 {
			frac += "0"
		}
		cents, err = strconv.Atoi(frac)
		if err != nil || cents < 0 {
			return 0, fmt.Errorf("parse price %q: %w", text, ErrBadPrice)
		}
	}
	return units*100 + cents, nil
}

// FormatPrice writes cents as a price with two decimals, such as "12.34".
func FormatPrice(cents int) string {
	sign := ""
	if cents < 0 {
		sign, cents = "-", -cents
	}
	return fmt.Sprintf("%s%d.%02d", sign, cents/100, cents%100)
}
