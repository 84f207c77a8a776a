package errset_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/socialpay/socialpay/internal/errset"
)

var errItem = errors.New("item failed")

func TestSet(t *testing.T) {
	var s errset.Set
	s.Add("nothing", nil)
	if s.Err() != nil || s.Strings() != nil || s.Len() != 0 {
		t.Fatalf("empty set: %v %q %d", s.Err(), s.Strings(), s.Len())
	}
	var parts []error
	for i := range errset.Max + 2 {
		parts = append(parts, fmt.Errorf("packet %d: %w", i, errItem))
	}
	s.Add("refund", errors.Join(parts[:3]...)) // a joined error counts as its parts
	s.Add("reconcile", errors.Join(parts[3:]...))
	if s.Len() != errset.Max+2 {
		t.Fatalf("Len %d, want %d", s.Len(), errset.Max+2)
	}
	got := s.Strings()
	if len(got) != errset.Max+1 || got[0] != "refund: packet 0: item failed" || got[3] != "reconcile: packet 3: item failed" ||
		got[errset.Max] != "and 2 more errors" {
		t.Fatalf("Strings: %q", got)
	}
	if err := s.Err(); !errors.Is(err, errItem) || err.Error() != fmt.Sprint(joined(got)) {
		t.Fatalf("Err: %v", err)
	}
}

func joined(lines []string) string {
	out := ""
	for i, l := range lines {
		if i > 0 {
			out += "\n"
		}
		out += l
	}
	return out
}

func ExampleSet() {
	var s errset.Set
	s.Add("sweep", errors.Join(errors.New("request 1: store down"), errors.New("request 2: store down")))
	s.Add("reconcile", nil)
	fmt.Println(s.Len(), s.Strings())
	// Output: 2 [sweep: request 1: store down sweep: request 2: store down]
}
