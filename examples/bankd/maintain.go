package main

import (
	"context"
	"log/slog"
	"time"
)

// ReconcileGrace is how old unfinished work must be before the periodic
// reconciliation finishes it, leaving requests in flight to themselves.
const ReconcileGrace = time.Minute

// task is one periodic step: what it finished, and its error.
type task struct {
	name string
	run  func(ctx context.Context, now time.Time) (int, error)
}

// tasks are the features' periodic methods, each safe on every instance
// at once. When the library's Maintain(ctx, now) and its runner land,
// this list becomes one call per feature.
func (s *Server) tasks() []task {
	a := s.app
	return []task{
		{"ledger_expire_pending", a.ledger.ExpirePending},
		{"redpacket_refund_expired", a.packets.RefundExpired},
		{"redpacket_reconcile", func(ctx context.Context, now time.Time) (int, error) {
			r, err := a.packets.Reconcile(ctx, now)
			return r.Funded + r.Cancelled + r.Paid + r.Returned + r.Refunded + r.Settled + r.Marked + r.Repaid +
				r.RefundMoved + r.RefundRecorded, err
		}},
		{"transfer_release_due", a.phones.ReleaseDue},
		{"transfer_expire_chats", a.phones.ExpireChats},
		{"transfer_reconcile", func(ctx context.Context, now time.Time) (int, error) {
			r, err := a.phones.Reconcile(ctx, now) // minus ReconcileGrace, set in its Config
			return r.Settled + r.Cancelled + r.Failed, err
		}},
		{"qr_reconcile", func(ctx context.Context, now time.Time) (int, error) {
			r, err := a.qr.Reconcile(ctx, now)
			return r.Completed + r.Cancelled + r.Repaired, err
		}},
		{"qr_sweep_used_codes", func(ctx context.Context, _ time.Time) (int, error) { return a.qr.Sweep(ctx) }},
		{"lookup_limiter_prune", func(ctx context.Context, _ time.Time) (int, error) {
			n, err := a.prune(ctx)
			return int(n), err
		}},
	}
}

// maintain runs every task each period until ctx ends; 0 runs nothing.
func (s *Server) maintain(ctx context.Context, every time.Duration) {
	if every <= 0 {
		return
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.maintainOnce(ctx)
		}
	}
}

// maintainOnce runs every task once, logging and counting each.
func (s *Server) maintainOnce(ctx context.Context) {
	for _, t := range s.tasks() {
		if ctx.Err() != nil {
			return
		}
		n, err := t.run(ctx, s.app.now())
		result := "ok"
		if err != nil {
			result = "error"
			s.log.LogAttrs(ctx, slog.LevelWarn, "maintenance", slog.String("task", t.name), slog.Int("done", n), slog.Any("err", err))
		} else if n > 0 {
			s.log.LogAttrs(ctx, slog.LevelInfo, "maintenance", slog.String("task", t.name), slog.Int("done", n))
		}
		s.metrics.maintenance.WithLabelValues(t.name, result).Inc()
		s.metrics.maintained.WithLabelValues(t.name).Add(float64(n))
	}
}
