package transfer_test

import (
	"context"
	"testing"

	"github.com/socialpay/socialpay/transfer"
)

// fixedRouter routes every number to one payee of another institution,
// as an interbank directory would, with the full name only.
type fixedRouter struct{ p transfer.Payee }

func (r fixedRouter) Route(_ context.Context, phone transfer.Phone) (transfer.Payee, bool, error) {
	p := r.p
	p.Phone = phone
	return p, true, nil
}

// Issue 11: a payee of one character — a single emoji, a one-character
// name — came back whole from Resolve through a router. Every such name
// now shows as masks only.
func TestResolveMasksShortNames(t *testing.T) {
	for name, want := range map[string]string{
		"😀":               "*",
		"👨\u200d👩\u200d👧": "*",
		"王":               "*",
		"X":               "*",
		"e\u0301":         "*",
		"Al":              "A*",
		"...":             "***",
	} {
		var router fixedRouter
		e := newEnv(t, func(c *transfer.Config) { c.Router = &router })
		router.p = transfer.Payee{Institution: "Other Bank", Holder: uid("h"), Account: e.account(), Name: name, VerifiedAt: e.clock.Now()}
		res, err := e.svc.Resolve(e.ctx, uid("alice"), "138 0013 8000")
		if err != nil || res.MaskedName != want {
			t.Errorf("%q through a router: %v, masked %q, want %q", name, err, res.MaskedName, want)
		}
	}
}
