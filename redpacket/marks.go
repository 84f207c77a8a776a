package redpacket

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Flush waits until no paid mark is in flight in the background
// (Config.AsyncMarks), or until ctx ends. It returns the errors of the
// background marks that failed since the last Flush (the first ten, and
// how many there were): those claims are paid, but read as unpaid until
// their retry or Reconcile marks them. Without AsyncMarks it returns nil
// at once.
//
// Errors: ctx's error, and those of the marks.
func (s *Service) Flush(ctx context.Context) error {
	return s.marks.wait(ctx)
}

// markTracker counts the paid marks in flight in the background.
type markTracker struct {
	mu     sync.Mutex
	closed bool          // Close: no more background marks
	n      int           // marks in flight
	idle   chan struct{} // closed when n drops to 0; nil while n is 0
	errs   []error       // failures since the last wait, the first maxMarkErrors
	failed int           // failures since the last wait
}

const (
	// maxMarksInFlight bounds the background marks: beyond it a claim
	// marks before it returns, so a slow store slows claims down instead
	// of piling up goroutines.
	maxMarksInFlight = 4096
	maxMarkErrors    = 10
	// markTimeout bounds a background mark, which runs under none of the
	// claim's cancellation.
	markTimeout = 30 * time.Second
)

// start counts a mark in; it reports false when too many are in flight,
// or after Close.
func (m *markTracker) start() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.n >= maxMarksInFlight || m.closed {
		return false
	}
	m.n++
	if m.idle == nil {
		m.idle = make(chan struct{})
	}
	return true
}

// done counts a mark out, with its error.
func (m *markTracker) done(err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err != nil {
		if len(m.errs) < maxMarkErrors {
			m.errs = append(m.errs, err)
		}
		m.failed++
	}
	if m.n--; m.n == 0 {
		close(m.idle)
		m.idle = nil
	}
}

// Close ends the background work of Config.AsyncMarks: from now on a claim
// marks itself paid before it returns, and Close waits until every mark in
// flight has ended, with no deadline (each one's is 30 s). Flush still
// reports the marks that failed. The Service keeps working; Close makes
// it own no goroutine. Calling it again is a no-op.
func (s *Service) Close() {
	s.marks.mu.Lock()
	s.marks.closed = true
	s.marks.mu.Unlock()
	_ = s.marks.quiet(context.Background())
}

// quiet waits until no mark is in flight.
func (m *markTracker) quiet(ctx context.Context) error {
	m.mu.Lock()
	idle := m.idle
	m.mu.Unlock()
	if idle != nil {
		select {
		case <-idle:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// wait waits until no mark is in flight and returns the failures since the
// last wait.
func (m *markTracker) wait(ctx context.Context) error {
	if err := m.quiet(ctx); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.failed == 0 {
		return nil
	}
	err := fmt.Errorf("%d background paid marks failed (Reconcile records them): %w", m.failed, errors.Join(m.errs...))
	m.errs, m.failed = nil, 0
	return err
}
