package transfer_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/ledger"
	"github.com/socialpay/socialpay/ledger/ledgertest"
	"github.com/socialpay/socialpay/transfer"
)

var cny = ledger.MustCurrency("CNY")

// testKey is the lookup-token key of the tests' services.
var testKey = []byte("transfer tests' key, 32 bytes ok")

// env is a service on memory stores with a manual clock and the default
// (PIX DICT) rate limits.
type env struct {
	t     *testing.T
	ctx   context.Context
	clock *ledgertest.Clock
	l     *ledger.Ledger
	lim   *transfer.MemoryLimiter
	svc   *transfer.Service
	bank  uuid.UUID
}

func newEnv(t *testing.T, edit func(*transfer.Config)) *env {
	t.Helper()
	e := &env{t: t, ctx: context.Background(), clock: ledgertest.NewClock(time.Date(2026, 2, 16, 12, 0, 0, 0, time.UTC))}
	e.l = ledger.New(nil, ledger.Options{Now: e.clock.Now})
	rc := transfer.DefaultRateConfig()
	rc.Now = e.clock.Now
	var err error
	if e.lim, err = transfer.NewMemoryLimiter(rc); err != nil {
		t.Fatal(err)
	}
	cfg := transfer.Config{Ledger: e.l, Store: transfer.NewMemoryStore(e.l), Directory: transfer.NewMemoryDirectory(),
		Limiter: e.lim, TokenKey: testKey, Now: e.clock.Now}
	if edit != nil {
		edit(&cfg)
	}
	if e.svc, err = transfer.New(cfg); err != nil {
		t.Fatal(err)
	}
	e.bank = e.account()
	return e
}

func (e *env) account() uuid.UUID {
	e.t.Helper()
	a, err := e.l.CreateAccount(e.ctx, ledger.Account{ID: uuid.New(), Currency: cny, Flags: ledger.DebitsMustNotExceedCredits})
	if err != nil {
		e.t.Fatal(err)
	}
	return a.ID
}

// user binds phone to a new account funded with fen.
func (e *env) user(id, phone, name string, fen int64) uuid.UUID {
	e.t.Helper()
	acct := e.account()
	if fen > 0 {
		bank, _ := e.l.CreateAccount(e.ctx, ledger.Account{ID: uuid.New(), Currency: cny})
		if _, err := e.l.Transfer(e.ctx, ledger.Transfer{ID: uuid.New(), DebitAccountID: bank.ID, CreditAccountID: acct, Amount: ledger.NewMoney(fen, cny)}); err != nil {
			e.t.Fatal(err)
		}
	}
	if _, err := e.svc.Bind(e.ctx, transfer.BindRequest{Phone: phone, Holder: uid(id), Account: acct, Name: name, VerifiedAt: e.clock.Now()}); err != nil {
		e.t.Fatal(err)
	}
	return acct
}

// uid is the user ID of a test user's name.
func uid(name string) uuid.UUID { return uuid.NewSHA1(uuid.NameSpaceOID, []byte(name)) }

func wantErr(t *testing.T, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("error %v, want %v", err, target)
	}
}

func TestNewConfig(t *testing.T) {
	l := ledger.New(nil, ledger.Options{})
	for name, cfg := range map[string]transfer.Config{
		"no ledger":        {SingleProcess: true},
		"short key":        {Ledger: l, TokenKey: []byte("short"), SingleProcess: true},
		"31-byte key":      {Ledger: l, TokenKey: testKey[:31], SingleProcess: true},
		"negative TTL":     {Ledger: l, TokenTTL: -time.Second, SingleProcess: true},
		"long institution": {Ledger: l, Institution: strings.Repeat("x", transfer.MaxInstitutionLen+1), SingleProcess: true},
	} {
		if _, err := transfer.New(cfg); !errors.Is(err, transfer.ErrInvalidConfig) {
			t.Errorf("%s: %v, want ErrInvalidConfig", name, err)
		}
	}
	if _, err := transfer.New(transfer.Config{Ledger: l, Limits: transfer.Limits{PerTransfer: ledger.NewMoney(1, cny)}, SingleProcess: true}); !errors.Is(err, transfer.ErrInvalidLimits) {
		t.Errorf("bad limits: %v", err)
	}
	s, err := transfer.New(transfer.Config{Ledger: l, SingleProcess: true})
	if err != nil {
		t.Fatal(err)
	}
	if s.Limits() != transfer.DefaultLimits() {
		t.Errorf("default limits %+v", s.Limits())
	}
	// The day boundary is Shanghai's midnight: 16:00 UTC.
	if d1, d2 := s.Day(time.Date(2026, 2, 16, 15, 59, 59, 0, time.UTC)), s.Day(time.Date(2026, 2, 16, 16, 0, 0, 0, time.UTC)); d2 != d1+1 || d2.String() != "2026-02-17" {
		t.Errorf("days %v %v", d1, d2)
	}
}

