package maintain

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/socialpay/socialpay/errcode"
)

// Maintainer is a feature's periodic work: Maintain does it as of now and
// reports what it did. ledger.Ledger and every feature service of socialpay
// have this method.
type Maintainer[R any] interface {
	Maintain(ctx context.Context, now time.Time) (R, error)
}

// Task is one named piece of periodic work.
type Task struct {
	// Name names the task in results, logs and leases: 1 to 64 bytes,
	// unique within a Runner.
	Name string
	// Run does the work as of now and returns a report (JSON-encodable)
	// and the run's errors.
	Run func(ctx context.Context, now time.Time) (any, error)
}

// TaskOf returns m's Maintain as a task named name.
func TaskOf[R any](name string, m Maintainer[R]) Task {
	return Task{Name: name, Run: func(ctx context.Context, now time.Time) (any, error) {
		return m.Maintain(ctx, now)
	}}
}

// Lease keeps instances from running one task at the same time, to save
// duplicate work; correctness never depends on it.
type Lease interface {
	// Acquire takes the named task's lease for one run, or reports false
	// when another instance holds it. release gives it back.
	Acquire(ctx context.Context, task string) (release func(), ok bool, err error)
}

// ErrInvalidConfig: a Config that cannot work.
var ErrInvalidConfig = errcode.New("invalid_config", errcode.Internal, "maintain: invalid configuration")

// Config configures a Runner.
type Config struct {
	// Tasks run in this order in each round. At least one.
	Tasks []Task
	// Interval is the time from the end of one round to the start of the
	// next, before jitter. Default 1 minute.
	Interval time.Duration
	// Jitter adds a random wait in [0, Jitter) to each Interval, so that
	// instances started together drift apart. Default Interval/10;
	// negative means none.
	Jitter time.Duration
	// Timeout bounds one task's run. Default 10 minutes.
	Timeout time.Duration
	// Now is the clock whose reading each task runs as of. Default
	// time.Now.
	Now func() time.Time
	// Lease, when set, lets one instance at a time run each task (see
	// postgres.TaskLease); the others skip it that round. nil: every
	// instance runs every task, which is correct, only more work.
	Lease Lease
	// Logger logs each task's run: Info with its report, Warn with its
	// errors, Debug when skipped. nil: no logs.
	Logger *slog.Logger
}

// Result is one run of a task.
type Result struct {
	Task  string    `json:"task"`
	Start time.Time `json:"start"` // the clock's reading the task ran as of
	// Duration is how long the run took (0 when skipped).
	Duration time.Duration `json:"duration_ns"`
	// Skipped says that another instance held the task's lease.
	Skipped bool `json:"skipped,omitempty"`
	// Report is what the task's Maintain returned (a MaintainReport of
	// its package); nil when skipped.
	Report any `json:"report,omitempty"`
	// Err is the run's error; Error its text, for JSON.
	Err   error  `json:"-"`
	Error string `json:"error,omitempty"`
}

// Runner runs tasks in rounds, in the background (Start) or on demand
// (RunOnce). Its methods are safe for concurrent use.
type Runner struct {
	tasks    []Task
	interval time.Duration
	jitter   time.Duration
	timeout  time.Duration
	now      func() time.Time
	lease    Lease
	log      *slog.Logger

	mu      sync.Mutex
	last    map[string]Result
	started bool
	closed  bool
	stop    context.CancelFunc // ends the background rounds
	done    chan struct{}      // closed when they have ended

	round func() // tests: called after each background round
}

// New returns a Runner, not started.
//
// Errors: ErrInvalidConfig (no tasks, a task without a name or Run, two
// of one name, a negative Interval or Timeout).
func New(cfg Config) (*Runner, error) {
	if len(cfg.Tasks) == 0 {
		return nil, fmt.Errorf("%w: no tasks", ErrInvalidConfig)
	}
	if cfg.Interval < 0 || cfg.Timeout < 0 {
		return nil, fmt.Errorf("%w: negative Interval or Timeout", ErrInvalidConfig)
	}
	seen := map[string]bool{}
	for i, t := range cfg.Tasks {
		switch {
		case t.Name == "" || len(t.Name) > 64:
			return nil, fmt.Errorf("%w: task %d: name must be 1 to 64 bytes", ErrInvalidConfig, i)
		case t.Run == nil:
			return nil, fmt.Errorf("%w: task %q has no Run", ErrInvalidConfig, t.Name)
		case seen[t.Name]:
			return nil, fmt.Errorf("%w: two tasks named %q", ErrInvalidConfig, t.Name)
		}
		seen[t.Name] = true
	}
	r := &Runner{
		tasks: append([]Task(nil), cfg.Tasks...), interval: cfg.Interval, jitter: cfg.Jitter, timeout: cfg.Timeout,
		now: cfg.Now, lease: cfg.Lease, log: cfg.Logger, last: map[string]Result{},
	}
	if r.interval == 0 {
		r.interval = time.Minute
	}
	switch {
	case r.jitter == 0:
		r.jitter = r.interval / 10
	case r.jitter < 0:
		r.jitter = 0
	}
	if r.timeout == 0 {
		r.timeout = 10 * time.Minute
	}
	if r.now == nil {
		r.now = time.Now
	}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	return r, nil
}

