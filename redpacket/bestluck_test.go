package redpacket

import "testing"

func TestBestLuck(t *testing.T) {
	tests := []struct {
		name    string
		amounts []int64
		want    int
		ok      bool
	}{
		{"no claims", nil, 0, false},
		{"one claim", []int64{5}, 0, true},
		{"largest wins", []int64{3, 9, 4}, 1, true},
		{"largest last", []int64{3, 4, 9}, 2, true},
		{"tie goes to the earliest", []int64{2, 7, 1, 7, 7}, 1, true},
		{"all equal: the first claim", []int64{200, 200, 200}, 0, true},
		{"tie at the front", []int64{8, 8, 1}, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := BestLuck(tt.amounts)
			if got != tt.want || ok != tt.ok {
				t.Errorf("BestLuck(%v) = %d, %v, want %d, %v", tt.amounts, got, ok, tt.want, tt.ok)
			}
		})
	}
}
