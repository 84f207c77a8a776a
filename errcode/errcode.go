// Package errcode gives every socialpay error a stable code and a class,
// so that a service maps errors to answers without lists of sentinels.
//
// Every sentinel error of the library is an *Error: a snake_case code
// ("insufficient_funds", "sold_out", "rate_limited"), a Class, and the
// message its Error method returns. Sentinels stay errors.Is-able by
// identity; packages wrap them with where they happened as before.
//
//	code, class := errcode.Of(err)
//	w.WriteHeader(class.HTTPStatus()) // and write code for the client
//
// Of returns the code and class of the first *Error in err's chain, in the
// order errors.As walks it: the outermost wins, so a wrapper that states the
// outcome ("payment pending") speaks before the reason it wraps, unless the
// package wrapped the outcome around its reason with Because. Errors
// without a code are classed by what they are: a context's deadline or
// cancellation, a timeout, and a database failure that a retry may not meet
// again (by SQLSTATE: serialization failure, deadlock, lost connection,
// shutdown) are Unavailable; anything else is ("internal", Internal).
//
// A code is stable: it names a meaning to a client, and sentinels of
// different packages with the same meaning share it (the ledger's, the
// points' and the red packets' idempotency conflicts are all
// "idempotency_conflict"). One code always has one class. The table of
// every code, its class and its sentinels is docs/errors.md, generated and
// checked by this package's tests.
package errcode

import (
	"context"
	"errors"
	"fmt"
	"sync"
)

// Class says whose fault an error is and whether to retry.
type Class uint8

// The classes. Invalid is wrong whatever the state; Conflict is refused by
// the state (another state, later or elsewhere, may accept it).
const (
	Internal    Class = iota // not the caller's fault, not known to be retryable (HTTP 500)
	Invalid                  // the request is malformed or out of bounds (400)
	NotFound                 // what the request names does not exist (404)
	Forbidden                // the caller may not do this: not a member, wrong password, someone else's (403)
	Conflict                 // the state refuses it: sold out, closed, already done differently, idempotency conflict (409)
	RateLimited              // try later (429)
	Unavailable              // transient: retry the same request with the same key (503)
)

// classes holds each class's word and HTTP status (literal numbers: a
// leaf package need not link net/http for seven constants).
var classes = [...]struct {
	name   string
	status int
}{
	Internal:    {"internal", 500},
	Invalid:     {"invalid", 400},
	NotFound:    {"not_found", 404},
	Forbidden:   {"forbidden", 403},
	Conflict:    {"conflict", 409},
	RateLimited: {"rate_limited", 429},
	Unavailable: {"unavailable", 503},
}

func (c Class) valid() bool { return int(c) < len(classes) }

// String returns the class's word: "internal", "invalid", "not_found",
// "forbidden", "conflict", "rate_limited", "unavailable".
func (c Class) String() string {
	if !c.valid() {
		return fmt.Sprintf("Class(%d)", uint8(c))
	}
	return classes[c].name
}

// HTTPStatus returns the HTTP status that answers an error of the class
// (500 for an unknown class).
func (c Class) HTTPStatus() int {
	if !c.valid() {
		return 500
	}
	return classes[c].status
}

// Retryable reports whether the same request may succeed later unchanged:
// RateLimited (after a wait) and Unavailable.
func (c Class) Retryable() bool { return c == RateLimited || c == Unavailable }

// MarshalText returns the class's word.
func (c Class) MarshalText() ([]byte, error) {
	if !c.valid() {
		return nil, fmt.Errorf("errcode: unknown class %d", uint8(c))
	}
	return []byte(classes[c].name), nil
}

// UnmarshalText sets c to the class whose word is text.
func (c *Class) UnmarshalText(text []byte) error {
	for i := range classes {
		if classes[i].name == string(text) {
			*c = Class(i)
			return nil
		}
	}
	if len(text) > 32 {
		text = append(text[:32:32], "…"...)
	}
	return fmt.Errorf("errcode: unknown class %q", text)
}

// Error is a sentinel error with a code and a class. Compare it by identity
// (errors.Is); read its code and class with Of, which also sees through
// wrapping.
type Error struct {
	code    string
	class   Class
	message string
}

// New returns a sentinel error. It panics if code is not snake_case
// (lower-case letters and digits in words joined by single underscores,
// starting with a letter) or class is not one of the classes: sentinels are
// package-level variables, so a mistake stops the program at start-up.
func New(code string, class Class, message string) *Error {
	if !snakeCase(code) {
		panic(fmt.Sprintf("errcode: code %q is not snake_case", code))
	}
	if !class.valid() {
		panic(fmt.Sprintf("errcode: code %q: unknown class %d", code, uint8(class)))
	}
	e := &Error{code: code, class: class, message: message}
	registry.Lock()
	if _, ok := registry.byCode[code]; !ok {
		registry.byCode[code] = e
	}
	registry.Unlock()
	return e
}

