package ledger_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/ledger"
)

// roundTrip encodes v, checks the JSON holds want, decodes it into a new
// T and returns it.
func roundTrip[T any](t *testing.T, v T, want ...string) T {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("%#v: %v", v, err)
	}
	for _, w := range want {
		if !strings.Contains(string(b), w) {
			t.Errorf("%s lacks %s", b, w)
		}
	}
	var out T
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	return out
}

// Every value of every exported enum encodes as its word and decodes back;
// a word that is none of them is ErrInvalidValue.
func TestEnumsAsWords(t *testing.T) {
	check := func(name string, n int, enc func(i int) (string, bool)) {
		t.Helper()
		for i := range n {
			word, same := enc(i)
			if !same || word == "unknown" || word == "" {
				t.Errorf("%s %d: %q, round trip %v", name, i, word, same)
			}
		}
	}
	check("transfer kind", int(ledger.KindReversal)+1, func(i int) (string, bool) {
		v := ledger.TransferKind(i)
		return v.String(), roundTrip(t, v, `"`+v.String()+`"`) == v
	})
	check("transfer status", int(ledger.StatusExpired)+1, func(i int) (string, bool) {
		v := ledger.TransferStatus(i)
		return v.String(), roundTrip(t, v, `"`+v.String()+`"`) == v
	})
	check("account status", int(ledger.AccountClosed)+1, func(i int) (string, bool) {
		v := ledger.AccountStatus(i)
		return v.String(), roundTrip(t, v, `"`+v.String()+`"`) == v
	})
	check("entry kind", int(ledger.EntryClose), func(i int) (string, bool) {
		v := ledger.EntryKind(i + 1)
		return v.String(), roundTrip(t, v, `"`+v.String()+`"`) == v
	})
	check("side", int(ledger.SideCredit)+1, func(i int) (string, bool) {
		v := ledger.Side(i)
		return v.String(), roundTrip(t, v, `"`+v.String()+`"`) == v
	})
	for _, f := range []ledger.AccountFlags{0, ledger.DebitsMustNotExceedCredits, ledger.CreditsMustNotExceedDebits,
		ledger.DebitsMustNotExceedCredits | ledger.CreditsMustNotExceedDebits} {
		if got := roundTrip(t, f); got != f {
			t.Errorf("flags %v came back %v", f, got)
		}
	}
	for _, bad := range []string{`"sideways"`, `"Pending"`, `3`, `"` + strings.Repeat("x", 1000) + `"`} {
		var k ledger.TransferKind
		if err := json.Unmarshal([]byte(bad), &k); err == nil || (bad[0] == '"' && !errors.Is(err, ledger.ErrInvalidValue)) {
			t.Errorf("transfer kind %.40s: %v", bad, err)
		}
	}
	// A value with no word does not encode (it could not decode back).
	for _, v := range []any{ledger.EntryKind(0), ledger.TransferKind(9), ledger.TransferStatus(9), ledger.AccountStatus(9), ledger.Side(9)} {
		if b, err := json.Marshal(v); !errors.Is(err, ledger.ErrInvalidValue) {
			t.Errorf("%T(%v) encoded as %s: %v", v, v, b, err)
		}
	}
	var f ledger.AccountFlags
	if err := json.Unmarshal([]byte(`["overdraft"]`), &f); !errors.Is(err, ledger.ErrInvalidValue) {
		t.Errorf("unknown flag: %v", err)
	}
}

