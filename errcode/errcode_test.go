package errcode_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/socialpay/socialpay/errcode"
	"github.com/socialpay/socialpay/ledger"
)

var allClasses = []struct {
	class     errcode.Class
	word      string
	status    int
	retryable bool
}{
	{errcode.Internal, "internal", http.StatusInternalServerError, false},
	{errcode.Invalid, "invalid", http.StatusBadRequest, false},
	{errcode.NotFound, "not_found", http.StatusNotFound, false},
	{errcode.Forbidden, "forbidden", http.StatusForbidden, false},
	{errcode.Conflict, "conflict", http.StatusConflict, false},
	{errcode.RateLimited, "rate_limited", http.StatusTooManyRequests, true},
	{errcode.Unavailable, "unavailable", http.StatusServiceUnavailable, true},
}

func TestClass(t *testing.T) {
	for _, c := range allClasses {
		if got := c.class.String(); got != c.word {
			t.Errorf("Class(%d).String() = %q, want %q", c.class, got, c.word)
		}
		if got := c.class.HTTPStatus(); got != c.status {
			t.Errorf("%v.HTTPStatus() = %d, want %d", c.class, got, c.status)
		}
		if got := c.class.Retryable(); got != c.retryable {
			t.Errorf("%v.Retryable() = %v, want %v", c.class, got, c.retryable)
		}
		text, err := c.class.MarshalText()
		if err != nil || string(text) != c.word {
			t.Errorf("%v.MarshalText() = %q, %v, want %q", c.class, text, err, c.word)
		}
		var back errcode.Class
		if err := back.UnmarshalText(text); err != nil || back != c.class {
			t.Errorf("UnmarshalText(%q) = %v, %v, want %v", text, back, err, c.class)
		}
	}
	unknown := errcode.Class(len(allClasses))
	if got := unknown.String(); got != fmt.Sprintf("Class(%d)", len(allClasses)) {
		t.Errorf("unknown class String() = %q", got)
	}
	if got := unknown.HTTPStatus(); got != http.StatusInternalServerError {
		t.Errorf("unknown class HTTPStatus() = %d, want 500", got)
	}
	if unknown.Retryable() {
		t.Error("unknown class is retryable")
	}
	if _, err := unknown.MarshalText(); err == nil {
		t.Error("MarshalText of an unknown class: no error")
	}
	var c errcode.Class
	for _, text := range []string{"", "Invalid", "bad_request", strings.Repeat("x", 1000)} {
		if err := c.UnmarshalText([]byte(text)); err == nil {
			t.Errorf("UnmarshalText(%.40q): no error", text)
		} else if len(err.Error()) > 100 {
			t.Errorf("UnmarshalText(%.40q): error of %d bytes", text, len(err.Error()))
		}
	}
}

func TestNew(t *testing.T) {
	e := errcode.New("sold_out", errcode.Conflict, "redpacket: packet sold out")
	if e.Code() != "sold_out" || e.Class() != errcode.Conflict || e.Error() != "redpacket: packet sold out" {
		t.Errorf("New = %q %v %q", e.Code(), e.Class(), e.Error())
	}
	// Identity, not content, makes two sentinels the same error.
	twin := errcode.New("sold_out", errcode.Conflict, "redpacket: packet sold out")
	if errors.Is(fmt.Errorf("claim: %w", e), twin) {
		t.Error("errors.Is matched a different sentinel with the same content")
	}
	if !errors.Is(fmt.Errorf("claim: %w", e), e) {
		t.Error("errors.Is did not match the wrapped sentinel")
	}
	for _, code := range []string{"a", "sold_out", "over_2h", "e164"} {
		errcode.New(code, errcode.Invalid, "m")
	}
	for _, code := range []string{"", "Sold_out", "sold-out", "_sold", "sold_", "sold__out", "2fa", "sold out", "soldé"} {
		if !panics(func() { errcode.New(code, errcode.Invalid, "m") }) {
			t.Errorf("New(%q) did not panic", code)
		}
	}
	if !panics(func() { errcode.New("fine", errcode.Class(len(allClasses)), "m") }) {
		t.Error("New with an unknown class did not panic")
	}
}

