package qr

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/socialpay/socialpay/ledger"
)

// emvcoExample is EMVCo's worked example (see publishedPayloads).
const emvcoExample = "00020101021229300012D156000000000510A93FO3230Q31280012D15600000001030812345678520441115802CN5914BEST TRANSPORT6007BEIJING64200002ZH0104最佳运输0202北京540523.7253031565502016233030412340603***0708A60086670902ME91320016A0112233449988770708123456786304A13A"

// withCRC appends "6304" and the CRC (computed bit by bit) to body.
func withCRC(body string) string {
	body += "6304"
	return body + fmt.Sprintf("%04X", crcBitwise([]byte(body)))
}

// tlv writes one data object, counting characters.
func tlv(id, v string) string { return fmt.Sprintf("%s%02d%s", id, len([]rune(v)), v) }

// minimal is a small valid body (no 63) that tests edit.
var minimalFields = []string{
	tlv("00", "01"), tlv("01", "11"), tlv("26", tlv("00", "com.example")+tlv("01", "abc")),
	tlv("52", "0000"), tlv("53", "156"), tlv("58", "CN"), tlv("59", "NAME"), tlv("60", "CITY"),
}

func minimal(edit func(f []string) []string) string {
	f := append([]string(nil), minimalFields...)
	if edit != nil {
		f = edit(f)
	}
	return withCRC(strings.Join(f, ""))
}

func TestParseEMVCoExampleFields(t *testing.T) {
	p, err := Parse(emvcoExample)
	if err != nil {
		t.Fatal(err)
	}
	// Field by field, as the specification's example lists them.
	want := []string{"00=01", "01=12", "29=[00=D15600000000 05=A93FO3230Q]", "31=[00=D15600000001 03=12345678]",
		"52=4111", "58=CN", "59=BEST TRANSPORT", "60=BEIJING", "64=[00=ZH 01=最佳运输 02=北京]", "54=23.72", "53=156",
		"55=01", "62=[03=1234 06=*** 07=A6008667 09=ME]", "91=[00=A011223344998877 07=12345678]", "63=A13A"}
	var got []string
	for _, o := range p.Objects {
		if len(o.Sub) == 0 {
			got = append(got, o.ID.String()+"="+o.Value)
			continue
		}
		var subs []string
		for _, s := range o.Sub {
			subs = append(subs, s.ID.String()+"="+s.Value)
		}
		got = append(got, fmt.Sprintf("%s=%v", o.ID, subs))
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("objects\n got %v\nwant %v", got, want)
	}
	if v, _ := p.GetSub(64, 1); v != "最佳运输" {
		t.Errorf("64.01 = %q", v)
	}
	if v, ok := p.Get(99); ok || v != "" {
		t.Errorf("Get(99) = %q, %v", v, ok)
	}
	if p.MCC() != "4111" || p.CurrencyNumeric() != "156" {
		t.Errorf("MCC %q currency %q", p.MCC(), p.CurrencyNumeric())
	}
}

