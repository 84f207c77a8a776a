package transfer_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/ledger"
	"github.com/socialpay/socialpay/transfer"
)

func ExamplePhoneParser_Normalize() {
	p, err := transfer.NewPhoneParser("CN")
	if err != nil {
		panic(err)
	}
	for _, in := range []string{
		"138 0013 8000",
		"008613800138000",
		"+852 5123 4567",
		"+1 415 555 2671",
		"+86 10 1234 5678",
		"12345",
		"call me",
	} {
		phone, err := p.Normalize(in)
		switch {
		case errors.Is(err, transfer.ErrNotMobile):
			fmt.Printf("%-18s landline, not mobile\n", in)
		case err != nil:
			fmt.Printf("%-18s %v\n", in, err)
		default:
			fmt.Printf("%-18s %s\n", in, phone)
		}
	}
	// Output:
	// 138 0013 8000      +8613800138000
	// 008613800138000    +8613800138000
	// +852 5123 4567     +85251234567
	// +1 415 555 2671    +14155552671
	// +86 10 1234 5678   landline, not mobile
	// 12345              transfer: invalid phone number: too short (default region CN)
	// call me            transfer: not a phone number: contains letters (default region CN)
}

// Look numbers up cheaply in a directory whose keys came from Normalize.
func ExampleFindPhone() {
	p, _ := transfer.NewPhoneParser("")
	bound, _ := p.Normalize("+86 138 0013 8000") // at binding: full validation
	directory := map[transfer.Phone]string{bound: "account-42"}
	find := func(k transfer.Phone) (string, bool, error) {
		acct, ok := directory[k]
		return acct, ok, nil
	}

	for _, typed := range []string{"138-0013-8000", "139 0013 9000", "+86 190 0000"} {
		phone, acct, found, err := transfer.FindPhone(p, typed, find)
		fmt.Println(phone, acct, found, err)
	}
	// Output:
	// +8613800138000 account-42 true <nil>
	// +8613900139000  false <nil>
	//   false transfer: invalid phone number: no such number range (default region CN)
}

func ExampleMaskName() {
	for _, name := range []string{"张三", "王小明", "欧阳娜娜", "John Smith", "Maria da Silva Santos", "J. R. R. Tolkien"} {
		fmt.Println(transfer.MaskName(name))
	}
	// Output:
	// *三
	// **明
	// ***娜
	// J*** S****
	// M**** d* S**** S*****
	// J. R. R. T******
}

func ExampleVerifyName() {
	check := func(c transfer.Challenge, answer string) {
		m, err := transfer.VerifyName("Maria da Silva Santos", c, answer)
		fmt.Println(c, answer, "->", m, err)
	}
	check(transfer.FullName, "maria da silva santos")
	check(transfer.FullName, "Maria Santos")
	check(transfer.FullName, "Mario Santos")
	check(transfer.Surname, "Silva Santos")

	m, _ := transfer.VerifyName("欧阳娜娜", transfer.Surname, "欧阳")
	fmt.Println(m)
	// Output:
	// full_name maria da silva santos -> match <nil>
	// full_name Maria Santos -> close_match <nil>
	// full_name Mario Santos -> no_match <nil>
	// surname Silva Santos -> match <nil>
	// match
}

// The PIX DICT arithmetic with a fixed clock.
func ExampleMemoryLimiter() {
	now := time.Date(2026, 2, 16, 20, 0, 0, 0, time.UTC)
	cfg := transfer.DefaultRateConfig() // 100 tokens, 2 a minute, found 1, not found 20
	cfg.Now = func() time.Time { return now }
	l, err := transfer.NewMemoryLimiter(cfg)
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	alice := uuid.New() // a user: the bank's ID of a customer

	_, _ = l.ChargeLookup(ctx, alice, uuid.Nil, true) // the key exists: 1 token
	fmt.Println("after a found key:", l.Tokens(alice))

	for range 4 {
		_, _ = l.ChargeLookup(ctx, alice, uuid.Nil, false) // four missing keys: 20 tokens each
	}
	fmt.Println("after four missing keys:", l.Tokens(alice))

	// 19 tokens: even a lookup that found its key is refused.
	_, err = l.ChargeLookup(ctx, alice, uuid.Nil, true)
	var rl *transfer.RateLimitError
	if errors.As(err, &rl) {
		fmt.Println(errors.Is(err, transfer.ErrRateLimited), rl.Scope, "retry after", rl.RetryAfter)
	}

	now = now.Add(rl.RetryAfter)
	fmt.Println("later:", l.Tokens(alice))

	// A request and its retry, sent before the first was recorded, name
	// one charge: the lookup is paid once.
	charge := uuid.New()
	first, _ := l.ChargeLookup(ctx, alice, charge, false)
	again, err := l.ChargeLookup(ctx, alice, charge, false)
	fmt.Println("charged:", first, again, err, "left:", l.Tokens(alice))
	// Output:
	// after a found key: 99
	// after four missing keys: 19
	// true payer retry after 30s
	// later: 20
	// charged: true false <nil> left: 0
}

