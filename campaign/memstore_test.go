package campaign_test

import (
	"testing"

	"github.com/socialpay/socialpay/campaign"
	"github.com/socialpay/socialpay/campaign/campaigntest"
	"github.com/socialpay/socialpay/ledger"
)

// TestMemoryStore runs the suite on a MemoryStore that pays winning tries
// in its own step (given the ledger the race cases' services use).
func TestMemoryStore(t *testing.T) {
	campaigntest.Run(t, func(testing.TB) campaigntest.Env {
		ls := ledger.NewMemoryStore()
		return campaigntest.Env{Store: campaign.NewMemoryStore(ledger.New(ls, ledger.Options{})), Ledger: ls}
	}, campaigntest.Options{RaceIterations: 30})
}

// TestMemoryStoreRecordOnly runs the suite on a MemoryStore without a
// ledger: the services record a try, then pay it, then mark it paid.
func TestMemoryStoreRecordOnly(t *testing.T) {
	campaigntest.Run(t, func(testing.TB) campaigntest.Env {
		return campaigntest.Env{Store: campaign.NewMemoryStore(nil)}
	}, campaigntest.Options{RaceIterations: 30})
}

// TestMemoryLimits: the rate limits hold across two Services sharing a
// MemoryStore and a MemoryLimiter.
func TestMemoryLimits(t *testing.T) {
	campaigntest.RunLimits(t, campaigntest.LimitsConfig{})
}
