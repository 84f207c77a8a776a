// Package units writes amounts for error messages: in major units with
// their currency when the currency is known ("200.00 CNY"), else labelled
// as minor units ("20000 minor units") — never a bare count a reader could
// take for yuan.
package units

import (
	"strconv"

	"github.com/socialpay/socialpay/ledger"
)

// Format returns n minor units of c as a message shows them. A zero c
// (a pure function called without a currency) gives "n minor units" (or
// "1 minor unit").
func Format(n int64, c ledger.Currency) string {
	if c.IsZero() {
		if n == 1 || n == -1 {
			return strconv.FormatInt(n, 10) + " minor unit"
		}
		return strconv.FormatInt(n, 10) + " minor units"
	}
	return ledger.NewMoney(n, c).String()
}
