package qr

import (
	"context"
	"crypto/ed25519"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/socialpay/socialpay/ledger"
)

var (
	testNow    = time.Date(2026, 2, 16, 20, 0, 0, 0, time.UTC)
	hmacSecret = []byte("0123456789abcdef0123456789abcdef")
	edKey      = ed25519.NewKeyFromSeed([]byte("socialpay-test-seed-32-bytes-abc"))
	cny        = ledger.MustCurrency("CNY")
)

func yuan(fen int64) ledger.Money { return ledger.NewMoney(fen, cny) }

func clock(t *time.Time) func() time.Time { return func() time.Time { return *t } }

// testReceive returns ReceiveCodes signing with kid ("h1": HMAC, "e1":
// Ed25519) and verifying with both keys, at the time *now.
func testReceive(t testing.TB, kid string, now *time.Time) *ReceiveCodes {
	t.Helper()
	var s Signer
	var err error
	if kid == "e1" {
		s, err = NewEd25519Signer("e1", edKey)
	} else {
		s, err = NewHMACSigner("h1", hmacSecret)
	}
	if err != nil {
		t.Fatal(err)
	}
	keys, err := NewKeys(Key{ID: "h1", HMAC: hmacSecret}, Key{ID: "e1", Ed25519: edKey.Public().(ed25519.PublicKey)})
	if err != nil {
		t.Fatal(err)
	}
	r, err := NewReceiveCodes(ReceiveConfig{Signer: s, Keys: keys, Now: clock(now)})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func dynamicCode() ReceiveCode {
	return ReceiveCode{
		Payee: "alice.wang", Initiation: Dynamic, Currency: cny, Amount: yuan(8800),
		Reference: "ORDER-20260216-0001", Expires: testNow.Add(15 * time.Minute),
		Name: "王小明", City: "上海",
	}
}

func TestReceiveCodesRoundTrip(t *testing.T) {
	ctx := context.Background()
	for _, kid := range []string{"h1", "e1"} {
		now := testNow
		r := testReceive(t, kid, &now)
		for _, c := range []ReceiveCode{
			dynamicCode(),
			{Payee: "shop-8817", Initiation: Static, Currency: cny, Name: "Corner Shop", City: "Beijing"},
		} {
			s, err := r.Issue(ctx, c)
			if err != nil {
				t.Fatalf("%s: Issue: %v", kid, err)
			}
			p, err := Parse(s)
			if err != nil {
				t.Fatalf("%s: issued code does not parse: %v\n%s", kid, err, s)
			}
			if alias, _ := p.GetSub(26, 1); alias != c.Payee {
				t.Errorf("26.01 = %q", alias)
			}
			got, err := r.Verify(ctx, s)
			if err != nil {
				t.Fatalf("%s: Verify: %v\n%s", kid, err, s)
			}
			c.KeyID, c.Country, c.MCC = kid, "CN", "0000"
			if !got.Expires.Equal(c.Expires) {
				t.Errorf("Expires %v, want %v", got.Expires, c.Expires)
			}
			got.Expires, c.Expires = time.Time{}, time.Time{}
			if got != c {
				t.Errorf("%s: Verify =\n %+v\nwant\n %+v", kid, got, c)
			}
		}
	}
}

// A dynamic code's currency defaults to its amount's; JPY and KWD amounts
// are written with their own number of decimals.
func TestReceiveCodeCurrencies(t *testing.T) {
	ctx := context.Background()
	now := testNow
	r := testReceive(t, "h1", &now)
	for _, tc := range []struct {
		amount  ledger.Money
		numeric string
		text    string
	}{
		{ledger.NewMoney(1500, ledger.MustCurrency("JPY")), "392", "1500"},
		{ledger.NewMoney(1234, ledger.MustCurrency("KWD")), "414", "1.234"},
		{yuan(5), "156", "0.05"},
	} {
		c := dynamicCode()
		c.Currency, c.Amount = ledger.Currency{}, tc.amount
		s, err := r.Issue(ctx, c)
		if err != nil {
			t.Fatalf("%v: %v", tc.amount, err)
		}
		p, _ := Parse(s)
		if cur, _ := p.Get(53); cur != tc.numeric {
			t.Errorf("%v: 53 = %q", tc.amount, cur)
		}
		if a, _ := p.Get(54); a != tc.text {
			t.Errorf("%v: 54 = %q", tc.amount, a)
		}
		got, err := r.Verify(ctx, s)
		if err != nil || got.Amount != tc.amount || got.Currency != tc.amount.Currency() {
			t.Errorf("%v: Verify = %v %v, %v", tc.amount, got.Amount, got.Currency, err)
		}
	}
}

func TestReceiveCodeLayout(t *testing.T) {
	now := testNow
	s, err := testReceive(t, "h1", &now).Issue(context.Background(), dynamicCode())
	if err != nil {
		t.Fatal(err)
	}
	p, _ := Parse(s)
	var ids []string
	for _, o := range p.Objects {
		ids = append(ids, o.ID.String())
	}
	if got := strings.Join(ids, " "); got != "00 01 26 52 53 54 58 59 60 62 80 63" {
		t.Errorf("objects %s", got)
	}
	for _, f := range []struct {
		id, sub ID
		want    string
	}{{26, 0, "com.socialpay"}, {26, 2, "20260216201500"}, {62, 5, "ORDER-20260216-0001"}, {80, 1, "h1"}} {
		if v, _ := p.GetSub(f.id, f.sub); v != f.want {
			t.Errorf("%s.%s = %q, want %q", f.id, f.sub, v, f.want)
		}
	}
	if v, _ := p.Get(54); v != "88.00" {
		t.Errorf("54 = %q", v)
	}
	if sig, _ := p.GetSub(80, 2); len(sig) != 43 { // 32 bytes, base64url
		t.Errorf("HMAC signature %q", sig)
	}
	// Ed25519: 86 characters over two templates.
	s, _ = testReceive(t, "e1", &now).Issue(context.Background(), dynamicCode())
	p, _ = Parse(s)
	a, _ := p.GetSub(80, 2)
	b, _ := p.GetSub(81, 2)
	if len(a)+len(b) != 86 || len(b) == 0 {
		t.Errorf("Ed25519 signature split %d+%d", len(a), len(b))
	}
}

// Edit each signed field, recompute the CRC (Encode does), expect
// ErrBadSignature.
func TestReceiveCodeTamper(t *testing.T) {
	ctx := context.Background()
	edits := []struct {
		name string
		edit func(p *Payload)
	}{
		{"payee", func(p *Payload) { setSub(p, 26, 1, "mallory") }},
		{"amount", func(p *Payload) { p.Set(54, "8.80") }},
		{"amount removed", func(p *Payload) { p.Delete(54) }},
		{"reference", func(p *Payload) { setSub(p, 62, 5, "ORDER-20260216-0002") }},
		{"expiry", func(p *Payload) { setSub(p, 26, 2, "20270216201500") }},
		{"currency", func(p *Payload) { p.Set(53, "840") }},
		{"initiation", func(p *Payload) { p.Set(1, "11") }},
		{"name", func(p *Payload) { p.Set(59, "Mallory") }},
		{"city", func(p *Payload) { p.Set(60, "Shenzhen") }},
		{"added object", func(p *Payload) { p.Set(61, "200000") }},
		{"reordered", func(p *Payload) { p.Objects[3], p.Objects[4] = p.Objects[4], p.Objects[3] }},
		{"signature", func(p *Payload) {
			sig, _ := p.GetSub(80, 2)
			setSub(p, 80, 2, "A"+sig[1:])
		}},
		{"signature shortened", func(p *Payload) {
			sig, _ := p.GetSub(80, 2)
			setSub(p, 80, 2, sig[:len(sig)-2])
		}},
		{"key ID swapped to another known key", func(p *Payload) { setSub(p, 80, 1, "e1") }},
	}
	for _, kid := range []string{"h1", "e1"} {
		now := testNow
		r := testReceive(t, kid, &now)
		s, err := r.Issue(ctx, dynamicCode())
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range edits {
			t.Run(kid+"/"+e.name, func(t *testing.T) {
				if kid == "e1" && e.name == "key ID swapped to another known key" {
					return // swapped to itself
				}
				p, err := Parse(s)
				if err != nil {
					t.Fatal(err)
				}
				e.edit(p)
				edited, err := p.Encode()
				if err != nil {
					t.Fatalf("Encode: %v", err)
				}
				if edited == s {
					t.Fatal("edit changed nothing")
				}
				if _, err := Parse(edited); err != nil {
					t.Fatalf("edited code must still be a valid payload: %v", err)
				}
				if _, err := r.Verify(ctx, edited); !errors.Is(err, ErrBadSignature) {
					t.Fatalf("Verify = %v, want ErrBadSignature", err)
				}
			})
		}
	}
}

func setSub(p *Payload, id, sub ID, v string) {
	o := p.find(id)
	subs := append([]Object(nil), o.Sub...)
	for k := range subs {
		if subs[k].ID == sub {
			subs[k].Value = v
		}
	}
	p.SetTemplate(id, subs...)
}

func TestReceiveCodeVerifyErrors(t *testing.T) {
	ctx := context.Background()
	now := testNow
	r := testReceive(t, "h1", &now)
	s, err := r.Issue(ctx, dynamicCode())
	if err != nil {
		t.Fatal(err)
	}
	p, _ := Parse(s)

	// Unknown key ID.
	q, _ := Parse(s)
	setSub(q, 80, 1, "h9")
	if _, err := r.Verify(ctx, q.String()); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("unknown key: %v", err)
	}
	// Unsigned.
	q, _ = Parse(s)
	q.Delete(80)
	if _, err := r.Verify(ctx, q.String()); !errors.Is(err, ErrUnsigned) {
		t.Errorf("unsigned: %v", err)
	}
	// Not ours: a PIX code, and our code under another GUI.
	if _, err := r.Verify(ctx, publishedPayloads[1].payload); !errors.Is(err, ErrNotOurs) {
		t.Errorf("PIX: %v", err)
	}
	q, _ = Parse(s)
	setSub(q, 26, 0, "com.other")
	if _, err := r.Verify(ctx, q.String()); !errors.Is(err, ErrNotOurs) {
		t.Errorf("other GUI: %v", err)
	}
	// Signature not base64.
	q, _ = Parse(s)
	setSub(q, 80, 2, "!!!!")
	if _, err := r.Verify(ctx, q.String()); !errors.Is(err, ErrBadSignature) {
		t.Errorf("bad base64: %v", err)
	}
	// Broken payload: the codec's error.
	if _, err := r.Verify(ctx, s[:len(s)-1]+"0"); !errors.Is(err, ErrBadCRC) {
		t.Errorf("bad CRC: %v", err)
	}
	// Expiry with the injected clock: valid one second before, expired at
	// and after.
	now = testNow.Add(15*time.Minute - time.Second)
	if _, err := r.Verify(ctx, s); err != nil {
		t.Errorf("just before expiry: %v", err)
	}
	now = testNow.Add(15 * time.Minute)
	if c, err := r.Verify(ctx, s); !errors.Is(err, ErrExpired) || c.Reference != "ORDER-20260216-0001" {
		t.Errorf("at expiry: %v, %+v", err, c)
	}
	// A static code does not expire.
	now = testNow
	st, _ := r.Issue(ctx, ReceiveCode{Payee: "shop-1", Initiation: Static, Currency: cny, Name: "S", City: "C"})
	now = testNow.AddDate(10, 0, 0)
	if _, err := r.Verify(ctx, st); err != nil {
		t.Errorf("static code 10 years on: %v", err)
	}
	_ = p
}

