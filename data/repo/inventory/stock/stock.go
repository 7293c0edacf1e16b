// Package stock keeps track of items in a store and the quantity on hand.
package stock

import (
	"errors"
	"fmt"
	"sort"
)

// ErrNotFound is returned when no item has the requested SKU.
var ErrNotFound = errors.New("item not found")

// ErrInvalidQuantity is returned for a zero or negative quantity.
var ErrInvalidQuantity = errors.New("quantity must be positive")

// ErrInsufficientStock is returned when a withdrawal asks for more than is on hand.
var ErrInsufficientStock = errors.New("not enough stock")

// Item is one product line: its stock keeping unit, name, quantity on hand
// and unit price in cents.
type Item struct {
	SKU        string
	Name       string
	Quantity   int
	PriceCents int
}

// Value returns the worth of the item's stock in cents.
func (i Item) Value() int {
	return i.Quantity * i.PriceCents
}

// Store holds items by SKU.
type Store interface {
	// Get returns the item with the SKU, or ErrNotFound.
	Get(sku string) (Item, error)
	// Put adds or replaces an item.
	Put(item Item) error
	// List returns every item, sorted by SKU.
	List() []Item
}

// MemoryStore is a Store kept in memory.
type MemoryStore struct {
	items map[string]Item
}

// NewMemoryStore returns an empty MemoryStore.
func NewMemoryStore() *MemoryStore {
	return &MemoryStore{items: make(map[string]Item)}
}

// Get returns the item with the SKU, or ErrNotFound.
func (s *MemoryStore) Get(sku string) (Item, error) {
	item, ok := s.items[sku]
	if !ok {
		return Item{}, fmt.Errorf("get %q: %w", sku, ErrNotFound)
	}
	return item, nil
}

// Put adds or replaces an item. The SKU must not be empty and the quantity
// must not be negative.
func (s *MemoryStore) Put(item Item) error {
	if item.SKU == "" {
		return errors.New("put: empty SKU")
	}
	if item.Quantity < 0 {
		return fmt.Errorf("put %q: %w", item.SKU, ErrInvalidQuantity)
	}
	s.items[item.SKU] = item
	return nil
}

// List returns every item, sorted by SKU.
func (s *MemoryStore) List() []Item {
	items := make([]Item, 0, len(s.items))
	for _, item := range s.items {
		items = append(items, item)
	}
	sort.Slice(items, func(a, b int) bool { return items[a].SKU < items[b].SKU })
	return items
}

// Restock adds n units to the item with the SKU. n must be positive.
func Restock(s Store, sku string, n int) error {
	if n <= 0 {
		return fmt.Errorf("restock %q by %d: %w", sku, n, ErrInvalidQuantity)
	}
	item, err := s.Get(sku)
	if err != nil {
		return fmt.Errorf("restock: %w", err)
	}
	item.Quantity += n
	return s.Put(item)
}

// Withdraw takes n units of the item with the SKU out of stock. It fails with
// ErrInsufficientStock when fewer than n are on hand.
func Withdraw(s Store, sku string, n int) error {
	if n <= 0 {
		return fmt.Errorf("withdraw %q by %d: %w", sku, n, ErrInvalidQuantity)
	}
	item, err := s.Get(sku)
	if err != nil {
		return fmt.Errorf("withdraw: %w", err)
	}
	if item.Quantity < n {
		return fmt.Errorf("withdraw %d of %q, %d on hand: %w", n, sku, item.Quantity, ErrInsufficientStock)
	}
	item.Quantity -= n
	return s.Put(item)
}

// TotalValue returns the worth of everything in the store, in cents.
func TotalValue(s Store) int {
	total := 0
	for _, item := range s.List() {
		total += item.Value()
	}
	return total
}

// LowStock returns the SKUs of items with fewer than threshold units, sorted.
func LowStock(s Store, threshold int) []string {
	var low []string
	for _, item := range s.List() {
		if item.Quantity < threshold {
			low = append(low, item.SKU)
		}
	}
	return low
}