func TestBind(t *testing.T) {
	e := newEnv(t, nil)
	acct := e.account()
	bind := func(phone, holder string, acct uuid.UUID, rebind bool) (transfer.Binding, error) {
		return e.svc.Bind(e.ctx, transfer.BindRequest{Phone: phone, Holder: uid(holder), Account: acct, Name: "张三", VerifiedAt: e.clock.Now(), Rebind: rebind})
	}
	// Thorough validation when binding.
	for phone, want := range map[string]error{
		"":                 transfer.ErrEmptyPhone,
		"call me":          transfer.ErrNotPhoneNumber,
		"12345":            transfer.ErrInvalidPhone,
		"+86 10 1234 5678": transfer.ErrNotMobile,
		"+86 190 0000":     transfer.ErrInvalidPhone,
	} {
		_, err := bind(phone, "alice", acct, false)
		wantErr(t, err, want)
	}
	b, err := bind("+86 138-0013-8000", "alice", acct, false)
	if err != nil || b.Phone != "+8613800138000" || !b.BoundAt.Equal(e.clock.Now()) {
		t.Fatalf("bind: %v %+v", err, b)
	}
	// The account must exist, in the limits' currency.
	_, err = bind("13900139000", "bob", uuid.New(), false)
	wantErr(t, err, transfer.ErrInvalidBinding)
	usd, _ := e.l.CreateAccount(e.ctx, ledger.Account{ID: uuid.New(), Currency: ledger.MustCurrency("USD")})
	_, err = bind("13900139000", "bob", usd.ID, false)
	wantErr(t, err, transfer.ErrInvalidBinding)
	// Recycled numbers move only on an explicit rebind.
	other := e.account()
	_, err = bind("008613800138000", "bob", other, false)
	wantErr(t, err, transfer.ErrBoundToOtherHolder)
	if b, err = bind("008613800138000", "bob", other, true); err != nil || b.Holder != uid("bob") {
		t.Fatalf("rebind: %v %+v", err, b)
	}
	wantErr(t, e.svc.Unbind(e.ctx, "13800138000", uid("alice")), transfer.ErrNotHolder)
	if err := e.svc.Unbind(e.ctx, "13800138000", uid("bob")); err != nil {
		t.Fatal(err)
	}
	_, err = e.svc.Resolve(e.ctx, uid("carol"), "13800138000")
	wantErr(t, err, transfer.ErrNotBound)
}

// Reveal: the masked name and institution, never the full name; any
// typed form of the number finds it.
func TestResolve(t *testing.T) {
	e := newEnv(t, func(c *transfer.Config) { c.Institution = "ICBC" })
	e.user("bob", "+86 138 0013 8000", "欧阳娜娜", 0)
	for _, typed := range []string{"138 0013 8000", "+8613800138000", "0086 138-0013-8000", "+86 (138) 0013 8000"} {
		r, err := e.svc.Resolve(e.ctx, uid("alice"), typed)
		if err != nil || r.MaskedName != "***娜" || r.Institution != "ICBC" || r.Phone != "+8613800138000" {
			t.Fatalf("%q: %v %+v", typed, err, r)
		}
		if !r.ExpiresAt.Equal(e.clock.Now().Add(transfer.DefaultTokenTTL)) {
			t.Fatalf("token expires %v", r.ExpiresAt)
		}
		raw, err := base64.RawURLEncoding.DecodeString(r.Token)
		if err != nil || bytes.Contains(raw, []byte("娜")) || strings.Contains(r.Token, "娜") {
			t.Fatalf("the token carries the name or is not base64url: %q", r.Token)
		}
	}
	_, err := e.svc.Resolve(e.ctx, uid("alice"), "139 0013 9000")
	wantErr(t, err, transfer.ErrNotBound)
	_, err = e.svc.Resolve(e.ctx, uid("alice"), "+86 190 0000")
	wantErr(t, err, transfer.ErrInvalidPhone)
	_, err = e.svc.Resolve(e.ctx, uuid.Nil, "138 0013 8000")
	wantErr(t, err, transfer.ErrEmptyPayer)
}

