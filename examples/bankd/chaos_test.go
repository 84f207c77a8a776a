package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/ledger"
	"github.com/socialpay/socialpay/redpacket"
	"github.com/socialpay/socialpay/transfer"
)

var (
	chaosDuration = flag.Duration("chaos.duration", 10*time.Second, "TestChaos: how long the workload runs")
	chaosKills    = flag.Int("chaos.kills", 1, "TestChaos: how many times an instance is SIGKILLed mid-run (and restarted)")
	chaosSeed     = flag.Uint64("chaos.seed", 0, "TestChaos: the workload's random seed (0: from the clock)")
)

// chaosInstances is how many bankd processes share the schema.
const chaosInstances = 3

// TestChaos runs three bankd processes on one PostgreSQL schema and
// drives a mixed workload through them over HTTP: red packets sent on
// one instance and claimed by a group through all three (a storm on each
// packet), phone payments and QR payments each sent on one instance and
// retried with the same Idempotency-Key on another, and lookups probing
// unregistered numbers round the instances. Mid-run it SIGKILLs an
// instance (-chaos.kills times, each restarted once it has exited).
// Requests in flight at a kill have no answer: the client sends them
// again, with their keys, to another instance until one answers.
//
// Then it proves: every acknowledged operation is in the stores as it was
// answered (no loss); retried once more on another instance, each gives
// the same answer and the ledger gains no entry (none applied twice);
// every wallet holds exactly what the acknowledged operations say, and
// every packet's escrow its total less its claims (the unknowns resolved
// to exactly one outcome); a prober got the misses of one lookup budget,
// not of three; and after each feature's Reconcile, ledger.Verify and
// every feature's Check are clean, read from the schema with the
// instances' seal key.
//
// CI runs a short version; scripts/bankd-chaos.sh runs a long one
// (-chaos.duration, -chaos.kills).
func TestChaos(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs bankd")
	}
	dsn, schema := testPG(t)
	seed := *chaosSeed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	t.Logf("seed %d (-chaos.seed), %s, %d kills", seed, *chaosDuration, *chaosKills)
	secret := bytes.Repeat([]byte{0xc4}, 32)
	w := newChaos(t, seed)
	var pairs []string
	for _, u := range w.users {
		pairs = append(pairs, u.handle+"="+u.token)
	}
	w.cluster = &cluster{t: t, env: []string{"BANKD_TOKENS=" + strings.Join(pairs, ","), "BANKD_SECRET=" + hex.EncodeToString(secret)},
		args: []string{"-dsn", dsn, "-schema", schema, "-maintain", "2s", "-log-level", "warn"}}
	began := time.Now()
	bankdBinary(t)
	built := time.Now()
	for range chaosInstances {
		w.cluster.start(-1)
	}
	started := time.Now()
	w.setup()
	t.Logf("built in %s, %d instances started in %s, set up in %s", built.Sub(began).Round(time.Millisecond), chaosInstances,
		started.Sub(built).Round(time.Millisecond), time.Since(started).Round(time.Millisecond))

	ctx, stop := context.WithCancel(context.Background())
	var workers sync.WaitGroup
	w.run(ctx, &workers)
	start := time.Now()
	rng := rand.New(rand.NewPCG(seed, 99))
	for k := 1; k <= *chaosKills; k++ {
		// Kill when the run is k/(kills+1) through and has made progress
		// since the last restart.
		time.Sleep(time.Until(start.Add(*chaosDuration * time.Duration(k) / time.Duration(*chaosKills+1))))
		w.awaitProgress(20)
		victim := rng.IntN(chaosInstances)
		w.cluster.kill(victim)
		w.cluster.start(victim)
	}
	time.Sleep(time.Until(start.Add(*chaosDuration)))
	stop()
	workers.Wait()
	if t.Failed() {
		return
	}
	w.report(time.Since(start))
	checks := time.Now()
	w.check(dsn, schema, secret)
	t.Logf("checked in %s", time.Since(checks).Round(time.Millisecond))
}

// chaosUser is a user of the workload, with the token bankd knows them by.
type chaosUser struct {
	handle, token string
	id, wallet    uuid.UUID
	phone         string // bound number, for payees
}

