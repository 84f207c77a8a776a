package main

import (
	"errors"
	"fmt"
	"net/http/httptest"

	"github.com/socialpay/socialpay/ledger"
	"github.com/socialpay/socialpay/redpacket"
	"github.com/socialpay/socialpay/transfer"
)

// A library error becomes a problem's code and status in one place.
func Example_classify() {
	for _, err := range []error{
		fmt.Errorf("claim: %w", redpacket.ErrSoldOut),
		fmt.Errorf("send: %w", ledger.ErrInsufficientFunds),
		fmt.Errorf("resolve: %w", &transfer.RateLimitError{Scope: transfer.ScopePayer}),
		errKeyRequired,
		errUnauthenticated,
		errors.New("a bug"),
	} {
		code, status := classify(err)
		fmt.Println(status, code)
	}
	// Output:
	// 409 sold_out
	// 409 insufficient_funds
	// 429 rate_limited
	// 400 idempotency_key_required
	// 401 unauthenticated
	// 500 internal
}

// The demo's Authenticator: a bearer token names a user, whose ID is
// derived from the handle so that every instance agrees.
func ExampleBearerTokens() {
	auth := NewBearerTokens(map[string]string{"s3cret-token": "alice"})
	r := httptest.NewRequest("GET", "/v1/me", nil)
	r.Header.Set("Authorization", "Bearer s3cret-token")
	p, err := auth.Authenticate(r)
	fmt.Println(p.Handle, p.User == userID("alice"), err)
	r.Header.Set("Authorization", "Bearer guess")
	_, err = auth.Authenticate(r)
	fmt.Println(err)
	// Output:
	// alice true <nil>
	// bankd: missing or unknown bearer token
}