// A binding whose ownership was verified too long ago is not payable.
func TestMaxVerificationAge(t *testing.T) {
	e := newEnv(t, func(c *transfer.Config) { c.MaxVerificationAge = 90 * 24 * time.Hour })
	e.user("bob", "13800138000", "Bob", 0)
	res, err := e.svc.Resolve(e.ctx, uid("alice"), "13800138000")
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(91 * 24 * time.Hour)
	_, err = e.svc.Resolve(e.ctx, uid("alice"), "13800138000")
	wantErr(t, err, transfer.ErrNotBound)
	_ = res
}

func TestLookupTokens(t *testing.T) {
	e := newEnv(t, nil)
	alice := e.user("alice", "13900139000", "Alice", 100_00)
	bobAcct := e.user("bob", "13800138000", "Bob Jones", 0)
	send := func(payer string, from uuid.UUID, token string) (transfer.Receipt, error) {
		return e.svc.Send(e.ctx, transfer.Request{Key: uuid.NewString(), Payer: uid(payer), From: from, Token: token, Amount: ledger.NewMoney(1_00, cny)})
	}
	resolve := func() string {
		r, err := e.svc.Resolve(e.ctx, uid("alice"), "13800138000")
		if err != nil {
			t.Fatal(err)
		}
		return r.Token
	}

	// Any change to a token is caught.
	tok := resolve()
	raw, _ := base64.RawURLEncoding.DecodeString(tok)
	for i := range raw {
		forged := bytes.Clone(raw)
		forged[i] ^= 0x20
		_, err := send("alice", alice, base64.RawURLEncoding.EncodeToString(forged))
		if !errors.Is(err, transfer.ErrInvalidToken) {
			t.Fatalf("byte %d changed: %v", i, err)
		}
	}
	for _, bad := range []string{"", "!!", tok[:20], tok + "AA", strings.Repeat("A", 500)} {
		if _, err := send("alice", alice, bad); !errors.Is(err, transfer.ErrInvalidToken) && !errors.Is(err, transfer.ErrInvalidRequest) {
			t.Fatalf("token %q: %v", bad, err)
		}
	}
	// Bound to the payer it was issued to.
	carol := e.user("carol", "13700137000", "Carol", 100_00)
	_, err := send("carol", carol, tok)
	wantErr(t, err, transfer.ErrInvalidToken)
	// Not from another service's key.
	other, _ := transfer.New(transfer.Config{Ledger: e.l, Directory: e.svc.Directory(), Now: e.clock.Now, SingleProcess: true})
	r2, err := other.Resolve(e.ctx, uid("alice"), "13800138000")
	if err != nil {
		t.Fatal(err)
	}
	_, err = send("alice", alice, r2.Token)
	wantErr(t, err, transfer.ErrInvalidToken)
	// Short-lived.
	e.clock.Advance(transfer.DefaultTokenTTL)
	_, err = send("alice", alice, tok)
	wantErr(t, err, transfer.ErrTokenExpired)
	// Stale after the number moves to another holder or account.
	tok = resolve()
	newAcct := e.account()
	if _, err := e.svc.Bind(e.ctx, transfer.BindRequest{Phone: "13800138000", Holder: uid("dan"), Account: newAcct, Name: "Dan", VerifiedAt: e.clock.Now(), Rebind: true}); err != nil {
		t.Fatal(err)
	}
	_, err = send("alice", alice, tok)
	wantErr(t, err, transfer.ErrStaleToken)
	tok = resolve()
	if err := e.svc.Unbind(e.ctx, "13800138000", uid("dan")); err != nil {
		t.Fatal(err)
	}
	_, err = send("alice", alice, tok)
	wantErr(t, err, transfer.ErrStaleToken)
	// Good for one payment.
	if _, err := e.svc.Bind(e.ctx, transfer.BindRequest{Phone: "13800138000", Holder: uid("bob"), Account: bobAcct, Name: "Bob Jones", VerifiedAt: e.clock.Now()}); err != nil {
		t.Fatal(err)
	}
	tok = resolve()
	if r, err := send("alice", alice, tok); err != nil || r.PayeeName != "B** J****" {
		t.Fatalf("%v %+v", err, r)
	}
	_, err = send("alice", alice, tok)
	wantErr(t, err, transfer.ErrLookupUsed)
}