// registry holds the first sentinel New made with each code (Lookup).
var registry = struct {
	sync.RWMutex
	byCode map[string]*Error
}{byCode: map[string]*Error{}}

// Lookup returns the sentinel with the given code: the first New made,
// which for a code that several packages share is the one of the package
// initialized first (a package a program imports is initialized before
// the program's own). It lets a store keep an error as its code and a
// later process turn the code back into an error that errors.Is and Of
// read as before. It reports false for a code no sentinel of the program
// has (one a newer build wrote, say).
func Lookup(code string) (*Error, bool) {
	registry.RLock()
	defer registry.RUnlock()
	e, ok := registry.byCode[code]
	return e, ok
}

// snakeCase reports whether s is words of [a-z0-9] joined by single
// underscores, starting with a letter.
func snakeCase(s string) bool {
	if s == "" || s[0] < 'a' || s[0] > 'z' || s[len(s)-1] == '_' {
		return false
	}
	for i := 1; i < len(s); i++ {
		switch c := s[i]; {
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9':
		case c == '_' && s[i-1] != '_':
		default:
			return false
		}
	}
	return true
}

// Error returns the message.
func (e *Error) Error() string { return e.message }

// Code returns the code.
func (e *Error) Code() string { return e.code }

// Class returns the class.
func (e *Error) Class() Class { return e.class }

// Codes of errors that carry none (see Of).
const (
	codeInternal    = "internal"
	codeTimeout     = "timeout"
	codeCanceled    = "canceled"
	codeUnavailable = "unavailable"
)

// Of returns the code and class of the first *Error in err's chain (as
// errors.As walks it, through Unwrap() error and Unwrap() []error). An err
// without one is classed by what it is:
//
//   - a timeout (context.DeadlineExceeded, or any error with a Timeout
//     method that returns true, as network errors have): "timeout", Unavailable;
//   - context.Canceled: "canceled", Unavailable;
//   - a database error whose SQLState method names a transient failure
//     (Transient): "unavailable", Unavailable;
//   - anything else: "internal", Internal.
//
// Of(nil) is ("", Internal): there is no error to answer.
func Of(err error) (code string, class Class) {
	if err == nil {
		return "", Internal
	}
	if e, ok := errors.AsType[*Error](err); ok {
		return e.code, e.class
	}
	if t, ok := errors.AsType[timeoutError](err); ok && t.Timeout() {
		return codeTimeout, Unavailable
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return codeTimeout, Unavailable
	}
	if errors.Is(err, context.Canceled) {
		return codeCanceled, Unavailable
	}
	if s, ok := errors.AsType[sqlStateError](err); ok && Transient(s.SQLState()) {
		return codeUnavailable, Unavailable
	}
	return codeInternal, Internal
}

// timeoutError is an error that can say it is a timeout (net.Error, the
// os package's deadline error, context.DeadlineExceeded).
type timeoutError interface {
	error
	Timeout() bool
}

// sqlStateError is a database error with a SQLSTATE (pgconn.PgError).
type sqlStateError interface {
	error
	SQLState() string
}

// Transient reports whether a PostgreSQL SQLSTATE says the statement may
// succeed if run again: a connection exception (class 08), a serialization
// failure or deadlock (40001, 40P01), insufficient resources (class 53,
// such as too many connections), a lock not available (55P03), a
// cancelled statement or statement timeout (57014), and a server shutting
// down, starting or closing idle sessions (57P01, 57P02, 57P03, 57P05).
func Transient(sqlstate string) bool {
	if len(sqlstate) != 5 {
		return false
	}
	switch sqlstate[:2] {
	case "08", "53":
		return true
	}
	switch sqlstate {
	case "40001", "40P01", "55P03", "57014", "57P01", "57P02", "57P03", "57P05":
		return true
	}
	return false
}

// Because returns the error of an outcome caused by reason (a packet
// cancelled because the sender's payment was refused): it reads "outcome:
// reason", errors.Is matches both, and Of reports the reason's code and
// class when the reason has them, the outcome's otherwise — "insufficient
// funds" tells a client more than "packet cancelled" does. Because with
// a nil reason returns outcome.
func Because(outcome *Error, reason error) error {
	if reason == nil {
		return outcome
	}
	return &because{outcome: outcome, reason: reason}
}

type because struct {
	outcome *Error
	reason  error
}

func (e *because) Error() string { return e.outcome.message + ": " + e.reason.Error() }

// Unwrap returns the reason first, so that Of finds its code first.
func (e *because) Unwrap() []error { return []error{e.reason, e.outcome} }