func TestParseErrors(t *testing.T) {
	E := emvcoExample
	long := strings.Repeat("x", 26)
	tests := []struct {
		name    string
		payload string
		want    error
		path    string
	}{
		{"crc digit changed", E[:len(E)-1] + "B", ErrBadCRC, "63"},
		{"crc not hex", E[:len(E)-4] + "A1G3", ErrBadCRC, "63"},
		{"body changed, crc kept", strings.Replace(E, "BEIJING", "BEIJINH", 1), ErrBadCRC, "63"},
		{"truncated in crc value", E[:len(E)-2], ErrTruncated, "63"},
		{"truncated header", "00020101", ErrTruncated, ""},
		{"truncated value", "0002010102", ErrTruncated, "01"},
		{"truncated in template", withCRC(tlv("00", "01") + "26080005abcd"), ErrTruncated, "26.00"},
		{"length 00", withCRC("0002010100" + strings.Join(minimalFields[2:], "")), ErrBadLength, "01"},
		{"sub length 00", minimal(func(f []string) []string { f[2] = "2604" + "0000"; return f }), ErrBadLength, "26.00"},
		{"fixed length wrong", minimal(func(f []string) []string { f[4] = tlv("53", "1560"); return f }), ErrBadLength, "53"},
		{"crc length 5", E[:len(E)-8] + "6305A13A0", ErrBadLength, "63"},
		{"non-numeric ID", "0002010A021229", ErrNotNumeric, ""},
		{"non-numeric length", "00A201", ErrNotNumeric, ""},
		{"non-numeric sub ID", minimal(func(f []string) []string { f[2] = tlv("26", "0A03abc"); return f }), ErrNotNumeric, "26"},
		{"00 not first", withCRC(strings.Join(append([]string{minimalFields[1], minimalFields[0]}, minimalFields[2:]...), "")), ErrFormatNotFirst, "01"},
		{"63 not last", strings.Join(minimalFields[:2], "") + "6304ABCD" + strings.Join(minimalFields[2:], ""), ErrCRCNotLast, "63"},
		{"duplicate root", minimal(func(f []string) []string { return append(f, tlv("59", "OTHER")) }), ErrDuplicate, "59"},
		{"duplicate sub", minimal(func(f []string) []string { return append(f, tlv("62", tlv("05", "a")+tlv("05", "b"))) }), ErrDuplicate, "62.05"},
		{"missing 59", minimal(func(f []string) []string { return append(f[:6], f[7:]...) }), ErrMissing, "59"},
		{"missing 52", minimal(func(f []string) []string { return append(f[:3], f[4:]...) }), ErrMissing, "52"},
		{"missing 60", minimal(func(f []string) []string { return f[:7] }), ErrMissing, "60"},
		{"missing 53", minimal(func(f []string) []string { return append(f[:4], f[5:]...) }), ErrMissing, "53"},
		{"missing 58", minimal(func(f []string) []string { return append(f[:5], f[6:]...) }), ErrMissing, "58"},
		{"missing account", minimal(func(f []string) []string { return append(f[:2], f[3:]...) }), ErrMissing, "02-51"},
		{"missing GUI", minimal(func(f []string) []string { f[2] = tlv("26", tlv("01", "abc")); return f }), ErrMissing, "26.00"},
		{"missing GUI in 80", minimal(func(f []string) []string { return append(f, tlv("80", tlv("01", "abc"))) }), ErrMissing, "80.00"},
		{"missing 64.01", minimal(func(f []string) []string { return append(f, tlv("64", tlv("00", "ZH"))) }), ErrMissing, "64.01"},
		{"missing 63", strings.Join(minimalFields, ""), ErrMissing, "63"},
		{"empty", "", ErrMissing, "00"},
		{"name over 25", minimal(func(f []string) []string { f[6] = tlv("59", long); return f }), ErrTooLong, "59"},
		{"city over 15", minimal(func(f []string) []string { f[7] = tlv("60", long[:16]); return f }), ErrTooLong, "60"},
		{"postal code over 10", minimal(func(f []string) []string { return append(f, tlv("61", long[:11])) }), ErrTooLong, "61"},
		{"amount over 13", minimal(func(f []string) []string { return append(f, tlv("54", "12345678901234")) }), ErrTooLong, "54"},
		{"reference over 25", minimal(func(f []string) []string { return append(f, tlv("62", tlv("05", long))) }), ErrTooLong, "62.05"},
		{"GUI over 32", minimal(func(f []string) []string { f[2] = tlv("26", tlv("00", long+long[:7])); return f }), ErrTooLong, "26.00"},
		{"alternate name over 25", minimal(func(f []string) []string {
			return append(f, tlv("64", tlv("00", "ZH")+tlv("01", strings.Repeat("名", 26))))
		}), ErrTooLong, "64.01"},
		{"payload over 512", withCRC(strings.Join(minimalFields, "") + strings.Repeat(tlv("70", strings.Repeat("x", 95)), 5)), ErrPayloadTooLong, ""},
		{"format 02", minimal(func(f []string) []string { f[0] = tlv("00", "02"); return f }), ErrInvalidValue, "00"},
		{"initiation 13", minimal(func(f []string) []string { f[1] = tlv("01", "13"); return f }), ErrInvalidValue, "01"},
		{"currency letters", minimal(func(f []string) []string { f[4] = tlv("53", "CNY"); return f }), ErrInvalidValue, "53"},
		{"amount two dots", minimal(func(f []string) []string { return append(f, tlv("54", "1.2.3")) }), ErrInvalidValue, "54"},
		{"amount no integer digit", minimal(func(f []string) []string { return append(f, tlv("54", ".50")) }), ErrInvalidValue, "54"},
		{"amount negative", minimal(func(f []string) []string { return append(f, tlv("54", "-1")) }), ErrInvalidValue, "54"},
		{"consumer data request", minimal(func(f []string) []string { return append(f, tlv("62", tlv("09", "XYZ"))) }), ErrInvalidValue, "62.09"},
		{"invalid UTF-8", minimal(func(f []string) []string { f[6] = "5904NAM\xff"; return f }), ErrInvalidUTF8, "59"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Parse(tc.payload)
			if err == nil && tc.want == ErrTooLong && tc.path != "54" {
				// Text over its maximum length: accepted with a warning
				// (shops print such codes), refused by Encode.
				if len(p.Warnings) != 1 || !errors.Is(p.Warnings[0], ErrTooLong) || p.Warnings[0].Path != tc.path {
					t.Fatalf("Parse(%q) warnings %v, want %v in %s", tc.payload, p.Warnings, tc.want, tc.path)
				}
				if _, err := p.Encode(); !errors.Is(err, ErrTooLong) {
					t.Fatalf("Encode of a payload with warnings: %v", err)
				}
				return
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("Parse(%q) = %v, %v; want %v", tc.payload, p, err, tc.want)
			}
			var e *Error
			if !errors.As(err, &e) || e.Path != tc.path {
				t.Fatalf("error %v: path %q, want %q", err, e.Path, tc.path)
			}
		})
	}
}

