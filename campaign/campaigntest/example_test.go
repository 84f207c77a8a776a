package campaigntest_test

import (
	"fmt"

	"github.com/socialpay/socialpay/campaign"
	"github.com/socialpay/socialpay/campaign/campaigntest"
	"github.com/socialpay/socialpay/ledger"
)

// A store's test runs the whole suite with one line, then the rate limits
// with the limiter its Services share:
//
//	func TestMyStore(t *testing.T) {
//		campaigntest.Run(t, func(testing.TB) campaigntest.Env { return env }, campaigntest.Options{})
//		campaigntest.RunLimits(t, campaigntest.LimitsConfig{Ledger: env.Ledger, Store: env.Store, Limiter: lim})
//	}
//
// The Env says whether winning tries are paid in the store's own step.
func ExampleEnv() {
	ls := ledger.NewMemoryStore()
	paying := campaigntest.Env{Store: campaign.NewMemoryStore(ledger.New(ls, ledger.Options{})), Ledger: ls}
	recording := campaigntest.Env{Store: campaign.NewMemoryStore(nil), Ledger: ls}
	fmt.Println(paying.Store.PaysOn(paying.Ledger), recording.Store.PaysOn(recording.Ledger))
	fmt.Println(paying.Store.LimitsOn(campaign.NewMemoryLimiter()))
	// Output:
	// true false
	// false
}
