package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/internal/proctest"
	"github.com/socialpay/socialpay/ledger"
	"github.com/socialpay/socialpay/ledger/ledgertest"
	"github.com/socialpay/socialpay/qr"
)

// qrWorkers are the qr store's worker processes (see multiproc_test.go).
var qrWorkers = map[string]proctest.Worker{"qr-exactly-once": qrExactlyOnceWorker}

// The keys every process of the QR test shares, as the instances of one
// service do.
var (
	qrProcSecret  = []byte("two-process QR test HMAC secret.")
	qrProcPermKey = []byte("two-process QR test permutation.")
	qrProcKEK     = []byte("two-process QR test wrapping key")
)

// qrProcService builds, in a test or a worker process, the QR service on
// db with the shared keys and a directory of payees.
func qrProcService(db *DB, payees map[string]uuid.UUID) (*qr.Service, *ledger.Ledger, *qr.PaymentCodes, error) {
	l := ledger.New(NewLedgerStore(db), ledger.Options{})
	signer, err := qr.NewHMACSigner("k", qrProcSecret)
	if err != nil {
		return nil, nil, nil, err
	}
	keys, err := qr.NewKeys(qr.Key{ID: "k", HMAC: qrProcSecret})
	if err != nil {
		return nil, nil, nil, err
	}
	receive, err := qr.NewReceiveCodes(qr.ReceiveConfig{Signer: signer, Keys: keys})
	if err != nil {
		return nil, nil, nil, err
	}
	codes, err := qr.NewPaymentCodes(qr.PaymentCodeConfig{Prefix: "28", Key: qrProcPermKey})
	if err != nil {
		return nil, nil, nil, err
	}
	kek, err := qr.NewLocalKeyWrapper(qrProcKEK, nil)
	if err != nil {
		return nil, nil, nil, err
	}
	dir := &qr.MemoryDirectory{}
	for alias, account := range payees {
		if err := dir.Put(qr.Payee{Alias: alias, Account: account, Name: "Shop " + alias}); err != nil {
			return nil, nil, nil, err
		}
	}
	svc, err := qr.New(qr.Config{Ledger: l, Store: NewQRStore(db), Directory: dir, Receive: receive, PaymentCodes: codes, DeviceKeys: kek})
	return svc, l, codes, err
}

// qrProcArg is what each worker of the QR test does: charge every payment
// code as its own merchant (Merchants[process]) and pay every receive
// code as its payer under one key, Copies identical calls at once each.
type qrProcArg struct {
	Schema    string
	Payees    map[string]uuid.UUID
	Merchants []uuid.UUID // one per process
	Charges   []qrProcCharge
	Pays      []qrProcPay
	Copies    int
	Process   int // set per worker by the test
}

type qrProcCharge struct {
	Code  string
	Fen   int64
	Order string
}

type qrProcPay struct {
	User    uuid.UUID
	Payer   uuid.UUID // the account paid from
	Payload string
}

// qrOutcome is one call's answer: the ledger transfer of a success, or
// the error (Replay when it is qr.ErrReplay, the documented lost race).
type qrOutcome struct {
	Transfer uuid.UUID
	At       int64 // Unix nanoseconds of the receipt
	Replay   bool
	Err      string
}

type qrProcResult struct {
	Charges [][]qrOutcome // per charge, one per copy
	Pays    [][]qrOutcome
}

func qrExactlyOnceWorker(ctx context.Context, raw json.RawMessage, ready func()) (any, error) {
	var arg qrProcArg
	if err := json.Unmarshal(raw, &arg); err != nil {
		return nil, err
	}
	db, err := workerDB(ctx, arg.Schema)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	svc, _, _, err := qrProcService(db, arg.Payees)
	if err != nil {
		return nil, err
	}
	res := qrProcResult{Charges: make([][]qrOutcome, len(arg.Charges)), Pays: make([][]qrOutcome, len(arg.Pays))}
	merchant := arg.Merchants[arg.Process]
	ready()
	var wg sync.WaitGroup
	jobs := make(chan func())
	for range 4 {
		wg.Go(func() {
			for job := range jobs {
				job()
			}
		})
	}
	for i, c := range arg.Charges {
		jobs <- func() {
			rs, errs := ledgertest.Concurrently(arg.Copies, func(int) (qr.ChargeReceipt, error) {
				return svc.Charge(ctx, qr.ChargeRequest{Merchant: merchant, Code: c.Code, Amount: ledger.NewMoney(c.Fen, ledger.MustCurrency("CNY")), Order: c.Order})
			})
			for k := range rs {
				res.Charges[i] = append(res.Charges[i], outcome(rs[k].Transfer, rs[k].At, errs[k]))
			}
		}
		if i < len(arg.Pays) {
			p := arg.Pays[i]
			jobs <- func() {
				rs, errs := ledgertest.Concurrently(arg.Copies, func(int) (qr.Receipt, error) {
					return svc.Pay(ctx, qr.PayRequest{User: p.User, From: p.Payer, Payload: p.Payload, Key: "k"})
				})
				for k := range rs {
					res.Pays[i] = append(res.Pays[i], outcome(rs[k].Transfer, rs[k].At, errs[k]))
				}
			}
		}
	}
	close(jobs)
	wg.Wait()
	return res, nil
}

func outcome(transfer uuid.UUID, at time.Time, err error) qrOutcome {
	if err != nil {
		return qrOutcome{Replay: errors.Is(err, qr.ErrReplay), Err: err.Error()}
	}
	return qrOutcome{Transfer: transfer, At: at.UnixNano()}
}

