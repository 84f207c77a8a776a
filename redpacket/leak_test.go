package redpacket_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/socialpay/socialpay/redpacket"
)

// TestSendLeaksNothing is the attack of a sender (or of whoever reads a
// log line or a JSON response carrying Send's answer): read the pre-split
// shares, which tell which claim gets the most, and the password, from
// what Send returns. Send returns the packet as View shows it, and no
// printed or JSON form of a packet carries them.
func TestSendLeaksNothing(t *testing.T) {
	forEachMode(t, func(t *testing.T, m mode) {
		w := newWorld(t, inMode(m))
		sender := w.newUser(100000)
		w.users(10, 0)
		const phrase = "恭喜发财大吉大利"
		req := w.lucky(sender, 10000, 10)
		req.Kind, req.Password = redpacket.Password, phrase
		got, err := w.svc.Send(w.ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		if got.Shares != nil || got.PasswordHash != nil {
			t.Fatalf("Send returned shares %v and password hash %x", got.Shares, got.PasswordHash)
		}
		// A retry is answered from the store: the same.
		again, err := w.svc.Send(w.ctx, req)
		if err != nil || again.Shares != nil || again.PasswordHash != nil {
			t.Fatalf("Send again returned shares %v and password hash %x (%v)", again.Shares, again.PasswordHash, err)
		}
		v, err := w.svc.View(w.ctx, got.ID)
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprintf("%+v", got) != fmt.Sprintf("%+v", v.Packet) {
			t.Fatalf("Send returned %+v, View shows %+v", got, v.Packet)
		}

		// The full record, as a store holds it, printed and encoded in
		// every way a log line or a response might.
		full := w.stored(got.ID)
		b, err := json.Marshal(full)
		if err != nil {
			t.Fatal(err)
		}
		vb, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		forms := map[string]string{
			"%v": fmt.Sprintf("%v", full), "%+v": fmt.Sprintf("%+v", full), "%#v": fmt.Sprintf("%#v", full),
			"%s": fmt.Sprintf("%s", full), "&%+v": fmt.Sprintf("%+v", &full), "%x": fmt.Sprintf("%x", full),
			"json": string(b), "view json": string(vb), "view %+v": fmt.Sprintf("%+v", v),
		}
		for name, s := range forms {
			if strings.Contains(s, phrase) || strings.Contains(s, "Shares") || strings.Contains(s, "Password") ||
				strings.Contains(s, sharesText(full.Shares)) || strings.Contains(s, fmt.Sprintf("%x", full.PasswordHash)) ||
				strings.Contains(s, base64.StdEncoding.EncodeToString(full.PasswordHash)) {
				t.Errorf("%s of a packet shows its shares or password: %s", name, s)
			}
			field := "Count" // how the packet's other fields show: fmt by Go name, JSON by snake_case name
			if strings.Contains(name, "json") {
				field = `"count"`
			}
			if named := name != "%v" && name != "%s" && name != "%x"; named && !strings.Contains(s, field) {
				t.Errorf("%s of a packet lost its other fields: %s", name, s)
			}
		}
	})
}

// sharesText is how fmt prints the inner part of a share slice.
func sharesText(shares []int64) string {
	parts := make([]string, len(shares))
	for i, s := range shares {
		parts[i] = strconv.FormatInt(s, 10)
	}
	return strings.Join(parts, " ")
}
