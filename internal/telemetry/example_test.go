package telemetry_test

import (
	"errors"
	"fmt"

	"github.com/socialpay/socialpay/internal/telemetry"
	"github.com/socialpay/socialpay/ledger"
)

// An operation's outcome attribute is "ok" or its error's code: a fixed
// set of words, never the error's message (which may name a customer).
func ExampleOutcome() {
	fmt.Println(telemetry.Outcome(nil))
	fmt.Println(telemetry.Outcome(fmt.Errorf("transfer 0 (…): %w", ledger.ErrInsufficientFunds)))
	fmt.Println(telemetry.Outcome(errors.New("a store's own failure")))
	// Output:
	// ok
	// insufficient_funds
	// internal
}