// Two processes charge the same payment codes at once, each as its own
// merchant and each call made twice at once, from payers whose balance is
// exactly the amount, and pay the same dynamic codes for the same payers
// under one key. Every code is charged once: one merchant's calls all get
// the one charge, the other's all get qr.ErrReplay; every Pay call gets
// the one receipt; the ledger and the records agree.
func TestTwoProcessQRExactlyOnce(t *testing.T) {
	db := freshDB(t)
	ctx := context.Background()
	cny := ledger.MustCurrency("CNY")
	n := ledgertest.RaceIterations(t, 60)
	arg := qrProcArg{Schema: db.Schema(), Payees: map[string]uuid.UUID{}, Copies: 2}
	l := ledger.New(NewLedgerStore(db), ledger.Options{})
	bank, err := l.CreateAccount(ctx, ledger.Account{ID: uuid.New(), Currency: cny})
	if err != nil {
		t.Fatal(err)
	}
	wallet := func(fen int64) uuid.UUID {
		t.Helper()
		a, err := l.CreateAccount(ctx, ledger.Account{ID: uuid.New(), Currency: cny, Flags: ledger.DebitsMustNotExceedCredits})
		if err != nil {
			t.Fatal(err)
		}
		if fen > 0 {
			if _, err := l.Transfer(ctx, ledger.Transfer{ID: uuid.New(), DebitAccountID: bank.ID, CreditAccountID: a.ID, Amount: ledger.NewMoney(fen, cny)}); err != nil {
				t.Fatal(err)
			}
		}
		return a.ID
	}
	shop := wallet(0)
	arg.Payees["shop"] = shop
	arg.Merchants = []uuid.UUID{wallet(0), wallet(0)}
	svc, _, codes, err := qrProcService(db, arg.Payees)
	if err != nil {
		t.Fatal(err)
	}
	var chargePayers, payPayers []uuid.UUID
	for i := range n {
		payer := wallet(1_00)
		d, err := svc.RegisterDevice(ctx, fmt.Sprint("phone-", i), payer)
		if err != nil {
			t.Fatal(err)
		}
		code, err := codes.Generate(d, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		arg.Charges = append(arg.Charges, qrProcCharge{Code: code, Fen: 1_00, Order: fmt.Sprint("order-", i)})
		chargePayers = append(chargePayers, payer)

		payer = wallet(2_00)
		payload, err := svc.Issue(ctx, qr.ReceiveCode{Payee: "shop", Initiation: qr.Dynamic, Amount: ledger.NewMoney(2_00, cny),
			Reference: fmt.Sprint("R", i), Expires: time.Now().Add(time.Hour), City: "C"})
		if err != nil {
			t.Fatal(err)
		}
		arg.Pays = append(arg.Pays, qrProcPay{User: uuid.New(), Payer: payer, Payload: payload})
		payPayers = append(payPayers, payer)
	}
	args := make([]any, 2)
	for p := range args {
		a := arg
		a.Process = p
		args[p] = a
	}
	raw, err := proctest.Run("qr-exactly-once", args...)
	if err != nil {
		t.Fatal(err)
	}
	results := make([]qrProcResult, len(raw))
	for p, r := range raw {
		if err := r.Decode(&results[p]); err != nil {
			t.Fatalf("worker %d: %v", p, err)
		}
	}

	wrong := 0
	report := func(format string, a ...any) {
		t.Helper()
		if wrong++; wrong <= 10 {
			t.Errorf(format, a...)
		}
	}
	var won [2]int64
	for i := range arg.Charges {
		winner := -1
		for p := range results {
			for _, o := range results[p].Charges[i] {
				switch {
				case o.Err == "" && (winner == -1 || winner == p):
					winner = p
				case o.Err == "":
					report("charge %d: both merchants charged the code", i)
				case !o.Replay:
					report("charge %d, process %d: %s", i, p, o.Err)
				}
			}
		}
		if winner == -1 {
			report("charge %d: no merchant charged the code", i)
			continue
		}
		won[winner]++
		first := results[winner].Charges[i][0]
		for _, o := range results[winner].Charges[i] {
			if o != first {
				report("charge %d: the winner's calls answered %+v and %+v", i, first, o)
			}
		}
		for p := range results {
			if p != winner {
				for _, o := range results[p].Charges[i] {
					if !o.Replay {
						report("charge %d: the losing merchant got %+v, want ErrReplay", i, o)
					}
				}
			}
		}
	}
	for i := range arg.Pays {
		first := results[0].Pays[i][0]
		for p := range results {
			for _, o := range results[p].Pays[i] {
				if o.Err != "" || o != first {
					report("pay %d, process %d: %+v, call 0 of process 0: %+v", i, p, o, first)
				}
			}
		}
	}
	for i, payer := range append(chargePayers, payPayers...) {
		a, err := l.Account(ctx, payer)
		if err != nil || a.Balance.Net() != 0 || a.Balance.DebitsPending != 0 {
			report("payer %d: %+v %v", i, a.Balance, err)
		}
	}
	for p, m := range arg.Merchants {
		if a, err := l.Account(ctx, m); err != nil || a.Balance.Net() != won[p]*1_00 {
			report("merchant %d: %+v %v, won %d", p, a.Balance, err, won[p])
		}
	}
	if a, err := l.Account(ctx, shop); err != nil || a.Balance.Net() != int64(n)*2_00 {
		report("shop: %+v %v", a.Balance, err)
	}
	if _, err := l.Verify(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Check(ctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d codes charged and %d receive codes paid from 2 processes × %d calls: %d problems; merchants won %v",
		n, n, arg.Copies, wrong, won)
}