func ExampleLimits_Check() {
	limits := transfer.DefaultLimits() // CNY 50,000.00 per transfer
	for _, amount := range []string{"50000.00", "50000.01"} {
		m, _ := ledger.ParseAmount(amount, "CNY")
		err := limits.Check(transfer.LimitInput{Amount: m})
		fmt.Println(m, errors.Is(err, transfer.ErrOverTransferLimit))
	}
	m, _ := ledger.ParseAmount("6000", "CNY")
	err := limits.Check(transfer.LimitInput{Amount: m, FirstPayee: true})
	fmt.Println(err)
	// Output:
	// 50000.00 CNY false
	// 50000.01 CNY true
	// transfer: amount over the first-time payee limit: 6000.00 CNY, at most 5000.00 CNY
}

// A payer looks a number up, sees the masked name, and pays it; a delayed
// transfer is cancelled before it lands.
func ExampleService() {
	ctx := context.Background()
	clock := time.Date(2026, 2, 16, 12, 0, 0, 0, time.UTC)
	l := ledger.New(nil, ledger.Options{Now: func() time.Time { return clock }})
	// One process on memory stores (CNY limits): its own lookup limiter
	// and token key. A bank's instances share both instead.
	svc, err := transfer.New(transfer.Config{Ledger: l, SingleProcess: true})
	if err != nil {
		panic(err)
	}
	cny := ledger.MustCurrency("CNY")
	wallet := func() uuid.UUID {
		a, _ := l.CreateAccount(ctx, ledger.Account{ID: uuid.New(), Currency: cny, Flags: ledger.DebitsMustNotExceedCredits})
		return a.ID
	}
	bank, _ := l.CreateAccount(ctx, ledger.Account{ID: uuid.New(), Currency: cny})
	alice, bob := wallet(), wallet()
	// Users are the bank's stable IDs of its customers (docs/identity.md).
	aliceUser, bobUser := uuid.New(), uuid.New()
	_, _ = l.Transfer(ctx, ledger.Transfer{ID: uuid.New(), DebitAccountID: bank.ID, CreditAccountID: alice, Amount: ledger.NewMoney(500_00, cny)})

	// The bank verified bob's number by OTP and binds it.
	if _, err := svc.Bind(ctx, transfer.BindRequest{Phone: "+86 138 0013 8000", Holder: bobUser, Account: bob, Name: "王小明", VerifiedAt: clock}); err != nil {
		panic(err)
	}

	res, err := svc.Resolve(ctx, aliceUser, "138-0013-8000")
	if err != nil {
		panic(err)
	}
	fmt.Println("pay", res.MaskedName, "at", res.Institution, "?")

	amount, _ := ledger.ParseAmount("88.88", "CNY")
	r, err := svc.Send(ctx, transfer.Request{Key: "order-1", Payer: aliceUser, From: alice, Token: res.Token, Amount: amount})
	fmt.Println(r.State, r.Amount, "to", r.PayeeName, err)

	res, _ = svc.Resolve(ctx, aliceUser, "138-0013-8000")
	later, _ := svc.Send(ctx, transfer.Request{Key: "order-2", Payer: aliceUser, From: alice, Token: res.Token, Amount: amount, Arrival: transfer.Arrive2h})
	fmt.Println(later.State, "until", later.DueAt.Format(time.Kitchen))
	c, err := svc.Cancel(ctx, aliceUser, later.ID)
	fmt.Println(c.State, err)

	a, _ := l.Account(ctx, alice)
	b, _ := l.Account(ctx, bob)
	fmt.Println("alice", a.NetMoney(), "bob", b.NetMoney())
	// Output:
	// pay **明 at local ?
	// settled 88.88 CNY to **明 <nil>
	// pending until 2:00PM
	// cancelled <nil>
	// alice 411.12 CNY bob 88.88 CNY
}
