package maintain

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

type report struct {
	Done int `json:"done"`
}

type fakeService struct {
	mu   sync.Mutex
	nows []time.Time
	err  error
}

func (s *fakeService) Maintain(_ context.Context, now time.Time) (report, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nows = append(s.nows, now)
	return report{Done: len(s.nows)}, s.err
}

var t0 = time.Date(2026, 2, 16, 20, 0, 0, 0, time.UTC)

// RunOnce runs every task in order as of the clock, past a task that
// fails; Last keeps each task's latest result; results and reports read as
// JSON with snake_case names.
func TestRunOnce(t *testing.T) {
	var log bytes.Buffer
	a, b, c := &fakeService{}, &fakeService{err: errors.New("store down")}, &fakeService{}
	r, err := New(Config{
		Tasks: []Task{TaskOf("a", a), TaskOf("b", b), TaskOf("c", c)},
		Now:   func() time.Time { return t0 },
		Logger: slog.New(slog.NewJSONHandler(&log, &slog.HandlerOptions{
			ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
				if a.Key == slog.TimeKey || a.Key == "duration" {
					return slog.Attr{}
				}
				return a
			}})),
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := r.Last(); got != nil {
		t.Fatalf("Last before any run: %+v", got)
	}
	res := r.RunOnce(context.Background())
	if len(res) != 3 || res[0].Task != "a" || res[1].Task != "b" || res[2].Task != "c" {
		t.Fatalf("results %+v, want a, b, c in order", res)
	}
	if res[1].Err == nil || res[1].Error != "store down" || res[0].Err != nil || res[2].Err != nil {
		t.Fatalf("errors %v %v %v, want b's alone", res[0].Err, res[1].Err, res[2].Err)
	}
	if len(c.nows) != 1 || !c.nows[0].Equal(t0) || !res[2].Start.Equal(t0) {
		t.Fatalf("c ran as of %v (result %v), want the clock's %v", c.nows, res[2].Start, t0)
	}
	r.RunOnce(context.Background())
	last := r.Last()
	if len(last) != 3 || last[0].Report != (report{Done: 2}) {
		t.Fatalf("Last: %+v, want the second run's", last)
	}
	last[1].Duration = 0
	j, err := json.Marshal(last[1])
	if err != nil || string(j) != `{"task":"b","start":"2026-02-16T20:00:00Z","duration_ns":0,"report":{"done":2},"error":"store down"}` {
		t.Fatalf("JSON %s, %v", j, err)
	}
	cctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, res := range r.RunOnce(cctx) { // stopping: no task starts
		if !errors.Is(res.Err, context.Canceled) {
			t.Fatalf("a round with its context over: %+v", res)
		}
	}
	if len(a.nows) != 2 {
		t.Fatalf("a ran %d times, want 2 (none once stopping)", len(a.nows))
	}
	lines := strings.Split(strings.TrimSpace(log.String()), "\n")
	if len(lines) != 6 || lines[0] != `{"level":"INFO","msg":"maintain: task done","task":"a","report":{"done":1}}` ||
		lines[1] != `{"level":"WARN","msg":"maintain: task failed","task":"b","report":{"done":1},"error":"store down"}` {
		t.Fatalf("log:\n%s", log.String())
	}
}

func TestNewRefuses(t *testing.T) {
	ok := TaskOf("a", &fakeService{})
	for name, cfg := range map[string]Config{
		"no tasks":     {},
		"no name":      {Tasks: []Task{{Run: ok.Run}}},
		"long name":    {Tasks: []Task{{Name: strings.Repeat("x", 65), Run: ok.Run}}},
		"no Run":       {Tasks: []Task{{Name: "a"}}},
		"same name":    {Tasks: []Task{ok, ok}},
		"negative":     {Tasks: []Task{ok}, Interval: -time.Second},
		"negative max": {Tasks: []Task{ok}, Timeout: -time.Second},
	} {
		if _, err := New(cfg); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("%s: %v, want ErrInvalidConfig", name, err)
		}
	}
}

