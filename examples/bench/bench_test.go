package main

import (
	"bytes"
	"context"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/ledger"
	"github.com/socialpay/socialpay/postgres"
)

// testOps keeps the scenarios that prepare their work up front small.
var testOps = map[string]int{"redpacket": 2000, "redpacket-soldout": 200}

// testConfig is a short verified run of scenario on the memory store.
func testConfig(scenario string, out *bytes.Buffer) config {
	return config{store: "memory", scenario: scenario, clients: 4, duration: 50 * time.Millisecond, progress: time.Hour,
		accounts: 40, shards: 2, inflight: 2, seed: 1, verify: true, ops: testOps[scenario], minOps: 8, out: out}
}

var (
	summaryRe = regexp.MustCompile(`(?m)^summary .* transfers=(\d+) transfers/s=([0-9.]+) .*p50=\S+ p99=\S+ `)
	verifyRe  = regexp.MustCompile(`(?m)^verify (?:acknowledged|taps)=(\d+) `)
	warmupRe  = regexp.MustCompile(`(?m)^warmup took=\S+ \S+=(\d+) `)
)

// checkOutput checks that a run printed a summary line with transfers/s
// (and the scenario's own operation, named, when it is not a transfer)
// and a verify line that vouches for every operation the summary (and the
// warm-up, if any) counted.
func checkOutput(t *testing.T, scenario, out string) {
	t.Helper()
	s := summaryRe.FindStringSubmatch(out)
	v := verifyRe.FindStringSubmatch(out)
	if s == nil || v == nil {
		t.Fatalf("no summary or verify line:\n%s", out)
	}
	run, _ := strconv.Atoi(s[1])
	warm := 0
	if w := warmupRe.FindStringSubmatch(out); w != nil {
		warm, _ = strconv.Atoi(w[1])
	}
	if all, _ := strconv.Atoi(v[1]); run == 0 || all != warm+run {
		t.Fatalf("warm-up counted %d operations and the run %d, verify %d:\n%s", warm, run, all, out)
	}
	if u := unitOf(scenarios[scenario].make()); !strings.Contains(out, " op="+u+" ") ||
		(u != "transfers" && !regexp.MustCompile(` `+u+`=\d+ `+u+`/s=[0-9.]+ `).MatchString(out)) {
		t.Fatalf("summary does not name the operation %q:\n%s", u, out)
	}
}

// A short run of every scenario on the memory store verifies, with and
// without group commit.
func TestScenariosVerify(t *testing.T) {
	for _, name := range scenarioNames() {
		if drivesBankd(name) {
			continue // TestHTTPRedPacket
		}
		for _, group := range []bool{false, true} {
			label := name
			if group {
				label += "/group"
			}
			t.Run(label, func(t *testing.T) {
				var out bytes.Buffer
				c := testConfig(name, &out)
				c.group = group
				if err := bench(context.Background(), c, ledger.NewMemoryStore(), nil); err != nil {
					t.Fatalf("%v\n%s", err, out.String())
				}
				checkOutput(t, name, out.String())
			})
		}
	}
}

// A warm-up runs the load before the measured run, which still verifies
// everything both did.
func TestWarmup(t *testing.T) {
	var out bytes.Buffer
	c := testConfig("qr", &out)
	c.warmup = 30 * time.Millisecond
	if err := bench(context.Background(), c, ledger.NewMemoryStore(), nil); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if w := warmupRe.FindStringSubmatch(out.String()); w == nil || w[1] == "0" {
		t.Fatalf("no warm-up:\n%s", out.String())
	}
	checkOutput(t, "qr", out.String())
}

// The check finds what a broken store would do: lose an acknowledged
// transfer, apply a refused one, apply part of a request, or commit a
// request's transfers in two transactions.
func TestCheckFindsLosses(t *testing.T) {
	ctx := context.Background()
	cny := ledger.MustCurrency("CNY")
	l := ledger.New(ledger.NewMemoryStore(), ledger.Options{})
	a, _ := l.CreateAccount(ctx, ledger.Account{ID: uuid.New(), Currency: cny})
	b, _ := l.CreateAccount(ctx, ledger.Account{ID: uuid.New(), Currency: cny})
	tr := func() ledger.Transfer {
		return ledger.Transfer{ID: uuid.New(), DebitAccountID: a.ID, CreditAccountID: b.ID, Amount: ledger.NewMoney(1, cny)}
	}
	stored := map[uuid.UUID]ledger.Transfer{}
	store := func(ts ...ledger.Transfer) {
		for _, t := range ts {
			stored[t.ID] = t
		}
	}
	lookup := func(_ context.Context, ids []uuid.UUID) ([]ledger.Transfer, error) {
		var out []ledger.Transfer
		for _, id := range ids {
			if t, ok := stored[id]; ok {
				out = append(out, t)
			}
		}
		return out, nil
	}
	r := &recorder{}
	// Acknowledged and stored: fine.
	ok1 := tr()
	r.attempt([]ledger.Transfer{ok1}).ack(0)
	store(ok1)
	// Acknowledged, lost.
	lost := tr()
	r.attempt([]ledger.Transfer{lost}).ack(0)
	// Refused, yet stored.
	refused := tr()
	r.attempt([]ledger.Transfer{refused}).answer()
	store(refused)
	// Unanswered, half stored.
	h1, h2 := tr(), tr()
	r.attempt([]ledger.Transfer{h1, h2})
	store(h1)
	// Acknowledged, stored by two commits.
	s1, s2 := tr(), tr()
	q := r.attempt([]ledger.Transfer{s1, s2})
	q.ack(0)
	q.ack(1)
	store(s1, s2)
	commits := func(_ context.Context, ids []uuid.UUID) (map[uuid.UUID]string, error) {
		out := map[uuid.UUID]string{}
		for _, id := range ids {
			if _, ok := stored[id]; ok {
				out[id] = "tx1"
			}
		}
		out[s2.ID] = "tx2"
		return out, nil
	}
	res, err := r.check(ctx, l, lookup, commits, 2)
	if err != nil {
		t.Fatal(err)
	}
	if res.ok() || res.missing != 1 || res.refusedPresent != 1 || res.partial != 1 || res.split != 1 || res.acked != 4 {
		t.Fatalf("check missed something: %v", res)
	}
}

