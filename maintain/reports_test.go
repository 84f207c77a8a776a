package maintain_test

import (
	"encoding/json"
	"regexp"
	"testing"

	"github.com/socialpay/socialpay/campaign"
	"github.com/socialpay/socialpay/collect"
	"github.com/socialpay/socialpay/ledger"
	"github.com/socialpay/socialpay/points"
	"github.com/socialpay/socialpay/qr"
	"github.com/socialpay/socialpay/redpacket"
	"github.com/socialpay/socialpay/transfer"
)

// Every feature's MaintainReport, nested reports included, reads as JSON
// with snake_case names: a field added without a tag fails here.
func TestReportsJSON(t *testing.T) {
	snake := regexp.MustCompile(`^[a-z]+(_[a-z]+)*$`)
	var check func(path string, v any)
	check = func(path string, v any) {
		m, ok := v.(map[string]any)
		if !ok {
			return
		}
		for k, sub := range m {
			if !snake.MatchString(k) {
				t.Errorf("%s: field %q is not snake_case", path, k)
			}
			check(path+"."+k, sub)
		}
	}
	for name, rep := range map[string]any{
		"ledger": ledger.MaintainReport{Errors: []string{"e"}}, "redpacket": redpacket.MaintainReport{Errors: []string{"e"}},
		"transfer": transfer.MaintainReport{Errors: []string{"e"}}, "qr": qr.MaintainReport{Errors: []string{"e"}},
		"campaign": campaign.MaintainReport{Errors: []string{"e"}}, "points": points.MaintainReport{Errors: []string{"e"}},
		"collect": collect.MaintainReport{Errors: []string{"e"}},
	} {
		b, err := json.Marshal(rep)
		if err != nil {
			t.Fatal(err)
		}
		var v map[string]any
		if err := json.Unmarshal(b, &v); err != nil {
			t.Fatal(err)
		}
		if _, ok := v["errors"]; !ok || len(v) < 2 {
			t.Errorf("%s: %s, want its counts and errors", name, b)
		}
		check(name, v)
	}
}
