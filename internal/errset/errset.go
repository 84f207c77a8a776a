// Package errset keeps the first errors of a run that goes on past its
// failures, as the features' Maintain methods do: a report carries their
// messages and the run returns them joined, with a count of the rest.
package errset

import (
	"errors"
	"fmt"
)

// Max is how many errors a Set keeps.
const Max = 10

// Set is the first Max errors added and a count of the others. The zero
// value is empty and ready.
type Set struct {
	errs []error
	more int
}

// Add adds err, each part of a joined error (errors.Join) as one error,
// prefixed with what failed ("refund expired: …"). A nil err adds
// nothing.
func (s *Set) Add(what string, err error) {
	if err == nil {
		return
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range j.Unwrap() {
			s.Add(what, e)
		}
		return
	}
	if len(s.errs) == Max {
		s.more++
		return
	}
	s.errs = append(s.errs, fmt.Errorf("%s: %w", what, err))
}

// Len is how many errors were added.
func (s *Set) Len() int { return len(s.errs) + s.more }

// Err returns the errors kept, joined, and how many more there were; nil
// when none were added.
func (s *Set) Err() error {
	if s.more == 0 {
		return errors.Join(s.errs...)
	}
	return errors.Join(append(s.errs[:len(s.errs):len(s.errs)], fmt.Errorf("and %d more errors", s.more))...)
}

// Strings returns the messages of the errors kept, and how many more
// there were, for a report; nil when none were added.
func (s *Set) Strings() []string {
	var out []string
	for _, e := range s.errs {
		out = append(out, e.Error())
	}
	if s.more > 0 {
		out = append(out, fmt.Sprintf("and %d more errors", s.more))
	}
	return out
}
