package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/internal/proctest"
	"github.com/socialpay/socialpay/ledger"
	"github.com/socialpay/socialpay/ledger/ledgertest"
	"github.com/socialpay/socialpay/transfer"
)

// transferWorkers are the transfer store's worker processes (see multiproc_test.go).
var transferWorkers = map[string]proctest.Worker{"phone-send-retries": phoneSendWorker}

// multiprocTokenKey is the lookup-token key every instance of the test's
// service shares, as a bank's instances must.
var multiprocTokenKey = []byte("socialpay multiprocess token key")

type phoneSendArg struct {
	Schema string
	Sends  []phoneSend
	Copies int // identical Sends per request in each process
}

// phoneSend is one phone Send as a worker's argument (amounts in fen).
type phoneSend struct {
	Key, Phone string
	Payer      uuid.UUID
	From       uuid.UUID
	Fen        int64
}

// phoneSendResult is each request's answers in one worker: the receipt's
// ID and state, or the error.
type phoneSendResult struct {
	Answers [][]string
}

// phoneService is one instance of a bank's phone-transfer service on db:
// the stores, the lookup limiter and the token key are shared with every
// other instance.
func phoneService(db *DB, now func() time.Time) (*transfer.Service, error) {
	rc := transfer.DefaultRateConfig()
	rc.Now = now
	lim, err := NewLookupLimiter(db, rc)
	if err != nil {
		return nil, err
	}
	return transfer.New(transfer.Config{
		Ledger: ledger.New(NewLedgerStore(db), ledger.Options{Now: now}), Store: NewPhoneTransferStore(db), Directory: NewPhoneDirectory(db),
		Limiter: lim, TokenKey: multiprocTokenKey,
	})
}

func phoneSendWorker(ctx context.Context, raw json.RawMessage, ready func()) (any, error) {
	var arg phoneSendArg
	if err := json.Unmarshal(raw, &arg); err != nil {
		return nil, err
	}
	db, err := workerDB(ctx, arg.Schema)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	svc, err := phoneService(db, nil)
	if err != nil {
		return nil, err
	}
	ready()
	res := phoneSendResult{Answers: make([][]string, len(arg.Sends))}
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for i, s := range arg.Sends {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			req := transfer.Request{Key: s.Key, Payer: s.Payer, From: s.From, Phone: s.Phone, Amount: ledger.NewMoney(s.Fen, ledger.MustCurrency("CNY"))}
			receipts, errs := ledgertest.Concurrently(arg.Copies, func(int) (transfer.Receipt, error) { return svc.Send(ctx, req) })
			for j := range receipts {
				if errs[j] != nil {
					res.Answers[i] = append(res.Answers[i], "error: "+errs[j].Error())
				} else {
					res.Answers[i] = append(res.Answers[i], fmt.Sprintf("%s %s", receipts[j].ID, receipts[j].State))
				}
			}
		})
	}
	wg.Wait()
	return res, nil
}

// Two processes retry the same phone Sends with one idempotency key at
// once, two calls in each, every payer's balance equal to the amount:
// every call answers with the one settled receipt (none with the
// insufficient funds the first caused, nor a failure), each payer pays
// once, and the records agree with the ledger.
func TestTwoProcessPhoneSendRetries(t *testing.T) {
	ctx := context.Background()
	db := freshDB(t)
	svc, err := phoneService(db, nil)
	if err != nil {
		t.Fatal(err)
	}
	l := ledger.New(NewLedgerStore(db), ledger.Options{})
	cny := ledger.MustCurrency("CNY")
	account := func(flags ledger.AccountFlags) uuid.UUID {
		a, err := l.CreateAccount(ctx, ledger.Account{ID: uuid.New(), Currency: cny, Flags: flags})
		if err != nil {
			t.Fatal(err)
		}
		return a.ID
	}
	bank := account(0)
	n := ledgertest.RaceIterations(t, 60)
	arg := phoneSendArg{Schema: db.Schema(), Copies: 2}
	var payees []uuid.UUID
	for i := range n {
		from, to := account(ledger.DebitsMustNotExceedCredits), account(ledger.DebitsMustNotExceedCredits)
		if _, err := l.Transfer(ctx, ledger.Transfer{ID: uuid.New(), DebitAccountID: bank, CreditAccountID: from, Amount: ledger.NewMoney(100, cny)}); err != nil {
			t.Fatal(err)
		}
		phone := fmt.Sprintf("137%08d", 10_000_000+i)
		if _, err := svc.Bind(ctx, transfer.BindRequest{Phone: phone, Holder: uid(fmt.Sprintf("payee-%d", i)), Account: to, Name: "王小明", VerifiedAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
		payees = append(payees, to)
		arg.Sends = append(arg.Sends, phoneSend{Key: fmt.Sprintf("key-%d", i), Payer: uid(fmt.Sprintf("payer-%d", i)), From: from, Phone: phone, Fen: 100})
	}
	results := runWorkers[phoneSendResult](t, "phone-send-retries", 2, arg)
	wrong := 0
	for i, s := range arg.Sends {
		id := svc.RecordID(s.Payer, s.Key)
		want := fmt.Sprintf("%s %s", id, transfer.StateSettled)
		for w, r := range results {
			for _, a := range r.Answers[i] {
				if a != want {
					if wrong++; wrong <= 5 {
						t.Errorf("send %d, worker %d: %s, want %s", i, w, a, want)
					}
				}
			}
		}
		from, err := l.Account(ctx, s.From)
		if err != nil {
			t.Fatal(err)
		}
		to, err := l.Account(ctx, payees[i])
		if err != nil {
			t.Fatal(err)
		}
		rec, err := svc.Store().Get(ctx, id)
		if err != nil || rec.State != transfer.StateSettled || from.Balance.Net() != 0 || to.Balance.Net() != 100 {
			t.Fatalf("send %d: record %v (%v); payer %+v, payee %+v", i, rec.State, err, from.Balance, to.Balance)
		}
	}
	if wrong > 0 {
		t.Fatalf("%d of %d calls got another answer than the settled receipt", wrong, 2*arg.Copies*n)
	}
	if _, err := svc.Check(ctx, time.Time{}, time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Verify(ctx); err != nil {
		t.Fatal(err)
	}
}