// Lookup turns a code back into the first sentinel made with it: a
// package's, initialized before this test's own sentinel with the same
// code, and not replaced by a later one.
func TestLookup(t *testing.T) {
	if e, ok := errcode.Lookup("insufficient_funds"); !ok || e != ledger.ErrInsufficientFunds {
		t.Errorf("Lookup(insufficient_funds) = %v, %v; want ledger.ErrInsufficientFunds (not %v)", e, ok, errNoFunds)
	}
	first := errcode.New("lookup_first", errcode.Conflict, "test: first")
	errcode.New("lookup_first", errcode.Conflict, "test: second")
	if e, ok := errcode.Lookup("lookup_first"); !ok || e != first {
		t.Errorf("Lookup(lookup_first) = %v, %v; want the first sentinel", e, ok)
	}
	reason, _ := errcode.Lookup("insufficient_funds")
	err := errcode.Because(errAborted, reason)
	if code, class := errcode.Of(err); code != "insufficient_funds" || class != errcode.Conflict || !errors.Is(err, ledger.ErrInsufficientFunds) {
		t.Errorf("Of(Because(outcome, looked up)) = %q %v, errors.Is %v", code, class, errors.Is(err, ledger.ErrInsufficientFunds))
	}
	for _, code := range []string{"", "no_sentinel_has_this", "Insufficient_funds"} {
		if e, ok := errcode.Lookup(code); ok || e != nil {
			t.Errorf("Lookup(%q) = %v, %v; want none", code, e, ok)
		}
	}
}

func panics(f func()) (p bool) {
	defer func() { p = recover() != nil }()
	f()
	return false
}

var (
	errSoldOut  = errcode.New("sold_out", errcode.Conflict, "test: sold out")
	errNoFunds  = errcode.New("insufficient_funds", errcode.Conflict, "test: insufficient funds")
	errPending  = errcode.New("payment_pending", errcode.Unavailable, "test: payment pending")
	errNotFound = errcode.New("packet_not_found", errcode.NotFound, "test: packet not found")
	errAborted  = errcode.New("payment_aborted", errcode.Conflict, "test: payment aborted")
)

// wrapper is a wrapper type of the kind the features have (ledger.TransferError).
type wrapper struct{ err error }

func (w *wrapper) Error() string { return "where: " + w.err.Error() }
func (w *wrapper) Unwrap() error { return w.err }

type timeout struct{ yes bool }

func (t timeout) Error() string { return "i/o" }
func (t timeout) Timeout() bool { return t.yes }