func TestErrorSaysWhere(t *testing.T) {
	_, err := Parse(withCRC(tlv("00", "01") + "26080005abcd"))
	if got := err.Error(); got != "qr: truncated data object in data object 26.00 at character 10" {
		t.Errorf("Error() = %q", got)
	}
}

func TestParseCountsCharactersNotBytes(t *testing.T) {
	// "São Paulo" is 9 characters, 10 bytes: length 09 is right, 10 wrong.
	good := minimal(func(f []string) []string { f[7] = "6009São Paulo"; return f })
	p, err := Parse(good)
	if err != nil || p.MerchantCity() != "São Paulo" {
		t.Fatalf("Parse = %v, %v", p, err)
	}
	bad := minimal(func(f []string) []string { f[7] = "6010São Paulo"; return f })
	if _, err := Parse(bad); !errors.Is(err, ErrTruncated) {
		t.Fatalf("byte length accepted: %v", err)
	}
}

func TestParseLowerCaseCRC(t *testing.T) {
	p, err := Parse(emvcoExample[:len(emvcoExample)-4] + "a13a")
	if err != nil {
		t.Fatal(err)
	}
	if out := p.String(); out != emvcoExample {
		t.Errorf("re-encoded %s", out)
	}
}

func TestPromptPayMandatorySet(t *testing.T) {
	// Thai QR codes leave out 52, 59 and 60; other codes may not.
	body := tlv("00", "01") + tlv("01", "11") + tlv("29", tlv("00", "A000000677010111")+tlv("01", "0066812345678")) +
		tlv("53", "764") + tlv("58", "TH")
	if _, err := Parse(withCRC(body)); err != nil {
		t.Fatalf("PromptPay without 52/59/60: %v", err)
	}
	other := strings.Replace(body, "A000000677010111", "A000000999010111", 1)
	if _, err := Parse(withCRC(other)); !errors.Is(err, ErrMissing) {
		t.Fatalf("non-PromptPay without 52/59/60: %v", err)
	}
	// 53 and 58 stay mandatory for PromptPay.
	no53 := strings.Replace(body, tlv("53", "764"), "", 1)
	if _, err := Parse(withCRC(no53)); !errors.Is(err, ErrMissing) {
		t.Fatalf("PromptPay without 53: %v", err)
	}
}