// The PIX DICT arithmetic through the service: found 1, not found 20,
// refund 1 per settled payment that used a lookup.
func TestLookupMetering(t *testing.T) {
	e := newEnv(t, nil)
	alice := e.user("alice", "13900139000", "Alice", 1000_00)
	e.user("bob", "13800138000", "王小明", 0)
	tokens := func() int64 { return e.lim.Tokens(uid("alice")) }

	r, err := e.svc.Resolve(e.ctx, uid("alice"), "13800138000")
	if err != nil || tokens() != 99 {
		t.Fatalf("found: %v, %d tokens", err, tokens())
	}
	for _, miss := range []string{"13700137000", "+86 190 0000"} { // unbound, invalid
		if _, err := e.svc.Resolve(e.ctx, uid("alice"), miss); err == nil {
			t.Fatal("miss found")
		}
	}
	if tokens() != 59 {
		t.Fatalf("after two misses: %d", tokens())
	}
	// A settled payment gives one back; its retry does not.
	req := transfer.Request{Key: "k1", Payer: uid("alice"), From: alice, Token: r.Token, Amount: ledger.NewMoney(5_00, cny)}
	for range 2 {
		if _, err := e.svc.Send(e.ctx, req); err != nil {
			t.Fatal(err)
		}
	}
	if tokens() != 60 {
		t.Fatalf("after settlement: %d", tokens())
	}
	// A delayed one refunds when it lands, and a cancelled one never.
	for _, cancel := range []bool{true, false} {
		r, _ := e.svc.Resolve(e.ctx, uid("alice"), "13800138000")
		rc, err := e.svc.Send(e.ctx, transfer.Request{Key: uuid.NewString(), Payer: uid("alice"), From: alice, Token: r.Token, Amount: ledger.NewMoney(5_00, cny), Arrival: transfer.Arrive2h})
		if err != nil {
			t.Fatal(err)
		}
		before := tokens()
		if cancel {
			_, err = e.svc.Cancel(e.ctx, uid("alice"), rc.ID)
		} else {
			_, err = e.svc.ReleaseDue(e.ctx, rc.DueAt)
		}
		if err != nil {
			t.Fatal(err)
		}
		if got, want := tokens(), before+map[bool]int64{true: 0, false: 1}[cancel]; got != want {
			t.Fatalf("cancel %v: %d tokens, want %d", cancel, got, want)
		}
	}
	// The verify model: a match costs 1, a close match or no match 20.
	for _, c := range []struct {
		answer string
		want   transfer.MatchResult
		cost   int64
	}{{"王小明", transfer.Match, 1}, {"王晓明", transfer.CloseMatch, 20}, {"李四", transfer.NoMatch, 20}} {
		before := tokens()
		v, err := e.svc.VerifyPayee(e.ctx, uid("alice"), "138 0013 8000", transfer.FullName, c.answer)
		if err != nil || v.Result != c.want || v.Token == "" {
			t.Fatalf("%s: %v %+v", c.answer, err, v)
		}
		if before-tokens() != c.cost {
			t.Fatalf("%s cost %d tokens, want %d", c.answer, before-tokens(), c.cost)
		}
	}
	// A bad answer is refused before any lookup.
	before := tokens()
	_, err = e.svc.VerifyPayee(e.ctx, uid("alice"), "138 0013 8000", transfer.FullName, "  ")
	wantErr(t, err, transfer.ErrEmptyName)
	_, err = e.svc.VerifyPayee(e.ctx, uid("alice"), "138 0013 8000", transfer.Challenge(7), "王")
	wantErr(t, err, transfer.ErrUnknownChallenge)
	if tokens() != before {
		t.Fatal("a refused verification cost tokens")
	}
}