func TestOf(t *testing.T) {
	for _, c := range []struct {
		name  string
		err   error
		code  string
		class errcode.Class
	}{
		{"nil", nil, "", errcode.Internal},
		{"sentinel", errSoldOut, "sold_out", errcode.Conflict},
		{"fmt %w", fmt.Errorf("claim packet 7: %w", errSoldOut), "sold_out", errcode.Conflict},
		{"fmt %w twice", fmt.Errorf("a: %w", fmt.Errorf("b: %w", errNotFound)), "packet_not_found", errcode.NotFound},
		{"wrapper type", &wrapper{fmt.Errorf("x: %w", errNoFunds)}, "insufficient_funds", errcode.Conflict},
		{"errors.Join", errors.Join(errors.New("plain"), errNoFunds), "insufficient_funds", errcode.Conflict},
		{"join of wrapped", errors.Join(fmt.Errorf("x"), &wrapper{errSoldOut}), "sold_out", errcode.Conflict},
		{"outermost wins", fmt.Errorf("%w: %w", errPending, errNoFunds), "payment_pending", errcode.Unavailable},
		{"outermost wins through a wrapper", &wrapper{fmt.Errorf("%w: %w", errPending, &wrapper{errNoFunds})}, "payment_pending", errcode.Unavailable},
		{"Because: the reason", errcode.Because(errAborted, &wrapper{errNoFunds}), "insufficient_funds", errcode.Conflict},
		{"Because: the outcome when the reason has no code", errcode.Because(errAborted, errors.New("plain")), "payment_aborted", errcode.Conflict},
		{"Because: nil reason", errcode.Because(errAborted, nil), "payment_aborted", errcode.Conflict},
		{"a code beats a context error", fmt.Errorf("%w: %w", context.Canceled, errSoldOut), "sold_out", errcode.Conflict},
		{"deadline", context.DeadlineExceeded, "timeout", errcode.Unavailable},
		{"wrapped deadline", fmt.Errorf("postgres: claim: %w", context.DeadlineExceeded), "timeout", errcode.Unavailable},
		{"context.Cause of a deadline", context.Cause(expired()), "timeout", errcode.Unavailable},
		{"canceled", fmt.Errorf("x: %w", context.Canceled), "canceled", errcode.Unavailable},
		{"os deadline", fmt.Errorf("read: %w", os.ErrDeadlineExceeded), "timeout", errcode.Unavailable},
		{"timeout method", &wrapper{timeout{yes: true}}, "timeout", errcode.Unavailable},
		{"not a timeout", &wrapper{timeout{yes: false}}, "internal", errcode.Internal},
		{"serialization failure", fmt.Errorf("x: %w", &pgconn.PgError{Code: "40001"}), "unavailable", errcode.Unavailable},
		{"deadlock", &pgconn.PgError{Code: "40P01"}, "unavailable", errcode.Unavailable},
		{"connection exception", &pgconn.PgError{Code: "08006"}, "unavailable", errcode.Unavailable},
		{"too many connections", &pgconn.PgError{Code: "53300"}, "unavailable", errcode.Unavailable},
		{"admin shutdown", &pgconn.PgError{Code: "57P01"}, "unavailable", errcode.Unavailable},
		{"statement timeout", &pgconn.PgError{Code: "57014"}, "unavailable", errcode.Unavailable},
		{"unique violation", &pgconn.PgError{Code: "23505"}, "internal", errcode.Internal},
		{"syntax error", &pgconn.PgError{Code: "42601"}, "internal", errcode.Internal},
		{"plain", errors.New("boom"), "internal", errcode.Internal},
		{"wrapped plain", &wrapper{errors.New("boom")}, "internal", errcode.Internal},
	} {
		code, class := errcode.Of(c.err)
		if code != c.code || class != c.class {
			t.Errorf("%s: Of(%v) = %q, %v; want %q, %v", c.name, c.err, code, class, c.code, c.class)
		}
	}
}

func expired() context.Context {
	ctx, cancel := context.WithDeadline(context.Background(), time.Unix(0, 0))
	defer cancel()
	<-ctx.Done()
	return ctx
}

func TestBecause(t *testing.T) {
	err := fmt.Errorf("send packet 7: %w", errcode.Because(errAborted, &wrapper{errNoFunds}))
	if want := "send packet 7: test: payment aborted: where: test: insufficient funds"; err.Error() != want {
		t.Errorf("message %q, want %q", err, want)
	}
	if !errors.Is(err, errAborted) || !errors.Is(err, errNoFunds) {
		t.Error("errors.Is does not match both the outcome and the reason")
	}
	if got := errcode.Because(errAborted, nil); got != error(errAborted) {
		t.Errorf("Because with no reason = %v, want the outcome", got)
	}
}

func TestTransient(t *testing.T) {
	for _, s := range []string{"08000", "08003", "08006", "08P01", "40001", "40P01", "53000", "53100", "53200", "53300", "55P03", "57014", "57P01", "57P02", "57P03", "57P05"} {
		if !errcode.Transient(s) {
			t.Errorf("Transient(%q) = false", s)
		}
	}
	for _, s := range []string{"", "08", "0800", "080000", "23505", "23503", "40002", "42P01", "57P04", "P0001", "SP001", "XX000"} {
		if errcode.Transient(s) {
			t.Errorf("Transient(%q) = true", s)
		}
	}
}