func TestBuildAndEncode(t *testing.T) {
	var p Payload
	p.Set(0, "01")
	p.Set(1, "12")
	p.SetTemplate(26, Object{ID: 0, Value: "com.example"}, Object{ID: 1, Value: "alice"})
	p.Set(52, "0000")
	p.Set(53, "156")
	p.Set(54, "88.00")
	p.Set(58, "CN")
	p.Set(59, "张三")
	p.Set(60, "上海")
	p.SetTemplate(62, Object{ID: 5, Value: "ORDER-1"})
	s, err := p.Encode()
	if err != nil {
		t.Fatal(err)
	}
	want := withCRC("000201010212" + "26240011com.example0105alice" + "52040000" + "5303156" + "540588.00" + "5802CN" + "5902张三" + "6002上海" + "62110507ORDER-1")
	if s != want {
		t.Fatalf("Encode\n got %s\nwant %s", s, want)
	}
	q, err := Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	if q.MerchantName() != "张三" || q.Reference() != "ORDER-1" || q.Initiation() != Dynamic {
		t.Errorf("parsed back %v", q.Objects)
	}
	// Editing a parsed payload: Set replaces in place, keeps 63 last, and
	// Encode recomputes the CRC.
	q.Set(54, "99.00")
	q.Set(61, "200000")
	q.Delete(1)
	s2, err := q.Encode()
	if err != nil {
		t.Fatal(err)
	}
	want2 := withCRC("000201" + "26240011com.example0105alice" + "52040000" + "5303156" + "540599.00" + "5802CN" + "5902张三" + "6002上海" + "62110507ORDER-1" + "6106200000")
	if s2 != want2 {
		t.Fatalf("edited\n got %s\nwant %s", s2, want2)
	}
	// A template may also be given as raw text.
	q.Set(62, "0507ORDER-2")
	if s3, err := q.Encode(); err != nil || !strings.Contains(s3, "62110507ORDER-2") {
		t.Fatalf("raw template: %s, %v", s3, err)
	}
	q.Set(62, "0599ORDER-2")
	if _, err := q.Encode(); !errors.Is(err, ErrTruncated) {
		t.Fatalf("bad raw template: %v", err)
	}
}

func TestEncodeRejects(t *testing.T) {
	base := func() *Payload {
		p, err := Parse(emvcoExample)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name string
		edit func(p *Payload)
		want error
	}{
		{"bad ID", func(p *Payload) { p.Set(100, "x") }, ErrNotNumeric},
		{"bad sub ID", func(p *Payload) { p.SetTemplate(62, Object{ID: 100, Value: "x"}) }, ErrNotNumeric},
		{"empty value", func(p *Payload) { p.Set(59, "") }, ErrBadLength},
		{"value over 99", func(p *Payload) { p.Set(70, strings.Repeat("x", 100)) }, ErrTooLong},
		{"template over 99", func(p *Payload) {
			p.SetTemplate(80, Object{ID: 0, Value: strings.Repeat("x", 32)}, Object{ID: 1, Value: strings.Repeat("y", 70)})
		}, ErrTooLong},
		{"name over 25", func(p *Payload) { p.Set(59, strings.Repeat("名", 26)) }, ErrTooLong},
		{"duplicate", func(p *Payload) { p.Objects = append(p.Objects, Object{ID: 59, Value: "X"}) }, ErrDuplicate},
		{"00 not first", func(p *Payload) { p.Delete(0); p.Objects = append(p.Objects, Object{ID: 0, Value: "01"}) }, ErrFormatNotFirst},
		{"missing 60", func(p *Payload) { p.Delete(60) }, ErrMissing},
		{"bad amount", func(p *Payload) { p.Set(54, "1,00") }, ErrInvalidValue},
		{"invalid UTF-8", func(p *Payload) { p.Set(59, "\xff") }, ErrInvalidUTF8},
		{"payload over 512", func(p *Payload) {
			for _, id := range []ID{65, 66, 67, 68} {
				p.Set(id, strings.Repeat("x", 99))
			}
		}, ErrPayloadTooLong},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := base()
			tc.edit(p)
			s, err := p.Encode()
			if !errors.Is(err, tc.want) {
				t.Fatalf("Encode = %q, %v; want %v", s, err, tc.want)
			}
			if p.String() != "" {
				t.Errorf("String of an invalid payload is not empty")
			}
		})
	}
}

func TestEncodeIgnoresOld63(t *testing.T) {
	p, _ := Parse(emvcoExample)
	p.Objects[len(p.Objects)-1].Value = "0000"
	if s, err := p.Encode(); err != nil || s != emvcoExample {
		t.Fatalf("Encode = %s, %v", s, err)
	}
}

