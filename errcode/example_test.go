package errcode_test

import (
	"errors"
	"fmt"

	"github.com/socialpay/socialpay/errcode"
)

// A package declares its sentinels with New and wraps them as usual; a
// service answers any error with Of, without a list of sentinels.
func Example() {
	ErrSoldOut := errcode.New("sold_out", errcode.Conflict, "redpacket: packet sold out")
	ErrPaymentPending := errcode.New("payment_pending", errcode.Unavailable, "redpacket: claim recorded, payment pending")

	for _, err := range []error{
		fmt.Errorf("claim packet 7: %w", ErrSoldOut),
		fmt.Errorf("claim packet 7: %w: %w", ErrPaymentPending, errors.New("connection reset")),
		errors.New("disk on fire"),
	} {
		code, class := errcode.Of(err)
		fmt.Printf("%d %s (%s, retry: %v): %v\n", class.HTTPStatus(), code, class, class.Retryable(), err)
	}
	// Output:
	// 409 sold_out (conflict, retry: false): claim packet 7: redpacket: packet sold out
	// 503 payment_pending (unavailable, retry: true): claim packet 7: redpacket: claim recorded, payment pending: connection reset
	// 500 internal (internal, retry: false): disk on fire
}