// Accounts, transfers, entries, anchors and Verify's report read as people
// read them and decode back to the same values.
func TestStructsAsJSON(t *testing.T) {
	cny := ledger.MustCurrency("CNY")
	at := time.Date(2027, 2, 5, 20, 0, 0, 0, time.UTC)
	a := ledger.Account{ID: uuid.New(), Currency: cny, Flags: ledger.DebitsMustNotExceedCredits, Status: ledger.AccountFrozen,
		CreatedAt: at, Balance: ledger.Balance{CreditsPosted: 8888}}
	if got := roundTrip(t, a, `"currency":"CNY"`, `"flags":["debits_must_not_exceed_credits"]`, `"status":"frozen"`,
		`"credits_posted":8888`); got.ID != a.ID || got.Currency != cny || got.Flags != a.Flags || got.Balance != a.Balance || !got.CreatedAt.Equal(at) {
		t.Errorf("account came back %+v", got)
	}
	tr := ledger.Transfer{ID: uuid.New(), Kind: ledger.KindPending, DebitAccountID: a.ID, CreditAccountID: uuid.New(),
		Amount: ledger.NewMoney(8888, cny), Timeout: time.Hour, Timestamp: at, Status: ledger.StatusPending}
	got := roundTrip(t, tr, `"kind":"pending"`, `"status":"pending"`, `"amount":{"amount":"88.88","currency":"CNY"}`)
	if got.ID != tr.ID || got.Amount != tr.Amount || got.Timeout != tr.Timeout || got.Kind != tr.Kind || got.Status != tr.Status {
		t.Errorf("transfer came back %+v", got)
	}
	if b, _ := json.Marshal(tr); strings.Contains(string(b), "pending_id") || strings.Contains(string(b), "00000000-") {
		t.Errorf("zero IDs encoded: %s", b)
	}
	e := ledger.Entry{AccountID: a.ID, Seq: 3, Kind: ledger.EntryPost, Side: ledger.SideDebit, Time: at, Hash: ledger.GenesisHash(a.ID)}
	if got := roundTrip(t, e, `"kind":"post"`, `"side":"debit"`, `"hash":"`+e.Hash.String()+`"`); got.Hash != e.Hash || got.Kind != e.Kind {
		t.Errorf("entry came back %+v", got)
	}
	r := ledger.VerifyReport{Accounts: 2, Entries: 9, Currencies: []ledger.CurrencyTotals{{Currency: cny, Accounts: 2,
		DebitsPosted: ledger.Uint128{Hi: 1, Lo: 5}, CreditsPosted: ledger.Uint128{Lo: 592023}}}}
	if got := roundTrip(t, r, `"debits_posted":"18446744073709551621"`, `"credits_posted":"592023"`); got.Currencies[0] != r.Currencies[0] {
		t.Errorf("report came back %+v", got)
	}
	res, _ := json.Marshal(ledger.Result{Err: &ledger.TransferError{ID: tr.ID, Err: ledger.ErrInsufficientFunds}})
	if !strings.Contains(string(res), `"error":"`) || !strings.Contains(string(res), "insufficient funds") {
		t.Errorf("result with an error: %s", res)
	}
	var m ledger.Money
	if err := json.Unmarshal([]byte(`"10.00"`), &m); !errors.Is(err, ledger.ErrInvalidAmount) || strings.Contains(err.Error(), "moneyJSON") {
		t.Errorf("a bare amount: %v", err)
	}
	var u ledger.Uint128
	if err := json.Unmarshal([]byte(`"340282366920938463463374607431768211456"`), &u); !errors.Is(err, ledger.ErrInvalidValue) {
		t.Errorf("2^128: %v", err)
	}
}

// Any JSON that decodes into a transfer, an account or a report encodes
// back to a form that decodes to the same encoding again: no input
// panics, and what one decode accepts the next reads the same way.
func FuzzJSON(f *testing.F) {
	f.Add([]byte(`{"id":"7d444840-9dc0-11d1-b245-5ffdce74fad2","kind":"pending","amount":{"amount":"88.88","currency":"CNY"},"status":"pending","timeout_ns":3600000000000}`))
	f.Add([]byte(`{"currency":"JPY","flags":["debits_must_not_exceed_credits"],"status":"frozen","balance":{"credits_posted":5}}`))
	f.Add([]byte(`{"accounts":2,"currencies":[{"currency":"KWD","debits_posted":"18446744073709551621"}]}`))
	f.Add([]byte(`{"kind":"sideways","hash":"zz"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		check[ledger.Transfer](t, data)
		check[ledger.Account](t, data)
		check[ledger.VerifyReport](t, data)
		check[ledger.Entry](t, data)
	})
}

func check[T any](t *testing.T, data []byte) {
	var v T
	if json.Unmarshal(data, &v) != nil {
		return
	}
	b1, err := json.Marshal(v)
	if err != nil {
		return // a value decoded from JSON that cannot be encoded (a zero Money's currency…) is not this test's concern
	}
	var w T
	if err := json.Unmarshal(b1, &w); err != nil {
		t.Fatalf("%s decoded, encoded as %s, which does not decode: %v", data, b1, err)
	}
	if b2, _ := json.Marshal(w); string(b2) != string(b1) {
		t.Fatalf("%s: encodes as %s, then as %s", data, b1, b2)
	}
}