// RunOnce runs every task once, in order, now, and returns their results
// (also kept for Last). A task that fails does not stop the others.
func (r *Runner) RunOnce(ctx context.Context) []Result {
	out := make([]Result, 0, len(r.tasks))
	for _, t := range r.tasks {
		res := r.run(ctx, t)
		r.mu.Lock()
		r.last[t.Name] = res
		r.mu.Unlock()
		out = append(out, res)
	}
	return out
}

// run runs one task under its lease and timeout.
func (r *Runner) run(ctx context.Context, t Task) Result {
	res := Result{Task: t.Name, Start: r.now()}
	if err := ctx.Err(); err != nil { // stopping: nothing to start
		res.Err, res.Error = err, err.Error()
		return res
	}
	if r.lease != nil {
		release, ok, err := r.lease.Acquire(ctx, t.Name)
		switch {
		case err != nil && ctx.Err() != nil:
			res.Err, res.Error = ctx.Err(), ctx.Err().Error()
			return res
		case err != nil:
			// The lease only saves duplicate work: run without it.
			r.log.LogAttrs(ctx, slog.LevelWarn, "maintain: lease failed, running the task anyway",
				slog.String("task", t.Name), slog.Any("error", err))
		case !ok:
			res.Skipped = true
			r.log.LogAttrs(ctx, slog.LevelDebug, "maintain: task skipped, another instance runs it", slog.String("task", t.Name))
			return res
		default:
			defer release()
		}
	}
	tctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	began := time.Now()
	res.Report, res.Err = t.Run(tctx, res.Start)
	res.Duration = time.Since(began)
	attrs := []slog.Attr{slog.String("task", t.Name), slog.Duration("duration", res.Duration), slog.Any("report", jsonValue{res.Report})}
	switch {
	case res.Err != nil && ctx.Err() != nil:
		res.Error = res.Err.Error()
		r.log.LogAttrs(ctx, slog.LevelInfo, "maintain: task stopped", attrs...)
	case res.Err != nil:
		res.Error = res.Err.Error()
		r.log.LogAttrs(ctx, slog.LevelWarn, "maintain: task failed", append(attrs, slog.Any("error", res.Err))...)
	default:
		r.log.LogAttrs(ctx, slog.LevelInfo, "maintain: task done", attrs...)
	}
	return res
}

// jsonValue logs a report as its JSON, with a JSON or a text handler.
type jsonValue struct{ v any }

func (j jsonValue) MarshalJSON() ([]byte, error) { return json.Marshal(j.v) }
func (j jsonValue) MarshalText() ([]byte, error) { return json.Marshal(j.v) }

// Start runs rounds in the background until Close or the end of ctx: one
// at once, then one Interval (plus jitter) after the end of each. Calling
// it again, or after Close, does nothing.
func (r *Runner) Start(ctx context.Context) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.started || r.closed {
		return
	}
	r.started = true
	ctx, r.stop = context.WithCancel(ctx)
	r.done = make(chan struct{})
	go r.loop(ctx)
}

func (r *Runner) loop(ctx context.Context) {
	defer close(r.done)
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if ctx.Err() != nil {
			return // both were ready: stopping wins
		}
		r.RunOnce(ctx)
		if r.round != nil {
			r.round()
		}
		t.Reset(wait(r.interval, r.jitter, rand.Float64()))
	}
}

// wait is the time between two rounds: interval plus jitter scaled by u,
// a random number in [0, 1).
func wait(interval, jitter time.Duration, u float64) time.Duration {
	return interval + time.Duration(u*float64(jitter))
}

// Close stops the background rounds: it cancels the task running (every
// task's work is safe to stop anywhere and finish in a later round) and
// waits until it has returned. Close it before the stores and the DB the
// tasks use. Calling it again is a no-op.
func (r *Runner) Close() {
	r.mu.Lock()
	r.closed = true
	stop, done := r.stop, r.done
	r.mu.Unlock()
	if stop != nil {
		stop()
		<-done
	}
}

// Last returns the latest result of each task that has run, in task
// order.
func (r *Runner) Last() []Result {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []Result
	for _, t := range r.tasks {
		if res, ok := r.last[t.Name]; ok {
			out = append(out, res)
		}
	}
	return out
}
