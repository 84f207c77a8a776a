package campaign_test

import (
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/campaign"
	"github.com/socialpay/socialpay/errcode"
	"github.com/socialpay/socialpay/ledger"
)

// A create refused by the rules gives amounts in major units of the
// prizes' currency, each fact once; tries answer with the codes a client
// acts on.
func TestErrorCodesAndMessages(t *testing.T) {
	w := newWorld(t, nil, func(c *campaign.Config) {
		c.UserRate = campaign.Rate{Burst: 1, Every: time.Minute}
	})
	m := w.account(1_000_000)
	req := func(prize int64, count int) campaign.CreateRequest {
		return campaign.CreateRequest{ID: uuid.New(), Name: "x", Marketing: m, OpensAt: t0, EndsAt: t0.Add(time.Hour), Caps: one,
			Prizes: []campaign.PrizeTier{{Prize: ledger.NewMoney(prize, cny), Count: count}}}
	}
	for _, c := range []struct {
		name string
		req  campaign.CreateRequest
		msg  string
	}{
		{"prize", req(1_000_001, 1), "campaign: invalid prize schedule: tier 0: prize 10000.01 CNY is more than 10000.00 CNY"},
		{"budget", req(1_000_000, 10_001), "campaign: invalid prize schedule: budget 100010000.00 CNY is more than 100000000.00 CNY"},
	} {
		_, err := w.s.Create(w.ctx, c.req)
		wantIs(t, c.name, err, campaign.ErrInvalidSchedule)
		if !strings.HasSuffix(err.Error(), c.msg) {
			t.Errorf("%s: message %q, want it to end with %q", c.name, err, c.msg)
		}
		if code, class := errcode.Of(err); code != "invalid_schedule" || class != errcode.Invalid {
			t.Errorf("%s: errcode.Of = %s, %v; want invalid_schedule, invalid", c.name, code, class)
		}
	}

	cp := w.create(campaign.Caps{TriesPerUser: 5, TriesPerDay: 5, WinsPerUser: 5}, 100, 5)
	w.set(t0)
	u, a := uuid.New(), w.account(0)
	if _, err := w.try(cp.ID, u, a, 1); err != nil {
		t.Fatal(err)
	}
	_, err := w.try(cp.ID, u, a, 2)
	wantIs(t, "second try in a minute", err, campaign.ErrRateLimited)
	if code, class := errcode.Of(err); code != "rate_limited" || class != errcode.RateLimited || !class.Retryable() {
		t.Errorf("rate limited: errcode.Of = %s, %v; want rate_limited, rate_limited", code, class)
	}
	_, err = w.try(uuid.New(), u, a, 1)
	wantIs(t, "unknown campaign", err, campaign.ErrCampaignNotFound)
	if code, class := errcode.Of(err); code != "campaign_not_found" || class != errcode.NotFound {
		t.Errorf("unknown campaign: errcode.Of = %s, %v; want campaign_not_found, not_found", code, class)
	}
}
