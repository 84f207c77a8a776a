package units_test

import (
	"fmt"

	"github.com/socialpay/socialpay/internal/units"
	"github.com/socialpay/socialpay/ledger"
)

func ExampleFormat() {
	fmt.Println(units.Format(20000, ledger.MustCurrency("CNY")))
	fmt.Println(units.Format(500, ledger.MustCurrency("JPY")))
	fmt.Println(units.Format(1500, ledger.MustCurrency("KWD")))
	fmt.Println(units.Format(-7, ledger.MustCurrency("CNY")))
	fmt.Println(units.Format(20000, ledger.Currency{}))
	fmt.Println(units.Format(1, ledger.Currency{}))
	// Output:
	// 200.00 CNY
	// 500 JPY
	// 1.500 KWD
	// -0.07 CNY
	// 20000 minor units
	// 1 minor unit
}
