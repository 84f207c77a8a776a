// Command phonetransfer is a tour of transfers to a mobile number
// (手机号转账) on the embedded memory stores: two customers bind their
// numbers, a payer resolves a number and sees the masked name, checks the
// name (Confirmation of Payee), sends an immediate transfer (and retries
// it), sends a transfer to arrive in two hours and cancels it, a prober's
// lookup storm runs into the rate limit, and the balances are printed and
// the ledger verified.
//
//	go run ./examples/phonetransfer
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"time"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/ledger"
	"github.com/socialpay/socialpay/transfer"
)

func main() {
	if err := run(os.Stdout); err != nil {
		log.Fatal(err)
	}
}

func run(w io.Writer) error {
	ctx := context.Background()
	now := time.Date(2026, 2, 16, 12, 0, 0, 0, time.UTC) // 20:00 in Shanghai
	clock := func() time.Time { return now }
	l := ledger.New(nil, ledger.Options{Now: clock})
	// One process on the memory stores: it keeps its own lookup buckets
	// and token key, and says so. A bank's instances pass a shared
	// Limiter (postgres.LookupLimiter) and TokenKey instead.
	svc, err := transfer.New(transfer.Config{Ledger: l, Institution: "Bank of Example", Now: clock, SingleProcess: true})
	if err != nil {
		return err
	}
	cny := ledger.MustCurrency("CNY")
	open := func(flags ledger.AccountFlags) (uuid.UUID, error) {
		a, err := l.CreateAccount(ctx, ledger.Account{ID: uuid.New(), Currency: cny, Flags: flags})
		return a.ID, err
	}
	yuan := func(s string) ledger.Money {
		m, err := ledger.ParseAmount(s, "CNY")
		if err != nil {
			panic(err)
		}
		return m
	}
	bank, err := open(0)
	if err != nil {
		return err
	}
	alice, err := open(ledger.DebitsMustNotExceedCredits)
	if err != nil {
		return err
	}
	bob, err := open(ledger.DebitsMustNotExceedCredits)
	if err != nil {
		return err
	}
	if _, err := l.Transfer(ctx, ledger.Transfer{ID: uuid.New(), DebitAccountID: bank, CreditAccountID: alice, Amount: yuan("1000.00")}); err != nil {
		return err
	}

	// Users are UUIDs. This bank's customer numbers are text, so it
	// derives each customer's user ID from the number, under a namespace
	// of its own (docs/identity.md).
	bankNS := uuid.MustParse("3b1f5e0c-7a2d-4c9e-8f61-2d4b6a8c0e13")
	customer := func(number string) uuid.UUID { return ledger.DeriveID(bankNS, "customer", number) }
	aliceID, bobID, malloryID := customer("C-0001"), customer("C-0002"), customer("C-0666")

	// The bank has verified both numbers by OTP; it binds them.
	for _, b := range []struct {
		name string
		req  transfer.BindRequest
	}{
		{"alice", transfer.BindRequest{Phone: "+86 139 0013 9000", Holder: aliceID, Account: alice, Name: "Alice Wang", VerifiedAt: now}},
		{"bob", transfer.BindRequest{Phone: "+86 138 0013 8000", Holder: bobID, Account: bob, Name: "张伟", VerifiedAt: now}},
	} {
		bd, err := svc.Bind(ctx, b.req)
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "bound %s to %s\n", bd.Phone, b.name)
	}

	// Alice types bob's number and sees who it is, masked.
	res, err := svc.Resolve(ctx, aliceID, "138-0013-8000")
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "resolve 138-0013-8000: %s at %s (token good until %s)\n", res.MaskedName, res.Institution, res.ExpiresAt.In(time.UTC).Format("15:04 UTC"))
	// Or she checks the name she knows (the verify model).
	for _, c := range []struct {
		ch     transfer.Challenge
		answer string
	}{{transfer.FullName, "张伟"}, {transfer.Surname, "张"}, {transfer.FullName, "张卫"}} {
		v, err := svc.VerifyPayee(ctx, aliceID, "+8613800138000", c.ch, c.answer)
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "verify %s %q: %s\n", c.ch, c.answer, v.Result)
	}

	// An immediate transfer, and a retry of it that moves nothing.
	req := transfer.Request{Key: "alice-0001", Payer: aliceID, From: alice, Token: res.Token, Amount: yuan("88.88"), Memo: "新年快乐"}
	r, err := svc.Send(ctx, req)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "send %s to %s: %s (first-time payee: %v)\n", r.Amount, r.PayeeName, r.State, r.FirstPayee)
	again, err := svc.Send(ctx, req)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "retry: same receipt %v\n", again == r)

	// A transfer to arrive in two hours, cancelled before it lands.
	res, err = svc.Resolve(ctx, aliceID, "13800138000")
	if err != nil {
		return err
	}
	later, err := svc.Send(ctx, transfer.Request{Key: "alice-0002", Payer: aliceID, From: alice, Token: res.Token, Amount: yuan("200.00"), Arrival: transfer.Arrive2h})
	if err != nil {
		return err
	}
	a, _ := l.Account(ctx, alice)
	fmt.Fprintf(w, "send %s +2h: %s until %s; alice can spend %s\n", later.Amount, later.State, later.DueAt.Format("15:04 UTC"), a.AvailableMoney())
	c, err := svc.Cancel(ctx, aliceID, later.ID)
	if err != nil {
		return err
	}
	a, _ = l.Account(ctx, alice)
	fmt.Fprintf(w, "cancel: %s; alice can spend %s\n", c.State, a.AvailableMoney())
	if n, err := svc.ReleaseDue(ctx, later.DueAt); err != nil || n != 0 {
		return fmt.Errorf("release after cancel: %d, %v", n, err)
	}

	// Mallory probes numbers: a miss costs 20 of 100 tokens.
	for i := range 7 {
		phone := fmt.Sprintf("137 0000 %04d", i)
		_, err := svc.Resolve(ctx, malloryID, phone)
		var rl *transfer.RateLimitError
		switch {
		case errors.As(err, &rl):
			fmt.Fprintf(w, "probe %s: rate limited, retry after %v\n", phone, rl.RetryAfter)
		case errors.Is(err, transfer.ErrNotBound):
			fmt.Fprintf(w, "probe %s: not registered\n", phone)
		default:
			return fmt.Errorf("probe %s: %v", phone, err)
		}
	}

	for _, acct := range []struct {
		name string
		id   uuid.UUID
	}{{"alice", alice}, {"bob", bob}} {
		a, err := l.Account(ctx, acct.id)
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "%-5s %s\n", acct.name, a.NetMoney())
	}
	rep, err := l.Verify(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "ledger verified: %d accounts, %d entries\n", rep.Accounts, rep.Entries)
	return nil
}
