// Package campaigntest is the conformance suite every campaign.Store runs:
//
//	func TestMemoryStore(t *testing.T) {
//		campaigntest.Run(t, func(testing.TB) campaigntest.Env {
//			l := ledger.New(nil, ledger.Options{})
//			return campaigntest.Env{Store: campaign.NewMemoryStore(l), Ledger: l.Store()}
//		}, campaigntest.Options{})
//	}
//
// The suite checks every store rule through the Store interface alone:
// recording campaigns (validation, duplicates), the funding transitions,
// tries taking the draw's slots in order with (campaign, user, seq)
// unique and retries answered with the recorded try, the refusals of
// Campaign.Take recording nothing, selling out, paid marks, the
// exactly-once sweep and its atomicity with respect to tries, settling,
// and the listing of unsettled campaigns paged by cursor; then many
// goroutines at once (distinct users, one try retried, tries racing a
// sweep). RunRace then holds Services on the store to exactly once under
// concurrent identical calls at each boundary, and Storm sends a crowd at
// the opening instant.
//
// newEnv is called for every subtest. It may hand out the same store each
// time: the suite uses fresh random IDs and looks only at its own
// campaigns.
package campaigntest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/campaign"
	"github.com/socialpay/socialpay/ledger"
)

// Env is a store under test and the ledger store it pays on: a store
// whose PaysOn accepts Ledger pays winning tries in its own step; with
// any other (or a nil Ledger, meaning a new ledger.MemoryStore) the
// Service pays after the store records.
type Env struct {
	Store  campaign.Store
	Ledger ledger.Store
}

// Options size the suite. The zero value gives the full sizes.
type Options struct {
	// Goroutines is how many goroutines try one campaign at once in the
	// concurrency tests. Default 1,000.
	Goroutines int
	// RaceIterations is how often each case of RunRace repeats (before
	// ledgertest.RaceIterations scales it). Default 100.
	RaceIterations int
}

// Run runs the store tests, then RunRace on a store from newEnv.
func Run(t *testing.T, newEnv func(testing.TB) Env, opts Options) {
	if opts.Goroutines <= 0 {
		opts.Goroutines = 1000
	}
	tests := []struct {
		name string
		f    func(*testing.T, *env)
	}{
		{"CreateAndRead", testCreateAndRead},
		{"NotFound", testNotFound},
		{"OpenAndCancel", testOpenAndCancel},
		{"TryInOrder", testTryInOrder},
		{"TryRefusals", testTryRefusals},
		{"SoldOutAndPaid", testSoldOutAndPaid},
		{"Sweep", testSweep},
		{"UnsettledPaging", testUnsettledPaging},
		{"ConcurrentUsers", testConcurrentUsers},
		{"ConcurrentSameTry", testConcurrentSameTry},
		{"ConcurrentSweepAndTries", testConcurrentSweepAndTries},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.f(t, &env{t: t, ctx: context.Background(), s: newEnv(t).Store, opts: opts})
		})
	}
	e := newEnv(t)
	RunRace(t, RaceConfig{Store: e.Store, Ledger: e.Ledger, Iterations: opts.RaceIterations})
}

// start is when the store tests' campaigns open.
var start = time.Date(2026, 2, 16, 20, 0, 0, 0, time.UTC)

var cny = ledger.MustCurrency("CNY")

// NewCampaign returns a valid new campaign (status funding) of schedule s
// in CNY with caps, a random seed, fresh random IDs, open from
// 2026-02-16 20:00 UTC for an hour: what a store's own tests can record.
func NewCampaign(s campaign.Schedule, caps campaign.Caps) campaign.Campaign {
	var full campaign.Seed
	a, b0 := uuid.New(), uuid.New()
	copy(full[:], a[:])
	copy(full[16:], b0[:])
	b, err := s.Budget()
	if err != nil {
		panic(err)
	}
	d, err := campaign.NewDraw(full, s)
	if err != nil {
		panic(err)
	}
	return campaign.Campaign{
		ID: uuid.New(), Name: "抢快乐 test", Currency: cny, Schedule: s, Budget: b, Slots: d.Slots(), PrizeEnd: d.PrizeEnd(),
		Marketing: uuid.New(), Escrow: uuid.New(), Commitment: campaign.Commit(full), Seed: full,
		OpensAt: start, EndsAt: start.Add(time.Hour), Caps: caps, CreatedAt: start.Add(-time.Hour),
		State: campaign.State{Status: campaign.StatusFunding}, Draw: d,
	}
}

// OneTry are caps of one try per user.
var OneTry = campaign.Caps{TriesPerUser: 1, TriesPerDay: 1, WinsPerUser: 1}

type env struct {
	t    *testing.T
	ctx  context.Context
	s    campaign.Store
	opts Options
}

func (e *env) create(c campaign.Campaign) campaign.Campaign {
	e.t.Helper()
	got, err := e.s.Create(e.ctx, c)
	if err != nil {
		e.t.Fatalf("Create: %v", err)
	}
	return got
}

func (e *env) open(c campaign.Campaign) campaign.Campaign {
	e.t.Helper()
	e.create(c)
	st, err := e.s.Open(e.ctx, c.ID)
	if err != nil || st.Status != campaign.StatusOpen {
		e.t.Fatalf("Open: %v %v", st.Status, err)
	}
	c.State = st
	return c
}

func (e *env) try(c *campaign.Campaign, user uuid.UUID, seq int, at time.Time) (campaign.TryResult, error) {
	return e.s.Try(e.ctx, c.ID, campaign.TryInput{User: user, Account: uuid.New(), Seq: seq, At: at}, nil)
}

func (e *env) mustTry(c *campaign.Campaign, user uuid.UUID, seq int, at time.Time) campaign.TryResult {
	e.t.Helper()
	r, err := e.try(c, user, seq, at)
	if err != nil {
		e.t.Fatalf("Try %d of %s: %v", seq, user, err)
	}
	return r
}

func (e *env) get(id uuid.UUID) campaign.Campaign {
	e.t.Helper()
	c, err := e.s.Campaign(e.ctx, id)
	if err != nil {
		e.t.Fatalf("Campaign: %v", err)
	}
	return c
}

func (e *env) tries(id uuid.UUID) []campaign.Try {
	e.t.Helper()
	ts, err := e.s.Tries(e.ctx, id, -1, 1<<20)
	if err != nil {
		e.t.Fatalf("Tries: %v", err)
	}
	return ts
}

func wantErr(t testing.TB, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s: error %v, want %v", what, err, want)
	}
}

// prize is the prize the draw puts at slot i of c.
func prize(c *campaign.Campaign, i int) int64 { return c.Schedule[c.Draw.Tier(i)].Prize }

func sameTry(t testing.TB, what string, got, want campaign.Try) {
	t.Helper()
	g := got
	g.At = want.At
	if g != want || !got.At.Equal(want.At) {
		t.Fatalf("%s:\n got %+v\nwant %+v", what, got, want)
	}
}

// sched returns the schedule of (prize, count) pairs.
func sched(pairs ...int) campaign.Schedule {
	var s campaign.Schedule
	for i := 0; i+1 < len(pairs); i += 2 {
		s = append(s, campaign.Tier{Prize: int64(pairs[i]), Count: pairs[i+1]})
	}
	return s
}
