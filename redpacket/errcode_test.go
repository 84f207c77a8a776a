package redpacket_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/socialpay/socialpay/errcode"
	"github.com/socialpay/socialpay/ledger"
	"github.com/socialpay/socialpay/redpacket"
)

// A send refused by the rules says so in major units of the packet's
// currency, each fact once, and carries the rule's code.
func TestSendRefusalMessages(t *testing.T) {
	w := newWorld(t)
	sender := w.newUser(100000)
	w.users(3, 0)
	normal := func(each int64, count int) redpacket.SendRequest {
		req := w.lucky(sender, each, count)
		req.Kind = redpacket.Normal
		return req
	}
	for _, c := range []struct {
		name string
		req  redpacket.SendRequest
		want error
		msg  string
		code string
	}{
		{"lucky over the maximum", w.lucky(sender, 50000, 2), redpacket.ErrShareTooLarge,
			"redpacket: share above the maximum: total 500.00 CNY is more than 2 shares × 200.00 CNY", "share_too_large"},
		{"lucky under the minimum", w.lucky(sender, 2, 3), redpacket.ErrShareTooSmall,
			"redpacket: share below the minimum: total 0.02 CNY is less than 3 shares × 0.01 CNY", "share_too_small"},
		{"normal over the maximum", normal(20001, 2), redpacket.ErrShareTooLarge,
			"redpacket: share above the maximum: 200.01 CNY is more than 200.00 CNY", "share_too_large"},
		{"too many shares", w.lucky(sender, 10000, 101), redpacket.ErrTooManyShares,
			"redpacket: too many shares: lucky packet with 101 shares, maximum 100", "too_many_shares"},
	} {
		_, err := w.svc.Send(w.ctx, c.req)
		if !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
			continue
		}
		if !strings.HasSuffix(err.Error(), ": "+c.msg) {
			t.Errorf("%s: message %q, want it to end with %q", c.name, err, c.msg)
		}
		if code, class := errcode.Of(err); code != c.code || class != errcode.Invalid {
			t.Errorf("%s: errcode.Of = %s, %v; want %s, invalid", c.name, code, class, c.code)
		}
	}
}

// Claims answer with the codes a client acts on, through the service's
// wrapping and the closed-packet cache.
func TestClaimCodes(t *testing.T) {
	forEachMode(t, func(t *testing.T, m mode) {
		w := newWorld(t, inMode(m))
		sender := w.newUser(10000)
		members := w.users(2, 0)
		p := w.send(w.lucky(sender, 100, 1))
		w.mustClaim(p.ID, members[0])
		outsider := user{id: members[0].id, wallet: w.wallet(cny, 0)}
		outsider.id[0] ^= 0xff // not in the group
		for i := range 2 {     // the second answer comes from the cache of closed packets
			_, err := w.claim(p.ID, members[1])
			if code, class := errcode.Of(err); code != "sold_out" || class != errcode.Conflict {
				t.Errorf("claim %d on a sold-out packet: %v: errcode.Of = %s, %v; want sold_out, conflict", i, err, code, class)
			}
		}
		if _, err := w.claim(p.ID, outsider); !errors.Is(err, redpacket.ErrNotMember) {
			t.Errorf("outsider: %v, want ErrNotMember", err)
		} else if code, class := errcode.Of(err); code != "not_member" || class != errcode.Forbidden || class.HTTPStatus() != 403 {
			t.Errorf("outsider: errcode.Of = %s, %v; want not_member, forbidden", code, class)
		}
		broke := w.newUser(0)
		req := w.lucky(broke, 100, 1)
		_, err := w.svc.Send(w.ctx, req)
		if !errors.Is(err, redpacket.ErrPacketCancelled) || !errors.Is(err, ledger.ErrInsufficientFunds) {
			t.Fatalf("send without funds: %v", err)
		}
		_, again := w.svc.Send(w.ctx, req)
		// The refusal speaks, on the first call and on a retry, which
		// reads it from the packet's record.
		for i, err := range []error{err, again} {
			if code, class := errcode.Of(err); code != "insufficient_funds" || class != errcode.Conflict ||
				!errors.Is(err, redpacket.ErrPacketCancelled) || !errors.Is(err, ledger.ErrInsufficientFunds) {
				t.Errorf("send without funds, call %d: %v: errcode.Of = %s, %v; want insufficient_funds, conflict, and ErrPacketCancelled",
					i, err, code, class)
			}
		}
	})
}