// A lookup storm: a payer probing numbers runs dry after five misses and
// is told when to come back; other payers are not affected.
func TestLookupStorm(t *testing.T) {
	e := newEnv(t, nil)
	e.user("bob", "13800138000", "Bob", 0)
	var misses int
	var rl *transfer.RateLimitError
	for i := range 10 {
		_, err := e.svc.Resolve(e.ctx, uid("mallory"), "1370013"+strings.Repeat("0", 3)+string(rune('0'+i)))
		if errors.As(err, &rl) {
			break
		}
		wantErr(t, err, transfer.ErrNotBound)
		misses++
	}
	if misses != 5 || rl == nil || rl.Scope != transfer.ScopePayer || rl.RetryAfter != 10*time.Minute {
		t.Fatalf("%d misses, then %+v", misses, rl)
	}
	// Even a bound number is refused now: the answer cannot depend on it.
	_, err := e.svc.Resolve(e.ctx, uid("mallory"), "13800138000")
	wantErr(t, err, transfer.ErrRateLimited)
	if _, err := e.svc.Resolve(e.ctx, uid("alice"), "13800138000"); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(rl.RetryAfter)
	if _, err := e.svc.Resolve(e.ctx, uid("mallory"), "13800138000"); err != nil {
		t.Fatal(err)
	}
}

// A prober at its last tokens (more than FoundCost, fewer than
// NotFoundCost) learns nothing: a bound number, an unbound one and an
// invalid one, by Resolve, VerifyPayee with the right name or Send, all
// get the same refusal, and none costs a token.
func TestLastTokensRevealNothing(t *testing.T) {
	e := newEnv(t, nil)
	mallory := e.user("mallory", "13900139000", "Mallory", 1000_00)
	e.user("bob", "13800138000", "王小明", 0)
	for range 4 {
		if _, err := e.svc.Resolve(e.ctx, uid("mallory"), "13700137000"); !errors.Is(err, transfer.ErrNotBound) {
			t.Fatal(err)
		}
	}
	if _, err := e.svc.Resolve(e.ctx, uid("mallory"), "13800138000"); err != nil {
		t.Fatal(err)
	}
	if got := e.lim.Tokens(uid("mallory")); got != 19 {
		t.Fatalf("%d tokens, want 19", got)
	}
	var answers []string
	for _, n := range []string{"13800138000", "13700137000", "+86 190 0000"} {
		_, err := e.svc.Resolve(e.ctx, uid("mallory"), n)
		answers = append(answers, fmt.Sprint(err))
		_, err = e.svc.VerifyPayee(e.ctx, uid("mallory"), n, transfer.FullName, "王小明")
		answers = append(answers, fmt.Sprint(err))
		_, err = e.svc.Send(e.ctx, transfer.Request{Key: uuid.NewString(), Payer: uid("mallory"), From: mallory, Phone: n, Amount: ledger.NewMoney(1_00, cny)})
		answers = append(answers, fmt.Sprint(err))
	}
	for _, a := range answers {
		if a != answers[0] || !strings.Contains(a, transfer.ErrRateLimited.Error()) {
			t.Fatalf("answers at the last tokens differ or are no refusals: %q", answers)
		}
	}
	if got := e.lim.Tokens(uid("mallory")); got != 19 {
		t.Fatalf("refused lookups left %d tokens, want 19", got)
	}
}