// Start runs rounds until Close; Close cancels the task running and waits
// for it to return, and the Runner owns no goroutine afterwards. Start
// after Close does nothing.
func TestStartClose(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	ran := make(chan struct{})
	var calls int
	blocking := Task{Name: "blocking", Run: func(ctx context.Context, _ time.Time) (any, error) {
		calls++
		if calls < 3 {
			ran <- struct{}{}
			return nil, nil
		}
		ran <- struct{}{}
		<-ctx.Done() // the third run waits for Close
		return nil, ctx.Err()
	}}
	r, err := New(Config{Tasks: []Task{blocking}, Interval: time.Nanosecond, Jitter: -1})
	if err != nil {
		t.Fatal(err)
	}
	rounds := make(chan struct{}, 10)
	r.round = func() { rounds <- struct{}{} }
	r.Start(context.Background())
	r.Start(context.Background()) // again: no second loop
	for range 3 {
		<-ran
	}
	<-rounds
	<-rounds
	r.Close()
	if last := r.Last(); len(last) != 1 || !errors.Is(last[0].Err, context.Canceled) {
		t.Fatalf("the run Close cut: %+v, want it ended by the cancellation", last)
	}
	r.Close() // again: a no-op
	r.Start(context.Background())
	if calls != 3 {
		t.Fatalf("%d runs, want 3 and none after Close", calls)
	}
}

// The rounds end with Start's context too.
func TestStartContext(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	r, err := New(Config{Tasks: []Task{TaskOf("a", &fakeService{})}})
	if err != nil {
		t.Fatal(err)
	}
	rounds := make(chan struct{}, 1)
	r.round = func() { rounds <- struct{}{} }
	ctx, cancel := context.WithCancel(context.Background())
	r.Start(ctx)
	<-rounds // the first round runs at once
	cancel()
	<-r.done
	r.Close()
}

func TestWaitJitter(t *testing.T) {
	for _, tc := range []struct {
		u    float64
		want time.Duration
	}{{0, time.Minute}, {0.5, time.Minute + 3*time.Second}, {0.999, time.Minute + 5994*time.Millisecond}} {
		if got := wait(time.Minute, 6*time.Second, tc.u); got != tc.want {
			t.Errorf("wait(1m, 6s, %v) = %v, want %v", tc.u, got, tc.want)
		}
	}
	r, _ := New(Config{Tasks: []Task{TaskOf("a", &fakeService{})}, Interval: 10 * time.Second})
	if r.interval != 10*time.Second || r.jitter != time.Second || r.timeout != 10*time.Minute {
		t.Fatalf("defaults: %v %v %v", r.interval, r.jitter, r.timeout)
	}
}

// fakeLease holds the tasks of its set, fails for "broken".
type fakeLease struct {
	mu       sync.Mutex
	held     map[string]bool
	released []string
}

func (l *fakeLease) Acquire(_ context.Context, task string) (func(), bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case task == "broken":
		return nil, false, errors.New("lease store down")
	case l.held[task]:
		return nil, false, nil
	}
	return func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		l.released = append(l.released, task)
	}, true, nil
}

// A task whose lease another instance holds is skipped; one whose lease
// cannot be taken runs anyway; a lease taken is given back.
func TestLease(t *testing.T) {
	free, held, broken := &fakeService{}, &fakeService{}, &fakeService{}
	lease := &fakeLease{held: map[string]bool{"held": true}}
	r, err := New(Config{Tasks: []Task{TaskOf("free", free), TaskOf("held", held), TaskOf("broken", broken)}, Lease: lease})
	if err != nil {
		t.Fatal(err)
	}
	res := r.RunOnce(context.Background())
	if res[0].Skipped || !res[1].Skipped || res[1].Report != nil || res[2].Skipped {
		t.Fatalf("results %+v: want held alone skipped", res)
	}
	if len(free.nows) != 1 || len(held.nows) != 0 || len(broken.nows) != 1 {
		t.Fatalf("runs %d %d %d, want 1 0 1", len(free.nows), len(held.nows), len(broken.nows))
	}
	if len(lease.released) != 1 || lease.released[0] != "free" {
		t.Fatalf("released %v, want free's lease", lease.released)
	}
	if j, _ := json.Marshal(res[1]); !strings.Contains(string(j), `"skipped":true`) || strings.Contains(string(j), `"report"`) {
		t.Fatalf("a skipped run as JSON: %s", j)
	}
}
