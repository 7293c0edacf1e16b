package stock

import (
	"errors"
	"reflect"
	"testing"
)

func seeded(t *testing.T) *MemoryStore {
	t.Helper()
	s := NewMemoryStore()
	for _, item := range []Item{
		{SKU: "A1", Name: "apple", Quantity: 10, PriceCents: 50},
		{SKU: "B2", Name: "bread", Quantity: 2, PriceCents: 250},
		{SKU: "C3", Name: "cheese", Quantity: 0, PriceCents: 900},
	} {
		if err := s.Put(item); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

func TestItemValue(t *testing.T) {
	tests := []struct {
		item Item
		want int
	}{
		{Item{Quantity: 3, PriceCents: 100}, 300},
		{Item{Quantity: 0, PriceCents: 100}, 0},
		{Item{Quantity: 7, PriceCents: 15}, 105},
	}
	for _, tt := range tests {
		if got := tt.item.Value(); got != tt.want {
			t.Errorf("%+v.Value() = %d, want %d", tt.item, got, tt.want)
		}
	}
}

func TestMemoryStoreGet(t *testing.T) {
	s := seeded(t)
	item, err := s.Get("B2")
	if err != nil || item.Name != "bread" {
		t.Fatalf("Get(B2) = %+v, %v", item, err)
	}
	if _, err := s.Get("Z9"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get(Z9) error = %v, want ErrNotFound", err)
	}
}

func TestMemoryStorePut(t *testing.T) {
	s := NewMemoryStore()
	if err := s.Put(Item{SKU: "", Quantity: 1}); err == nil {
		t.Error("Put with an empty SKU succeeded")
	}
	if err := s.Put(Item{SKU: "X", Quantity: -1}); !errors.Is(err, ErrInvalidQuantity) {
		t.Errorf("Put with a negative quantity: %v, want ErrInvalidQuantity", err)
	}
	if err := s.Put(Item{SKU: "X", Quantity: 0}); err != nil {
		t.Errorf("Put with zero quantity: %v", err)
	}
}

func TestMemoryStoreList(t *testing.T) {
	s := seeded(t)
	var skus []string
	for _, item := range s.List() {
		skus = append(skus, item.SKU)
	}
	if want := []string{"A1", "B2", "C3"}; !reflect.DeepEqual(skus, want) {
		t.Fatalf("List() SKUs = %v, want %v", skus, want)
	}
}

func TestRestock(t *testing.T) {
	tests := []struct {
		name    string
		sku     string
		n       int
		want    int
		wantErr error
	}{
		{"adds units", "A1", 5, 15, nil},
		{"from zero", "C3", 1, 1, nil},
		{"zero units", "A1", 0, 10, ErrInvalidQuantity},
		{"negative units", "A1", -2, 10, ErrInvalidQuantity},
		{"unknown sku", "Z9", 1, 0, ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := seeded(t)
			err := Restock(s, tt.sku, tt.n)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Restock error = %v, want %v", err, tt.wantErr)
			}
			if item, _ := s.Get(tt.sku); item.Quantity != tt.want {
				t.Errorf("quantity = %d, want %d", item.Quantity, tt.want)
			}
		})
	}
}

func TestWithdraw(t *testing.T) {
	tests := []struct {
		name    string
		sku     string
		n       int
		want    int
		wantErr error
	}{
		{"some units", "A1", 4, 6, nil},
		{"every unit", "B2", 2, 0, nil},
		{"too many", "B2", 3, 2, ErrInsufficientStock},
		{"zero units", "A1", 0, 10, ErrInvalidQuantity},
		{"unknown sku", "Z9", 1, 0, ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := seeded(t)
			err := Withdraw(s, tt.sku, tt.n)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Withdraw error = %v, want %v", err, tt.wantErr)
			}
			if item, _ := s.Get(tt.sku); item.Quantity != tt.want {
				t.Errorf("quantity = %d, want %d", item.Quantity, tt.want)
			}
		})
	}
}

func TestTotalValue(t *testing.T) {
	if got := TotalValue(seeded(t)); got != 10*50+2*250 {
		t.Fatalf("TotalValue = %d, want %d", got, 10*50+2*250)
	}
	if got := TotalValue(NewMemoryStore()); got != 0 {
		t.Fatalf("TotalValue of an empty store = %d", got)
	}
}

func TestLowStock(t *testing.T) {
	tests := []struct {
		threshold int
		want      []string
	}{
		{1, []string{"C3"}},
		{3, []string{"B2", "C3"}},
		{11, []string{"A1", "B2", "C3"}},
		{0, nil},
	}
	for _, tt := range tests {
		if got := LowStock(seeded(t), tt.threshold); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("LowStock(%d) = %v, want %v", tt.threshold, got, tt.want)
		}
	}
}