// drain with -duplicates: every request spends its payer's whole balance
// and is sent by four callers at once. Every copy gets the first copy's
// answer (diverged=0), on the memory store and on PostgreSQL, and the
// verification holds.
func TestDuplicates(t *testing.T) {
	for _, store := range []string{"memory", "postgres"} {
		t.Run(store, func(t *testing.T) {
			var out bytes.Buffer
			c := testConfig("drain", &out)
			c.duplicates = 4
			var s ledger.Store = ledger.NewMemoryStore()
			var db *postgres.DB
			if store == "postgres" {
				var schema string
				schema, db = pgSchema(t)
				c.store, c.dsn, c.schema = "postgres", testDSN(), schema
				c.duration = 300 * time.Millisecond
				s = postgres.NewLedgerStore(db)
			}
			if err := bench(context.Background(), c, s, db); err != nil {
				t.Fatalf("%v\n%s", err, out.String())
			}
			checkOutput(t, "drain", out.String())
			if !strings.Contains(out.String(), " rejected=0 unknown=0 diverged=0") {
				t.Fatalf("duplicates answered differently or were refused:\n%s", out.String())
			}
		})
	}
}

// A copy answered differently from the first fails the run's
// verification.
func TestDivergedFails(t *testing.T) {
	var out bytes.Buffer
	c := testConfig("drain", &out)
	c.duplicates = 2
	err := bench(context.Background(), c, &flipStore{Store: ledger.NewMemoryStore()}, nil)
	if err == nil || !strings.Contains(err.Error(), "answered differently") {
		t.Fatalf("diverging copies passed: %v\n%s", err, out.String())
	}
}

// flipStore refuses every other transfer of the load (code 7; setup's
// funding passes): copies of one request get different answers.
type flipStore struct {
	ledger.Store
	n atomic.Int64
}

func (s *flipStore) CreateTransfer(ctx context.Context, tr ledger.Transfer, now time.Time) (ledger.Result, error) {
	if tr.Code == 7 && s.n.Add(1)%2 == 0 {
		return ledger.Result{Transfer: tr, Err: ledger.ErrInsufficientFunds}, nil
	}
	return s.Store.CreateTransfer(ctx, tr, now)
}

// The cells scenario pays within and across cells as -cross says, and
// verifies: money conserved, clearing settled, every cell's ledger sound.
func TestCellsScenario(t *testing.T) {
	for _, cross := range []float64{0, 0.5, 1} {
		var out bytes.Buffer
		c := testConfig("cells", &out)
		c.cells, c.cross, c.accounts = 3, cross, 60
		c.warmup = 20 * time.Millisecond // the cells line is the measured run's
		if err := bench(context.Background(), c, ledger.NewMemoryStore(), nil); err != nil {
			t.Fatalf("%v\n%s", err, out.String())
		}
		checkOutput(t, "cells", out.String())
		m := regexp.MustCompile(`(?m)^cells cells=3 cross=\S+ within=(\d+) across=(\d+) `).FindStringSubmatch(out.String())
		if m == nil {
			t.Fatalf("no cells line:\n%s", out.String())
		}
		within, _ := strconv.Atoi(m[1])
		across, _ := strconv.Atoi(m[2])
		if run, _ := strconv.Atoi(summaryRe.FindStringSubmatch(out.String())[1]); within+across != run {
			t.Fatalf("the cells line counts %d payments, the run made %d:\n%s", within+across, run, out.String())
		}
		if (cross == 0 && across != 0) || (cross == 1 && within != 0) || (cross == 0.5 && (within == 0 || across == 0)) {
			t.Fatalf("-cross %v: %d within, %d across", cross, within, across)
		}
	}
}

// -think pauses each client between calls: a run whose pauses outlast it
// makes no call and still ends on time; short pauses still verify.
func TestThink(t *testing.T) {
	var out bytes.Buffer
	c := testConfig("transfer", &out)
	c.think, c.minOps, c.verify = time.Hour, 0, false
	if err := bench(context.Background(), c, ledger.NewMemoryStore(), nil); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if s := summaryRe.FindStringSubmatch(out.String()); s == nil || s[1] != "0" {
		t.Fatalf("clients pausing an hour made calls:\n%s", out.String())
	}
	out.Reset()
	c = testConfig("transfer", &out)
	c.think = 100 * time.Microsecond
	if err := bench(context.Background(), c, ledger.NewMemoryStore(), nil); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	checkOutput(t, "transfer", out.String())
}