func newChaosUser(handle string) *chaosUser {
	id := userID(handle)
	return &chaosUser{handle: handle, token: handle + "-chaos-token", id: id, wallet: walletID(id, ledger.MustCurrency("CNY"))}
}

// ack is an acknowledged operation: what was asked and what was answered.
type ack struct {
	kind  string // deposit, send, claim, phone, qr
	c     call
	inst  int // the instance that answered
	res   response
	after bool // answered after its first attempt's outcome was unknown

	// What it moved: amount from → to (from or to uuid.Nil for the bank
	// and for an escrow named by packet).
	from, to *chaosUser
	amount   int64
	packet   uuid.UUID
}

type chaos struct {
	t       *testing.T
	seed    uint64
	cluster *cluster
	client  *http.Client
	users   []*chaosUser

	senders, claimers, payers, payees, qrPayers, probers []*chaosUser
	group                                                uuid.UUID

	mu       sync.Mutex
	acks     []*ack
	packets  []uuid.UUID     // sent, in order
	answered []*atomic.Int32 // of each packet, the claimers answered on it
	newPkt   chan struct{}   // closed and replaced when a packet is added
	progress chan struct{}   // closed and replaced on each claimer's answer and each ack

	unknown, resolved, refused atomic.Int64
	probes                     []*prober

	failOnce sync.Once
	failed   chan struct{} // closed when a client fails: the others stop waiting for it
}

// prober counts one user's lookups of unregistered numbers.
type prober struct {
	u                        *chaosUser
	first, last              time.Time
	granted, limited, unsure int
}

func newChaos(t *testing.T, seed uint64) *chaos {
	w := &chaos{t: t, seed: seed, newPkt: make(chan struct{}), progress: make(chan struct{}), failed: make(chan struct{}),
		client: &http.Client{Timeout: time.Minute, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}}
	role := func(prefix string, n int) []*chaosUser {
		var us []*chaosUser
		for i := range n {
			u := newChaosUser(fmt.Sprintf("%s%d", prefix, i))
			us = append(us, u)
			w.users = append(w.users, u)
		}
		return us
	}
	w.senders, w.claimers = role("sender", 2), role("claimer", 10)
	w.payers, w.payees, w.qrPayers, w.probers = role("payer", 2), role("payee", 2), role("qrpayer", 2), role("prober", 2)
	for i, u := range w.payees {
		u.phone = fmt.Sprintf("1380013800%d", i)
	}
	return w
}