func TestSendRequestChecks(t *testing.T) {
	e := newEnv(t, nil)
	alice := e.user("alice", "13900139000", "Alice", 100_00)
	e.user("bob", "13800138000", "Bob", 0)
	ok := transfer.Request{Key: "k", Payer: uid("alice"), From: alice, Phone: "13800138000", Amount: ledger.NewMoney(1_00, cny)}
	for name, edit := range map[string]func(*transfer.Request){
		"no key":       func(r *transfer.Request) { r.Key = "" },
		"long key":     func(r *transfer.Request) { r.Key = strings.Repeat("k", ledger.MaxKeyLen+1) },
		"no payer":     func(r *transfer.Request) { r.Payer = uuid.Nil },
		"no from":      func(r *transfer.Request) { r.From = uuid.Nil },
		"no payee":     func(r *transfer.Request) { r.Phone = "" },
		"two payees":   func(r *transfer.Request) { r.Token = "x" },
		"bad arrival":  func(r *transfer.Request) { r.Arrival = 7 },
		"long memo":    func(r *transfer.Request) { r.Memo = strings.Repeat("字", transfer.MaxMemoRunes+1) },
		"control memo": func(r *transfer.Request) { r.Memo = "a\nb" },
		"invalid memo": func(r *transfer.Request) { r.Memo = "\xff" },
		"To, not a chat": func(r *transfer.Request) {
			r.Phone = ""
			r.To = transfer.Recipient{Holder: uid("bob"), Account: uuid.New()}
		},
		"To without account": func(r *transfer.Request) {
			r.Phone, r.Arrival, r.To = "", transfer.ArriveOnAccept, transfer.Recipient{Holder: uid("bob")}
		},
	} {
		r := ok
		edit(&r)
		_, err := e.svc.Send(e.ctx, r)
		if !errors.Is(err, transfer.ErrInvalidRequest) {
			t.Errorf("%s: %v, want ErrInvalidRequest", name, err)
		}
	}
	if tokens := e.lim.Tokens(uid("alice")); tokens != 100 {
		t.Fatalf("refused requests cost %d tokens", 100-tokens)
	}
	if r, err := e.svc.Send(e.ctx, ok); err != nil || r.State != transfer.StateSettled {
		t.Fatalf("%v %+v", err, r)
	}
}

// Send of a request whose number is unbound or invalid says so (and costs
// a not-found lookup), like Resolve.
func TestSendByPhoneMisses(t *testing.T) {
	e := newEnv(t, nil)
	alice := e.user("alice", "13900139000", "Alice", 100_00)
	for phone, want := range map[string]error{"13800138000": transfer.ErrNotBound, "12345": transfer.ErrInvalidPhone} {
		_, err := e.svc.Send(e.ctx, transfer.Request{Key: phone, Payer: uid("alice"), From: alice, Phone: phone, Amount: ledger.NewMoney(1, cny)})
		wantErr(t, err, want)
	}
	if tokens := e.lim.Tokens(uid("alice")); tokens != 60 {
		t.Fatalf("%d tokens left, want 60", tokens)
	}
}

// Resolve and Send from many goroutines, with rate limits and one daily
// total: the ledger verifies and the totals agree.
func TestConcurrentResolveSend(t *testing.T) {
	e := newEnv(t, func(c *transfer.Config) {
		rc := transfer.DefaultRateConfig()
		rc.Payer.Capacity, rc.Institution.Capacity = 10_000, 1_000_000
		lim, _ := transfer.NewMemoryLimiter(rc)
		c.Limiter = lim
	})
	const payers, sends = 8, 40
	accts := make([]uuid.UUID, payers)
	for i := range accts {
		accts[i] = e.user(string(rune('a'+i)), "1390013900"+string(rune('0'+i)), "Payer", 1000_00)
	}
	bob := e.user("bob", "13800138000", "Bob", 0)
	var wg sync.WaitGroup
	for i := range payers {
		wg.Go(func() {
			for j := range sends {
				r, err := e.svc.Resolve(e.ctx, uid(string(rune('a'+i))), "138 0013 8000")
				if err != nil {
					t.Error(err)
					return
				}
				arrival := transfer.Arrival(j % 3)
				if _, err := e.svc.Send(e.ctx, transfer.Request{Key: uuid.NewString(), Payer: uid(string(rune('a' + i))), From: accts[i], Token: r.Token,
					Amount: ledger.NewMoney(1_00, cny), Arrival: arrival}); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	released, err := e.svc.ReleaseDue(e.ctx, e.clock.Now().Add(25*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	a, _ := e.l.Account(e.ctx, bob)
	if a.Balance.Net() != payers*sends*1_00 || released != payers*(sends-(sends+2)/3) {
		t.Fatalf("bob %d, released %d", a.Balance.Net(), released)
	}
	if _, err := e.l.Verify(e.ctx); err != nil {
		t.Fatal(err)
	}
}