func TestReceiveCodeIssueErrors(t *testing.T) {
	ctx := context.Background()
	now := testNow
	r := testReceive(t, "h1", &now)
	tests := []struct {
		name string
		edit func(c *ReceiveCode)
		want error
	}{
		{"no payee", func(c *ReceiveCode) { c.Payee = "" }, ErrMissing},
		{"no name", func(c *ReceiveCode) { c.Name = "" }, ErrMissing},
		{"account number as payee", func(c *ReceiveCode) { c.Payee = "6222021234567890123" }, ErrInvalidValue},
		{"no currency", func(c *ReceiveCode) { c.Currency, c.Amount = ledger.Currency{}, ledger.Money{} }, ErrMissing},
		{"amount in another currency", func(c *ReceiveCode) { c.Amount = ledger.NewMoney(8800, ledger.MustCurrency("USD")) }, ErrInvalidValue},
		{"dynamic without amount", func(c *ReceiveCode) { c.Amount = ledger.Money{} }, ErrInvalidValue},
		{"dynamic with zero amount", func(c *ReceiveCode) { c.Amount = yuan(0) }, ErrInvalidValue},
		{"dynamic with negative amount", func(c *ReceiveCode) { c.Amount = yuan(-1) }, ErrInvalidValue},
		{"dynamic without reference", func(c *ReceiveCode) { c.Reference = "" }, ErrInvalidValue},
		{"dynamic without expiry", func(c *ReceiveCode) { c.Expires = time.Time{} }, ErrInvalidValue},
		{"dynamic already expired", func(c *ReceiveCode) { c.Expires = testNow }, ErrExpired},
		{"static with amount", func(c *ReceiveCode) { c.Initiation = Static; c.Reference = ""; c.Expires = time.Time{} }, ErrInvalidValue},
		{"no initiation", func(c *ReceiveCode) { c.Initiation = InitiationUnknown }, ErrInvalidValue},
		{"reference over 25", func(c *ReceiveCode) { c.Reference = strings.Repeat("R", 26) }, ErrTooLong},
		{"name over 25", func(c *ReceiveCode) { c.Name = strings.Repeat("名", 26) }, ErrTooLong},
	}
	for _, tc := range tests {
		c := dynamicCode()
		tc.edit(&c)
		if s, err := r.Issue(ctx, c); !errors.Is(err, tc.want) {
			t.Errorf("%s: Issue = %q, %v; want %v", tc.name, s, err, tc.want)
		}
	}
	verifyOnly, _ := NewReceiveCodes(ReceiveConfig{})
	if _, err := verifyOnly.Issue(ctx, dynamicCode()); !errors.Is(err, ErrMissing) {
		t.Errorf("no signer: %v", err)
	}
	if _, err := verifyOnly.Verify(ctx, emvcoExample); !errors.Is(err, ErrMissing) {
		t.Errorf("no keys: %v", err)
	}
	for _, cfg := range []ReceiveConfig{{AccountTemplate: 25}, {SignatureTemplate: 79}, {GUI: strings.Repeat("g", 33)}} {
		if _, err := NewReceiveCodes(cfg); !errors.Is(err, ErrInvalidValue) {
			t.Errorf("config %+v: %v", cfg, err)
		}
	}
}