// exchange sends c to base and reads the answer.
func (w *chaos) exchange(base string, c call) (response, error) {
	var body io.Reader
	if c.body != nil {
		b, err := json.Marshal(c.body)
		if err != nil {
			return response{}, err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequest(c.method, base+c.path, body)
	if err != nil {
		return response{}, err
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if c.key != "" {
		req.Header.Set("Idempotency-Key", c.key)
	}
	res, err := w.client.Do(req)
	if err != nil {
		return response{}, err
	}
	defer res.Body.Close()
	out := response{status: res.StatusCode, header: res.Header}
	out.body, err = io.ReadAll(res.Body)
	return out, err
}

// send sends c to instance i and returns the definite answer and the
// instance that gave it. Without an answer (the instance died with the
// request in flight, or before it), or with a retryable problem (503),
// the outcome is unknown: the same request, with the same key, goes to
// another live instance until one answers.
func (w *chaos) send(i int, c call) (response, int, bool, error) {
	unknown := false
	deadline := time.Now().Add(time.Minute)
	backoff := 5 * time.Millisecond
	for {
		if time.Now().After(deadline) {
			return response{}, i, unknown, fmt.Errorf("%s %s: no definite answer within a minute", c.method, c.path)
		}
		base, ok := w.cluster.base(i)
		if !ok { // known down: the balancer sends the request elsewhere
			i = w.cluster.other(i)
			continue
		}
		res, err := w.exchange(base, c)
		if err == nil && res.status != http.StatusServiceUnavailable {
			if unknown {
				w.resolved.Add(1)
			}
			return res, i, unknown, nil
		}
		if err != nil && !unknown {
			w.unknown.Add(1)
		}
		unknown = unknown || err != nil
		if res.status == http.StatusServiceUnavailable {
			time.Sleep(backoff) // a client's backoff before retrying a retryable problem
			backoff = min(2*backoff, 200*time.Millisecond)
		}
		i = w.cluster.other(i)
	}
}

// record keeps an acknowledged operation.
func (w *chaos) record(a *ack) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.acks = append(w.acks, a)
	close(w.progress)
	w.progress = make(chan struct{})
}

// awaitProgress waits until n more operations are acknowledged.
func (w *chaos) awaitProgress(n int) {
	w.mu.Lock()
	target := len(w.acks) + n
	w.mu.Unlock()
	for {
		w.mu.Lock()
		done, ch := len(w.acks) >= target, w.progress
		w.mu.Unlock()
		if done {
			return
		}
		<-ch
	}
}

// must sends c to instance i and wants status, during setup.
func (w *chaos) must(i int, c call, status int) response {
	w.t.Helper()
	res, _, _, err := w.send(i, c)
	if err != nil {
		w.t.Fatal(err)
	}
	if res.status != status {
		w.t.Fatalf("%s %s: %d %s, want %d", c.method, c.path, res.status, res.body, status)
	}
	return res
}

// setup opens every wallet, funds the payers, makes the group and binds
// the payees' numbers, on the instances in turn.
func (w *chaos) setup() {
	for i, u := range w.users {
		w.must(i%chaosInstances, call{method: "PUT", path: "/v1/wallet", token: u.token}, 200)
	}
	for i, u := range slices.Concat(w.senders, w.payers, w.qrPayers) {
		c := call{method: "POST", path: "/v1/wallet/deposits", token: u.token, key: "seed", body: obj{"amount": cny("100000.00")}}
		res := w.must(i%chaosInstances, c, 201)
		w.record(&ack{kind: "deposit", c: c, inst: i % chaosInstances, res: res, to: u, amount: 100000_00})
	}
	var members []uuid.UUID
	for _, u := range slices.Concat(w.senders, w.claimers) {
		members = append(members, u.id)
	}
	var g groupView
	w.must(1, call{method: "POST", path: "/v1/groups", token: w.senders[0].token, key: "storm", body: obj{"name": "storm", "members": members}}, 201).decode(w.t, &g)
	w.group = g.ID
	for i, u := range w.payees {
		w.must(i%chaosInstances, call{method: "PUT", path: "/v1/phone", token: u.token, body: obj{"phone": u.phone, "name": "王小明"}}, 200)
	}
}

// run starts the workload's clients; they stop starting operations when
// ctx ends, and finish (resolve) the one they are in.
func (w *chaos) run(ctx context.Context, wg *sync.WaitGroup) {
	stream := uint64(0)
	rng := func() *rand.Rand {
		stream++
		return rand.New(rand.NewPCG(w.seed, stream))
	}
	fail := func(err error) {
		if err != nil {
			w.t.Error(err)
			w.failOnce.Do(func() { close(w.failed) })
		}
	}
	for _, u := range w.senders {
		r := rng()
		wg.Go(func() { fail(w.sender(ctx, u, r)) })
	}
	for _, u := range w.claimers {
		r := rng()
		wg.Go(func() { fail(w.claimer(ctx, u, r)) })
	}
	for i, u := range w.payers {
		r := rng()
		wg.Go(func() { fail(w.payer(ctx, u, w.payees[i%len(w.payees)], r)) })
	}
	for i, u := range w.qrPayers {
		r := rng()
		wg.Go(func() { fail(w.qrPayer(ctx, u, w.payees[i%len(w.payees)], r)) })
	}
	for _, u := range w.probers {
		p := &prober{u: u}
		w.probes = append(w.probes, p)
		r := rng()
		wg.Go(func() { fail(w.probe(ctx, p, r)) })
	}
}

// sender sends lucky packets to the group, each on a random instance, and
// waits until every claimer has had an answer on it before the next.
func (w *chaos) sender(ctx context.Context, u *chaosUser, rng *rand.Rand) error {
	for n := 0; ctx.Err() == nil; n++ {
		amount := 500 + rng.Int64N(2000)
		c := call{method: "POST", path: "/v1/redpackets", token: u.token, key: fmt.Sprintf("packet-%d", n),
			body: obj{"kind": "lucky", "group_id": w.group, "amount": ledger.NewMoney(amount, ledger.MustCurrency("CNY")), "count": 5}}
		res, inst, unknown, err := w.send(w.cluster.any(rng), c)
		if err != nil {
			return err
		}
		if res.status != http.StatusCreated {
			return fmt.Errorf("send packet: %d %s", res.status, res.body)
		}
		var p packetView
		if err := json.Unmarshal(res.body, &p); err != nil {
			return err
		}
		w.record(&ack{kind: "send", c: c, inst: inst, res: res, after: unknown, from: u, amount: amount, packet: p.ID})
		answered := &atomic.Int32{}
		w.mu.Lock()
		w.packets = append(w.packets, p.ID)
		w.answered = append(w.answered, answered)
		close(w.newPkt)
		w.newPkt = make(chan struct{})
		w.mu.Unlock()
		// Wait for every claimer's answer on it, or the run's end (when
		// the claimers stop once they have no packet left).
		for {
			w.mu.Lock()
			ch := w.progress
			w.mu.Unlock()
			if answered.Load() >= int32(len(w.claimers)) {
				break
			}
			select {
			case <-ch:
			case <-ctx.Done():
				return nil
			case <-w.failed:
				return nil
			}
		}
	}
	return nil
}

// answer notes a claimer's answer on a packet.
func (w *chaos) answer(answered *atomic.Int32) {
	answered.Add(1)
	w.mu.Lock()
	close(w.progress)
	w.progress = make(chan struct{})
	w.mu.Unlock()
}

// claimer claims every packet once, each claim on a random instance.
func (w *chaos) claimer(ctx context.Context, u *chaosUser, rng *rand.Rand) error {
	for next := 0; ; next++ {
		var id uuid.UUID
		var answered *atomic.Int32
		for {
			w.mu.Lock()
			ch, have := w.newPkt, len(w.packets) > next
			if have {
				id, answered = w.packets[next], w.answered[next]
			}
			w.mu.Unlock()
			if have {
				break
			}
			select {
			case <-ctx.Done():
				return nil
			case <-w.failed:
				return nil
			case <-ch:
			}
		}
		c := call{method: "POST", path: "/v1/redpackets/" + id.String() + "/claims", token: u.token}
		res, inst, unknown, err := w.send(w.cluster.any(rng), c)
		if err != nil {
			return err
		}
		switch res.status {
		case http.StatusOK:
			var cl claimView
			if err := json.Unmarshal(res.body, &cl); err != nil {
				return err
			}
			w.record(&ack{kind: "claim", c: c, inst: inst, res: res, after: unknown, to: u, amount: cl.Amount.Units(), packet: id})
			w.answer(answered)
			continue
		case http.StatusConflict:
			if res.problem() == "sold_out" {
				w.refused.Add(1)
				break
			}
			fallthrough
		default:
			return fmt.Errorf("claim %s: %d %s", id, res.status, res.body)
		}
		w.answer(answered)
	}
}

// payer pays the payee's number, each payment sent on one instance and
// retried with its key on another, which must answer the same.
func (w *chaos) payer(ctx context.Context, u, payee *chaosUser, rng *rand.Rand) error {
	for n := 0; ctx.Err() == nil; n++ {
		amount := 1 + rng.Int64N(999)
		c := call{method: "POST", path: "/v1/transfers", token: u.token, key: fmt.Sprintf("pay-%d", n),
			body: obj{"phone": payee.phone, "amount": ledger.NewMoney(amount, ledger.MustCurrency("CNY"))}}
		res, inst, unknown, err := w.send(w.cluster.any(rng), c)
		if err != nil {
			return err
		}
		if res.status != http.StatusCreated {
			return fmt.Errorf("pay %s: %d %s", payee.phone, res.status, res.body)
		}
		a := &ack{kind: "phone", c: c, inst: inst, res: res, after: unknown, from: u, to: payee, amount: amount}
		w.record(a)
		again, inst2, _, err := w.send(w.cluster.other(inst), c)
		if err != nil {
			return err
		}
		if err := sameAnswer(a, again); err != nil {
			return fmt.Errorf("instance %d, then %d: %w", inst, inst2, err)
		}
	}
	return nil
}

// qrPayer pays dynamic receive codes the payee issues: the code made on
// one instance, paid on another, the payment retried on a third.
func (w *chaos) qrPayer(ctx context.Context, u, payee *chaosUser, rng *rand.Rand) error {
	for n := 0; ctx.Err() == nil; n++ {
		amount := 1 + rng.Int64N(999)
		var code receiveCodeView
		res, _, _, err := w.send(w.cluster.any(rng), call{method: "POST", path: "/v1/receive-codes", token: payee.token,
			body: obj{"phone": "+86" + payee.phone, "amount": ledger.NewMoney(amount, ledger.MustCurrency("CNY")), "reference": fmt.Sprintf("%s-%d", u.handle, n)}})
		if err != nil {
			return err
		}
		if res.status != http.StatusCreated {
			return fmt.Errorf("receive code: %d %s", res.status, res.body)
		}
		if err := json.Unmarshal(res.body, &code); err != nil {
			return err
		}
		c := call{method: "POST", path: "/v1/qr/payments", token: u.token, key: fmt.Sprintf("qr-%d", n), body: obj{"payload": code.Payload}}
		res, inst, unknown, err := w.send(w.cluster.any(rng), c)
		if err != nil {
			return err
		}
		if res.status == http.StatusTooManyRequests {
			w.refused.Add(1) // the payer's lookup budget: a definite answer that moved nothing
			continue
		}
		if res.status != http.StatusCreated {
			return fmt.Errorf("qr payment: %d %s", res.status, res.body)
		}
		a := &ack{kind: "qr", c: c, inst: inst, res: res, after: unknown, from: u, to: payee, amount: amount}
		w.record(a)
		again, inst2, _, err := w.send(w.cluster.other(inst), c)
		if err != nil {
			return err
		}
		if err := sameAnswer(a, again); err != nil {
			return fmt.Errorf("instance %d, then %d: %w", inst, inst2, err)
		}
	}
	return nil
}

// probe looks up unregistered numbers, round the instances, ten a second.
func (w *chaos) probe(ctx context.Context, p *prober, rng *rand.Rand) error {
	tick := time.NewTicker(100 * time.Millisecond) // the prober's pace
	defer tick.Stop()
	for n := 0; ; n++ {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		base, ok := w.cluster.base(n % chaosInstances)
		if !ok {
			continue
		}
		now := time.Now()
		if p.first.IsZero() {
			p.first = now
		}
		res, err := w.exchange(base, call{method: "POST", path: "/v1/phone/resolve", token: p.u.token,
			body: obj{"phone": fmt.Sprintf("1390000%04d", rng.IntN(10000))}})
		p.last = time.Now()
		switch {
		case err != nil:
			p.unsure++ // a lookup without an answer may have spent the budget
		case res.status == http.StatusNotFound && res.problem() == "not_registered":
			p.granted++
		case res.status == http.StatusTooManyRequests:
			p.limited++
		case res.status == http.StatusServiceUnavailable:
			p.unsure++
		default:
			return fmt.Errorf("probe: %d %s", res.status, res.body)
		}
	}
}

// sameAnswer reports whether res answers a's request as a's answer did:
// the same status, and the same body but for what changes after (a
// packet's claims, a claim's paid mark).
func sameAnswer(a *ack, res response) error {
	if res.status != a.res.status {
		return fmt.Errorf("%s %s (key %q): %d %s, first %d %s", a.c.method, a.c.path, a.c.key, res.status, res.body, a.res.status, a.res.body)
	}
	canon := func(b []byte) (string, error) {
		var v any
		var err error
		switch a.kind {
		case "send":
			var p packetView
			err = json.Unmarshal(b, &p)
			p.Status, p.Claimed, p.Claims, p.Remaining, p.BestLuck = "", 0, nil, nil, nil
			v = p
		case "claim":
			var c claimView
			err = json.Unmarshal(b, &c)
			c.Paid = false
			v = c
		default:
			return string(b), nil
		}
		if err != nil {
			return "", err
		}
		b, err = json.Marshal(v)
		return string(b), err
	}
	first, err1 := canon(a.res.body)
	again, err2 := canon(res.body)
	if err := errors.Join(err1, err2); err != nil {
		return err
	}
	if first != again {
		return fmt.Errorf("%s %s (key %q) answered\n%s\nthen\n%s", a.c.method, a.c.path, a.c.key, a.res.body, res.body)
	}
	return nil
}

func (w *chaos) report(took time.Duration) {
	kinds := map[string]int{}
	after := 0
	for _, a := range w.acks {
		kinds[a.kind]++
		if a.after {
			after++
		}
	}
	w.t.Logf("in %s: acknowledged %v over %d packets; %d requests without an answer at first, %d of them acknowledged after; "+
		"%d refusals (sold out, budget); %d restarts", took.Round(time.Millisecond), kinds, len(w.packets), w.unknown.Load(), after,
		w.refused.Load(), w.cluster.restarts)
	for _, p := range w.probes {
		w.t.Logf("prober %s: %d misses granted, %d refused, %d without an answer, over %s", p.u.handle, p.granted, p.limited, p.unsure,
			p.last.Sub(p.first).Round(time.Millisecond))
	}
}

// check proves the run's promises (see TestChaos).
func (w *chaos) check(dsn, schema string, secret []byte) {
	t := w.t
	ctx := t.Context()
	var offset atomic.Int64
	app, err := newApp(ctx, Config{DSN: dsn, Schema: schema, Secret: secret,
		Now: func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer app.Close()
	cny := ledger.MustCurrency("CNY")

	// Lookup budgets: one per user across the instances. 100 tokens, a
	// miss costs 20, one token back every 30 s.
	for _, p := range w.probes {
		most := (100 + int(p.last.Sub(p.first)/(30*time.Second))) / 20
		if p.granted > most || p.granted+p.unsure < 5 {
			t.Errorf("prober %s got %d misses (%d unsure) in %s, want at most %d and at least 5: one budget, not %d",
				p.u.handle, p.granted, p.unsure, p.last.Sub(p.first), most, chaosInstances)
		}
	}

	// Every acknowledged operation is stored as answered.
	for _, a := range w.acks {
		if err := w.stored(ctx, app, a); err != nil {
			t.Errorf("acknowledged %s %s (key %q, instance %d) not as answered: %v", a.c.method, a.c.path, a.c.key, a.inst, err)
		}
	}

	// Sent again, each gets its answer and the ledger gains nothing.
	before := w.balances(ctx, app)
	var wg sync.WaitGroup
	next := atomic.Int64{}
	for range 8 {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= len(w.acks) {
					return
				}
				a := w.acks[i]
				res, _, _, err := w.send(w.cluster.other(a.inst), a.c)
				if err == nil {
					err = sameAnswer(a, res)
				}
				if err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	after := w.balances(ctx, app)
	if before.entries != after.entries || !mapsEqual(before.wallets, after.wallets) {
		t.Errorf("sending every acknowledged request again moved money: %d entries, then %d", before.entries, after.entries)
	}
	w.cluster.stopAll()

	// Wallets and escrows hold what the acknowledged operations say: each
	// operation whose first answer was lost counted once, or not at all.
	want := map[uuid.UUID]int64{}
	escrow := map[uuid.UUID]int64{}
	for _, a := range w.acks {
		if a.from != nil {
			want[a.from.wallet] -= a.amount
		}
		if a.to != nil {
			want[a.to.wallet] += a.amount
		}
		switch a.kind {
		case "send":
			escrow[a.packet] += a.amount
		case "claim":
			escrow[a.packet] -= a.amount
		}
	}
	for _, u := range w.users {
		if got := after.wallets[u.wallet]; got != want[u.wallet] {
			t.Errorf("%s's wallet holds %s, the acknowledged operations say %s", u.handle, ledger.NewMoney(got, cny), ledger.NewMoney(want[u.wallet], cny))
		}
	}
	for id, units := range escrow {
		p, err := app.packets.Store().Packet(ctx, id)
		if err != nil {
			t.Error(err)
			continue
		}
		acct, err := app.ledger.Account(ctx, p.Escrow)
		if err != nil {
			t.Error(err)
			continue
		}
		if acct.Balance.Net() != units || acct.Balance.DebitsPending != 0 {
			t.Errorf("packet %s's escrow holds %d (pending %d), want %d: its total less its acknowledged claims", id,
				acct.Balance.Net(), acct.Balance.DebitsPending, units)
		}
	}

	// Each feature's Reconcile finishes what a kill left (an hour on, all
	// of it is old enough), then every check is clean.
	offset.Store(int64(time.Hour))
	now := app.now()
	if err := app.packets.Flush(ctx); err != nil {
		t.Error(err)
	}
	rp, err := app.packets.Reconcile(ctx, now)
	if err != nil {
		t.Error(err)
	}
	tr, err := app.phones.Reconcile(ctx, now)
	if err != nil {
		t.Error(err)
	}
	qrr, err := app.qr.Reconcile(ctx, now)
	if err != nil {
		t.Error(err)
	}
	t.Logf("reconciled: red packets %+v, transfers %+v, qr %+v", rp, tr, qrr)
	if rep, err := app.packets.Check(ctx); err != nil {
		t.Errorf("redpacket Check: %v (%+v)", err, rep)
	}
	if rep, err := app.phones.Check(ctx, time.Time{}, now); err != nil || rep.Unfinished > 0 {
		t.Errorf("transfer Check: %v (%+v)", err, rep)
	}
	if rep, err := app.qr.Check(ctx); err != nil || rep.InFlight > 0 {
		t.Errorf("qr Check: %v (%+v)", err, rep)
	}
	rep, err := app.ledger.Verify(ctx)
	if err != nil {
		t.Errorf("ledger Verify: %v", err)
	}
	t.Logf("ledger verified: %d accounts, %d entries", rep.Accounts, rep.Entries)
	final := w.balances(ctx, app)
	if !mapsEqual(final.wallets, after.wallets) {
		t.Error("Reconcile moved money in the wallets after every operation was answered")
	}
}

// stored checks that the stores hold a as it was answered.
func (w *chaos) stored(ctx context.Context, app *App, a *ack) error {
	switch a.kind {
	case "deposit", "qr":
		var v struct {
			TransferID uuid.UUID `json:"transfer_id"`
		}
		if err := json.Unmarshal(a.res.body, &v); err != nil {
			return err
		}
		tr, err := app.ledger.LookupTransfer(ctx, v.TransferID)
		if err != nil {
			return err
		}
		if tr.Amount.Units() != a.amount || tr.CreditAccountID != a.to.wallet || (a.from != nil && tr.DebitAccountID != a.from.wallet) {
			return fmt.Errorf("the ledger has %+v", tr)
		}
	case "send":
		p, err := app.packets.Store().Packet(ctx, a.packet)
		if err != nil {
			return err
		}
		if p.Total.Units() != a.amount || p.Sender != a.from.id || p.Count != 5 || p.Status == redpacket.StatusFunding || p.Status == redpacket.StatusCancelled {
			return fmt.Errorf("the store has %+v", p)
		}
	case "claim":
		tr, err := app.ledger.LookupTransfer(ctx, app.packets.ClaimTransferID(a.packet, a.to.id))
		if err != nil {
			return err
		}
		if tr.Amount.Units() != a.amount || tr.CreditAccountID != a.to.wallet {
			return fmt.Errorf("the ledger has %+v", tr)
		}
	case "phone":
		var v receiptView
		if err := json.Unmarshal(a.res.body, &v); err != nil {
			return err
		}
		r, err := app.phones.Get(ctx, a.from.id, v.ID)
		if err != nil {
			return err
		}
		if r.State != transfer.StateSettled || r.Amount.Units() != a.amount || v.State != "settled" {
			return fmt.Errorf("answered %s, the store has %+v", v.State, r)
		}
	}
	return nil
}

type balances struct {
	entries int64
	wallets map[uuid.UUID]int64
}

// balances reads every user's wallet and the ledger's entry count.
func (w *chaos) balances(ctx context.Context, app *App) balances {
	b := balances{wallets: map[uuid.UUID]int64{}}
	for _, u := range w.users {
		a, err := app.ledger.Account(ctx, u.wallet)
		if err != nil {
			w.t.Fatal(err)
		}
		if a.Balance.DebitsPending != 0 || a.Balance.CreditsPending != 0 {
			w.t.Errorf("%s's wallet has money on hold after every operation was answered: %+v", u.handle, a.Balance)
		}
		b.wallets[u.wallet] = a.Balance.Net()
	}
	rep, err := app.ledger.Verify(ctx)
	if err != nil {
		w.t.Fatal(err)
	}
	b.entries = rep.Entries
	return b
}

func mapsEqual(a, b map[uuid.UUID]int64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if bv, ok := b[k]; !ok || bv != v {
			return false
		}
	}
	return true
}

// cluster is the bankd processes of TestChaos, as a load balancer sees
// them: each up (with its address) or down.
type cluster struct {
	t         *testing.T
	env, args []string

	mu       sync.Mutex
	procs    [chaosInstances]*process // nil while down
	all      []*process               // every process started, for their logs
	restarts int
	pick     atomic.Uint64
}

// start starts instance i (-1: the first not running) and waits until it
// is ready.
func (c *cluster) start(i int) {
	c.t.Helper()
	if i < 0 {
		c.mu.Lock()
		i = slices.Index(c.procs[:], nil)
		c.mu.Unlock()
	}
	p := startBankd(c.t, c.env, c.args...)
	for try := 0; ; try++ {
		res, err := http.Get("http://" + p.addr + "/readyz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				break
			}
		}
		if try == 100 {
			c.t.Fatalf("bankd at %s is not ready: %v", p.addr, err)
		}
		time.Sleep(50 * time.Millisecond) // poll readiness
	}
	c.mu.Lock()
	c.procs[i] = p
	c.all = append(c.all, p)
	if len(c.all) == 1 {
		c.t.Cleanup(c.logs)
	}
	c.mu.Unlock()
}

// logs shows the warnings and errors of every instance when the test has
// failed.
func (c *cluster) logs() {
	if !c.t.Failed() {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, p := range c.all {
		w := p.cmd.Stderr.(*lockedWriter)
		w.mu.Lock()
		c.t.Logf("bankd process %d (%s) logs:\n%s", i, p.addr, w.w)
		w.mu.Unlock()
	}
}

// kill SIGKILLs instance i while requests are in flight and waits until
// it has exited.
func (c *cluster) kill(i int) {
	c.mu.Lock()
	p := c.procs[i]
	c.mu.Unlock()
	p.kill()
	c.mu.Lock()
	c.procs[i] = nil
	c.restarts++
	c.mu.Unlock()
}

// stopAll stops every instance with SIGTERM: each must exit 0.
func (c *cluster) stopAll() {
	c.mu.Lock()
	procs := c.procs
	c.mu.Unlock()
	for _, p := range procs {
		if p != nil {
			p.stop(c.t)
		}
	}
}

// base returns instance i's URL if it is up.
func (c *cluster) base(i int) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if p := c.procs[i]; p != nil {
		return "http://" + p.addr, true
	}
	return "", false
}

// any returns a random instance, up or down (a client learns the hard way).
func (c *cluster) any(rng *rand.Rand) int { return rng.IntN(chaosInstances) }

// other returns an instance other than i, up if one is.
func (c *cluster) other(i int) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := int(c.pick.Add(1))
	for k := range chaosInstances - 1 {
		j := (i + 1 + (n+k)%(chaosInstances-1)) % chaosInstances
		if c.procs[j] != nil {
			return j
		}
	}
	return (i + 1) % chaosInstances
}
