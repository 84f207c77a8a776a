package collecttest

import (
	"context"
	"slices"
	"sync"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/collect"
)

// Reminder is one reminder a Reminders notifier was asked to send.
type Reminder struct {
	Request uuid.UUID
	Members []uuid.UUID
}

// Reminders is a collect.Notifier for tests of services built on collect:
// it records every reminder instead of sending it. Safe for concurrent
// use; the zero value is ready.
type Reminders struct {
	mu   sync.Mutex
	sent []Reminder
}

var _ collect.Notifier = (*Reminders)(nil)

// Remind implements collect.Notifier.
func (r *Reminders) Remind(_ context.Context, req collect.Request, members []uuid.UUID) error {
	r.mu.Lock()
	r.sent = append(r.sent, Reminder{Request: req.ID, Members: slices.Clone(members)})
	r.mu.Unlock()
	return nil
}

// Sent returns the reminders recorded so far, oldest first.
func (r *Reminders) Sent() []Reminder {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.sent)
}

// Len returns how many reminders were recorded.
func (r *Reminders) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.sent)
}
