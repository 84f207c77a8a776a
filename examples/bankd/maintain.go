package main

import (
	"context"
	"encoding/json"
	"time"

	"github.com/socialpay/socialpay/maintain"
	"github.com/socialpay/socialpay/postgres"
)

// ReconcileGrace is how old unfinished work must be before the periodic
// reconciliation finishes it, leaving requests in flight to themselves.
const ReconcileGrace = time.Minute

// newRunner returns the periodic work (package maintain): each feature's
// Maintain and the lookup limiter's pruning, every -maintain on every
// instance, with a lease per task on PostgreSQL so that instances do not
// repeat each other's work (correctness never depends on it).
func (s *Server) newRunner() (*maintain.Runner, error) {
	a := s.app
	tasks := []maintain.Task{
		maintain.TaskOf("ledger", a.ledger), // holds whose timeout passed
		maintain.TaskOf("redpacket", a.packets),
		maintain.TaskOf("transfer", a.phones),
		maintain.TaskOf("qr", a.qr),
		{Name: "lookup_limiter", Run: func(ctx context.Context, _ time.Time) (any, error) {
			n, err := a.prune(ctx)
			return struct {
				Pruned int64 `json:"pruned"`
			}{n}, err
		}},
	}
	for i := range tasks {
		tasks[i] = s.counted(tasks[i])
	}
	var lease maintain.Lease
	if a.db != nil {
		lease = postgres.NewTaskLease(a.db)
	}
	return maintain.New(maintain.Config{Tasks: tasks, Interval: a.cfg.Maintain, Now: a.now, Lease: lease, Logger: s.log})
}

// counted counts t's runs by result, and what its reports say it did.
func (s *Server) counted(t maintain.Task) maintain.Task {
	run := t.Run
	t.Run = func(ctx context.Context, now time.Time) (any, error) {
		rep, err := run(ctx, now)
		result := "ok"
		if err != nil {
			result = "error"
		}
		s.metrics.maintenance.WithLabelValues(t.Name, result).Inc()
		if b, jerr := json.Marshal(rep); jerr == nil {
			var v any
			if json.Unmarshal(b, &v) == nil {
				countItems(v, "", func(item string, n float64) {
					s.metrics.maintained.WithLabelValues(t.Name, item).Add(n)
				})
			}
		}
		return rep, err
	}
	return t
}

// countItems calls add with each positive number of a report's JSON and
// its path ("reconcile_settled").
func countItems(v any, path string, add func(item string, n float64)) {
	join := func(k string) string {
		if path == "" {
			return k
		}
		return path + "_" + k
	}
	switch t := v.(type) {
	case map[string]any:
		for k, e := range t {
			countItems(e, join(k), add)
		}
	case float64:
		if t > 0 && path != "" {
			add(path, t)
		}
	}
}

// maintainOnce runs every task once, now (the runner logs each).
func (s *Server) maintainOnce(ctx context.Context) { s.runner.RunOnce(ctx) }