func TestKeyErrors(t *testing.T) {
	pub := edKey.Public().(ed25519.PublicKey)
	for _, keys := range [][]Key{
		{{ID: "", HMAC: hmacSecret}},
		{{ID: "a b", HMAC: hmacSecret}},
		{{ID: "seventeen-chars-x", HMAC: hmacSecret}},
		{{ID: "k"}},
		{{ID: "k", HMAC: hmacSecret, Ed25519: pub}},
		{{ID: "k", Ed25519: pub[:31]}},
		{{ID: "k", HMAC: hmacSecret}, {ID: "k", Ed25519: pub}},
	} {
		if _, err := NewKeys(keys...); !errors.Is(err, ErrInvalidKey) {
			t.Errorf("NewKeys(%v) = %v", keys, err)
		}
	}
	if _, err := NewHMACSigner("k", []byte("short")); !errors.Is(err, ErrInvalidKey) {
		t.Errorf("short secret: %v", err)
	}
	if _, err := NewEd25519Signer("k", edKey[:10]); !errors.Is(err, ErrInvalidKey) {
		t.Errorf("short Ed25519 key: %v", err)
	}
}

func benchmarkSignVerify(b *testing.B, kid string) {
	ctx := context.Background()
	now := testNow
	r := testReceive(b, kid, &now)
	c := dynamicCode()
	b.ReportAllocs()
	defer reportCPU(b)()
	for b.Loop() {
		s, err := r.Issue(ctx, c)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := r.Verify(ctx, s); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSignVerifyHMAC(b *testing.B)    { benchmarkSignVerify(b, "h1") }
func BenchmarkSignVerifyEd25519(b *testing.B) { benchmarkSignVerify(b, "e1") }