func TestAmounts(t *testing.T) {
	tests := []struct {
		currency, amount string
		units            int64
		code             string
		want             error
	}{
		{"156", "23.72", 2372, "CNY", nil},
		{"156", "23.7", 2370, "CNY", nil},
		{"156", "23", 2300, "CNY", nil},
		{"156", "0.01", 1, "CNY", nil},
		{"156", "23.725", 0, "", ErrAmountPrecision},
		{"392", "100", 100, "JPY", nil},
		{"392", "100.5", 0, "", ErrAmountPrecision},
		{"392", "100.0", 100, "JPY", nil}, // the ledger's rule: zeros that need no rounding are accepted
		{"156", "23.720", 2372, "CNY", nil},
		{"414", "1.234", 1234, "KWD", nil},
		{"414", "1.2345", 0, "", ErrAmountPrecision},
		{"036", "9999999999999", 999999999999900, "AUD", nil},
		{"999", "1.00", 0, "", ErrUnknownCurrency},
		{"990", "1.0000", 10000, "CLF", nil}, // four decimals
		{"990", "1.00001", 0, "", ErrAmountPrecision},
		{"116", "4000", 400000, "KHR", nil}, // Cambodia's KHQR
		{"000", "1.00", 0, "", ErrUnknownCurrency},
	}
	for _, tc := range tests {
		s := minimal(func(f []string) []string { f[4] = tlv("53", tc.currency); return append(f, tlv("54", tc.amount)) })
		p, err := Parse(s)
		if err != nil {
			t.Fatalf("%s %s: %v", tc.currency, tc.amount, err)
		}
		a, err := p.Amount()
		if !errors.Is(err, tc.want) || err == nil && (a.Units() != tc.units || a.Currency().Code() != tc.code) {
			t.Errorf("%s %s: Amount = %v, %v; want %d %s %v", tc.currency, tc.amount, a, err, tc.units, tc.code, tc.want)
		}
		// The ledger's sentinels are the codec's.
		if tc.want != nil && !errors.Is(err, map[error]error{ErrAmountPrecision: ledger.ErrTooManyDecimals, ErrUnknownCurrency: ledger.ErrUnknownCurrency}[tc.want]) {
			t.Errorf("%s %s: %v is not the ledger's error", tc.currency, tc.amount, err)
		}
	}
	p, _ := Parse(minimal(nil))
	if _, err := p.Amount(); !errors.Is(err, ErrNoAmount) {
		t.Errorf("no 54: %v", err)
	}
	var empty Payload
	if _, err := empty.Currency(); !errors.Is(err, ErrMissing) {
		t.Errorf("no 53: %v", err)
	}
	// A built payload is checked too.
	p.Set(54, "-1")
	if _, err := p.Amount(); !errors.Is(err, ErrInvalidValue) {
		t.Errorf("negative amount: %v", err)
	}
	p.Set(53, "15")
	if _, err := p.Currency(); !errors.Is(err, ErrInvalidValue) {
		t.Errorf("two-digit currency: %v", err)
	}
}

// Money written the way Issue writes it (Money.Amount, NumericCode) reads
// back as the same Money, in every currency the ledger knows.
func TestMoneyRoundTrip(t *testing.T) {
	for _, c := range ledger.Currencies() {
		for _, units := range []int64{1, 5, 2372, 100000, 999999999999} {
			m := ledger.NewMoney(units, c)
			s := minimal(func(f []string) []string {
				f[4] = tlv("53", c.NumericCode())
				return append(f, tlv("54", m.Amount()))
			})
			p, err := Parse(s)
			if err != nil {
				t.Fatalf("%v: %v", m, err)
			}
			if got, err := p.Amount(); err != nil || got != m {
				t.Errorf("%v: Amount = %v, %v", m, got, err)
			}
		}
	}
}

func BenchmarkParse(b *testing.B) {
	b.ReportAllocs()
	defer reportCPU(b)()
	for b.Loop() {
		if _, err := Parse(emvcoExample); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncode(b *testing.B) {
	p, err := Parse(emvcoExample)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	defer reportCPU(b)()
	for b.Loop() {
		if _, err := p.Encode(); err != nil {
			b.Fatal(err)
		}
	}
}

func TestCRCAgainstBitwise(t *testing.T) {
	// Every length from 0 to 40 (the 8-byte steps and the tail) and the
	// published payloads.
	data := []byte(strings.Repeat("00020101021229300012D15600000000最佳运输", 2))
	for n := 0; n <= 40; n++ {
		if got, want := crc16(data[:n]), crcBitwise(data[:n]); got != want {
			t.Fatalf("crc16 of %d bytes = %04X, want %04X", n, got, want)
		}
	}
	if got := crc16("123456789"); got != 0x29B1 { // the CRC catalogue's check value
		t.Fatalf("check value %04X", got)
	}
}
