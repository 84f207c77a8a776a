package transfer

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/nyaruka/phonenumbers"
)

func mustParser(t testing.TB, region string) *PhoneParser {
	t.Helper()
	p, err := NewPhoneParser(region)
	if err != nil {
		t.Fatalf("NewPhoneParser(%q): %v", region, err)
	}
	return p
}

// validFormats are the formats issue 6 requires, with their E.164 form.
var validFormats = []struct {
	in, want string
}{
	{"138 0013 8000", "+8613800138000"},
	{"+86 138-0013-8000", "+8613800138000"},
	{"008613800138000", "+8613800138000"},
	{"+852 5123 4567", "+85251234567"},
	{"+65 8123 4567", "+6581234567"},
	{"+55 11 91234-5678", "+5511912345678"},
	{"+1 415 555 2671", "+14155552671"},
	{"+44 7911 123456", "+447911123456"},
	// More ways people type them.
	{"13800138000", "+8613800138000"},
	{"  +86 (138) 0013 8000  ", "+8613800138000"},
	{"+86.138.0013.8000", "+8613800138000"},
	{"+86 138/0013/8000", "+8613800138000"},
	{"00 86 138 0013 8000", "+8613800138000"},
	{"+1 (212) 555-0100", "+12125550100"},
	{"+33 6 12 34 56 78", "+33612345678"},
	{"+81 90-1234-5678", "+819012345678"},
}

func TestNormalizeValid(t *testing.T) {
	p := mustParser(t, "") // CN by default
	if p.Region() != "CN" {
		t.Fatalf("default region = %q, want CN", p.Region())
	}
	for _, tc := range validFormats {
		got, err := p.Normalize(tc.in)
		if err != nil || string(got) != tc.want {
			t.Errorf("Normalize(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

// The default region only matters for numbers typed without a country code.
func TestNormalizeDefaultRegion(t *testing.T) {
	tests := []struct{ region, in, want string }{
		{"HK", "5123 4567", "+85251234567"},
		{"SG", "8123 4567", "+6581234567"},
		{"US", "(415) 555-2671", "+14155552671"},
		{"US", "1 415 555 2671", "+14155552671"},
		{"US", "011 86 138 0013 8000", "+8613800138000"},
		{"GB", "07911 123456", "+447911123456"},
		{"GB", "00 86 138 0013 8000", "+8613800138000"},
		{"BR", "(11) 91234-5678", "+5511912345678"},
		{"CN", "+86 (0)138 0013 8000", "+8613800138000"},
		{"CN", "１３８ ００１３ ８０００", "+8613800138000"}, // full-width digits
	}
	for _, tc := range tests {
		p := mustParser(t, tc.region)
		got, err := p.Normalize(tc.in)
		if err != nil || string(got) != tc.want {
			t.Errorf("%s: Normalize(%q) = %q, %v; want %q", tc.region, tc.in, got, err, tc.want)
		}
	}
}

// A US number is FIXED_LINE_OR_MOBILE in libphonenumber; a mobile-only rule
// must still accept it.
func TestNormalizeAcceptsFixedLineOrMobile(t *testing.T) {
	num, err := phonenumbers.Parse("+1 415 555 2671", "US")
	if err != nil {
		t.Fatal(err)
	}
	if typ := phonenumbers.GetNumberType(num); typ != phonenumbers.FIXED_LINE_OR_MOBILE {
		t.Fatalf("libphonenumber type of the US number = %v, want FIXED_LINE_OR_MOBILE; the test no longer covers that type", typ)
	}
	if got, err := mustParser(t, "CN").Normalize("+1 415 555 2671"); err != nil || got != "+14155552671" {
		t.Fatalf("Normalize = %q, %v", got, err)
	}
}

func TestNormalizeErrors(t *testing.T) {
	p := mustParser(t, "CN")
	tests := []struct {
		name, in string
		want     error
	}{
		{"empty", "", ErrEmptyPhone},
		{"white space", " \t\n ", ErrEmptyPhone},
		{"letters", "abc", ErrNotPhoneNumber},
		{"letter among digits", "138 0013 800O", ErrNotPhoneNumber},
		{"vanity number", "+1 800 FLOWERS", ErrNotPhoneNumber},
		{"extension in words", "+86 138 0013 8000 ext 12", ErrNotPhoneNumber},
		{"Chinese text", "我的手机号", ErrNotPhoneNumber},
		{"punctuation only", "- - -", ErrNotPhoneNumber},
		{"plus only", "+", ErrNotPhoneNumber},
		{"one digit", "1", ErrNotPhoneNumber},
		{"very long input", strings.Repeat("1", 100), ErrNotPhoneNumber},
		{"invalid UTF-8", "138\xff0013", ErrNotPhoneNumber},
		{"too short", "12345", ErrInvalidPhone},
		{"too short international", "+86 13", ErrInvalidPhone},
		{"one digit short", "+86 138 0013 800", ErrInvalidPhone},
		{"one digit long", "+86 138 0013 80000", ErrInvalidPhone},
		{"too long", "+86 1380 0138 0000 0000", ErrInvalidPhone},
		{"unknown country code", "+999 1234 5678", ErrInvalidPhone},
		{"no such range", "+86 190 0000", ErrInvalidPhone},
		{"extension with #", "+86 138 0013 8000#12", ErrInvalidPhone},
		{"Beijing landline", "+86 10 1234 5678", ErrNotMobile},
		{"Beijing landline, national", "010 1234 5678", ErrNotMobile},
		{"London landline", "+44 20 7946 0958", ErrNotMobile},
		{"US toll-free", "+1 800 555 0100", ErrNotMobile},
		{"China 400 number", "+86 400 810 8888", ErrNotMobile},
	}
	sentinels := []error{ErrEmptyPhone, ErrNotPhoneNumber, ErrInvalidPhone, ErrNotMobile}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := p.Normalize(tc.in)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Normalize(%q) = %q, %v; want %v", tc.in, got, err, tc.want)
			}
			if got != "" {
				t.Errorf("Normalize(%q) returned %q with an error", tc.in, got)
			}
			for _, s := range sentinels {
				if s != tc.want && errors.Is(err, s) {
					t.Errorf("error %v also matches %v", err, s)
				}
			}
			var pe *PhoneError
			if !errors.As(err, &pe) || pe.Region != "CN" {
				t.Errorf("error %v is not a *PhoneError for region CN", err)
			}
			if digits := strings.Map(keepDigits, tc.in); len(digits) >= 6 && strings.Contains(err.Error(), digits) {
				t.Errorf("error %q repeats the number", err)
			}
		})
	}
}

func keepDigits(r rune) rune {
	if r >= '0' && r <= '9' {
		return r
	}
	return -1
}

func TestNewPhoneParserUnknownRegion(t *testing.T) {
	for _, r := range []string{"XX", "cn", "CHN", "001"} {
		if _, err := NewPhoneParser(r); !errors.Is(err, ErrUnknownRegion) {
			t.Errorf("NewPhoneParser(%q) error = %v, want ErrUnknownRegion", r, err)
		}
	}
}

// Normalize is idempotent: an E.164 result normalizes to itself, under any
// default region. Directory keys rely on it.
func TestNormalizeIdempotent(t *testing.T) {
	cn := mustParser(t, "CN")
	for _, region := range []string{"CN", "US", "GB", "BR", "HK"} {
		p := mustParser(t, region)
		for _, tc := range validFormats {
			once, err := cn.Normalize(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if twice, err := p.Normalize(string(once)); err != nil || twice != once {
				t.Errorf("%s: Normalize(%q) = %q, %v", region, once, twice, err)
			}
		}
	}
}

// The cheap key agrees with the full path on every valid format.
func TestLookupKeyAgreesOnValidFormats(t *testing.T) {
	p := mustParser(t, "CN")
	for _, tc := range validFormats {
		if strings.ContainsFunc(tc.in, func(r rune) bool { return r > 0x7f }) {
			continue
		}
		key, ok := p.LookupKey(tc.in)
		if !ok || string(key) != tc.want {
			t.Errorf("LookupKey(%q) = %q, %v; want %q", tc.in, key, ok, tc.want)
		}
	}
	regional := []struct{ region, in, want string }{
		{"US", "(415) 555-2671", "+14155552671"},
		{"US", "1 415 555 2671", "+14155552671"},
		{"US", "011 86 138 0013 8000", "+8613800138000"},
		{"GB", "07911 123456", "+447911123456"},
		{"GB", "00 86 138 0013 8000", "+8613800138000"},
		{"HK", "5123 4567", "+85251234567"},
		{"SG", "8123 4567", "+6581234567"},
		{"BR", "(11) 91234-5678", "+5511912345678"},
	}
	for _, tc := range regional {
		key, ok := mustParser(t, tc.region).LookupKey(tc.in)
		if !ok || string(key) != tc.want {
			t.Errorf("%s: LookupKey(%q) = %q, %v; want %q", tc.region, tc.in, key, ok, tc.want)
		}
	}
}

// Forms the cheap path does not read must say so rather than guess.
func TestLookupKeyDeclines(t *testing.T) {
	p := mustParser(t, "CN")
	for _, in := range []string{
		"", "+", "12", "abc", "138 0013 800O",
		"(+86) 138 0013 8000",      // '+' after another character
		"++86 138 0013 8000",       // two plus signs
		"１３８ ００１３ ８０００",            // full-width digits
		"+86 138 0013 8000#12",     // extension
		"+86 1380 0138 0000 00000", // more than 15 digits
		"+0086 138 0013 8000",      // country code would start with 0
	} {
		if key, ok := p.LookupKey(in); ok {
			t.Errorf("LookupKey(%q) = %q, true; want false", in, key)
		}
	}
}

// checkKeySafe is the property that makes LookupKey safe as a directory key:
// when its key is a number some input normalizes to (every bound key is),
// raw must normalize to that same number.
// It reports whether raw's key was such a number, i.e. whether the property
// was put to the test.
func checkKeySafe(t testing.TB, p *PhoneParser, raw string) (tested bool) {
	t.Helper()
	key, ok := p.LookupKey(raw)
	if !ok {
		return false
	}
	canon, err := p.Normalize(string(key))
	if err != nil || canon != key {
		return false // key is no valid E.164 mobile number, so nothing is bound under it
	}
	if full, err := p.Normalize(raw); err != nil || full != key {
		t.Errorf("%s: LookupKey(%q) = %q, a valid number, but Normalize = %q, %v", p.Region(), raw, key, full, err)
	}
	return true
}

// keySafetyRegions are default regions with different prefix rules: plain
// (CN), NANP trunk 1 (US), trunk 0 (GB, DE), no trunk prefix (HK, SG, IT),
// regex international prefixes (HK, SG, AU, BR) and rewriting national
// prefixes (AR, BR, JP), Russia's 8.
var keySafetyRegions = []string{"CN", "US", "GB", "DE", "HK", "SG", "IT", "AU", "BR", "AR", "JP", "RU", "IN", "MX"}

// TestLookupKeySafety checks the property on every region's example mobile
// number, written the ways people write it, dialled from each default
// region, and with the slips people make.
func TestLookupKeySafety(t *testing.T) {
	regions := make([]string, 0, 256)
	for r := range phonenumbers.GetSupportedRegions() {
		regions = append(regions, r)
	}
	step := 1
	if raceEnabled {
		step = 8 // the race detector makes libphonenumber ~10x slower
	}
	var inputs []string
	for i, r := range regions {
		if i%step != 0 {
			continue
		}
		num := phonenumbers.GetExampleNumberForType(r, phonenumbers.MOBILE)
		if num == nil {
			continue
		}
		nat := phonenumbers.Format(num, phonenumbers.NATIONAL)
		e164 := phonenumbers.Format(num, phonenumbers.E164)
		nsn := phonenumbers.GetNationalSignificantNumber(num)
		cc := fmt.Sprint(num.GetCountryCode())
		inputs = append(inputs,
			e164, nat, nsn,
			phonenumbers.Format(num, phonenumbers.INTERNATIONAL),
			"00"+e164[1:], "011"+e164[1:], "0"+nsn, "1"+nsn, "8"+nsn,
			cc+nsn, "+"+cc+"0"+nsn, nsn[1:], nsn+"1", "+"+cc+nsn[:len(nsn)-1],
		)
	}
	tested := 0
	for _, region := range keySafetyRegions {
		p := mustParser(t, region)
		for _, in := range inputs {
			if checkKeySafe(t, p, in) {
				tested++
			}
		}
		for i, r := range regions {
			if i%(step*2) != 0 {
				continue
			}
			if num := phonenumbers.GetExampleNumberForType(r, phonenumbers.MOBILE); num != nil {
				if checkKeySafe(t, p, phonenumbers.FormatOutOfCountryCallingNumber(num, region)) {
					tested++
				}
			}
		}
	}
	if want := len(keySafetyRegions) * len(inputs) / 30; tested < want {
		t.Errorf("only %d inputs had a valid key, want at least %d: the property was hardly tested", tested, want)
	}
	t.Logf("%d inputs, %d with a valid key", len(keySafetyRegions)*len(inputs), tested)
}

// FindPhone pays for full validation only when the cheap key misses.
func TestFindPhone(t *testing.T) {
	p := mustParser(t, "CN")
	bound := map[Phone]string{"+8613800138000": "alice", "+447911123456": "bob"}
	var calls []Phone
	find := func(k Phone) (string, bool, error) {
		calls = append(calls, k)
		v, ok := bound[k]
		return v, ok, nil
	}
	tests := []struct {
		in        string
		wantPhone Phone
		wantV     string
		wantFound bool
		wantErr   error
		wantCalls int
	}{
		{"138 0013 8000", "+8613800138000", "alice", true, nil, 1},
		{"+44 7911 123456", "+447911123456", "bob", true, nil, 1},
		// The cheap key misses (it keeps the "(0)"), the full path finds it.
		{"+44 (0)7911 123456", "+447911123456", "bob", true, nil, 2},
		// Full-width digits: no cheap key, one full lookup.
		{"１３８ ００１３ ８０００", "+8613800138000", "alice", true, nil, 1},
		// Valid but not bound: the cheap key equals the full one, asked once.
		{"139 0013 9000", "+8613900139000", "", false, nil, 1},
		{"+86 10 1234 5678", "", "", false, ErrNotMobile, 1},
		{"+86 190 0000", "", "", false, ErrInvalidPhone, 1},
		{"hello", "", "", false, ErrNotPhoneNumber, 0},
	}
	for _, tc := range tests {
		calls = calls[:0]
		ph, v, found, err := FindPhone(p, tc.in, find)
		if ph != tc.wantPhone || v != tc.wantV || found != tc.wantFound || !errors.Is(err, tc.wantErr) || (tc.wantErr == nil) != (err == nil) {
			t.Errorf("FindPhone(%q) = %q, %q, %v, %v; want %q, %q, %v, %v", tc.in, ph, v, found, err, tc.wantPhone, tc.wantV, tc.wantFound, tc.wantErr)
		}
		if len(calls) != tc.wantCalls {
			t.Errorf("FindPhone(%q) asked the directory %d times (%q), want %d", tc.in, len(calls), calls, tc.wantCalls)
		}
	}

	boom := errors.New("directory down")
	_, _, _, err := FindPhone(p, "138 0013 8000", func(Phone) (string, bool, error) { return "", false, boom })
	if !errors.Is(err, boom) {
		t.Errorf("FindPhone error = %v, want the directory's error", err)
	}
}

func FuzzNormalize(f *testing.F) {
	for _, tc := range validFormats {
		f.Add(tc.in)
	}
	for _, s := range []string{"", "+", "abc", "12345", "+999 1234 5678", "+86 10 1234 5678", "tel:+86-138-0013-8000", "+86 138 0013 8000;ext=1", "0086 0138 0013 8000", "+٨٦ ١٣٨٠٠١٣٨٠٠٠"} {
		f.Add(s)
	}
	p := mustParser(f, "CN")
	f.Fuzz(func(t *testing.T, raw string) {
		got, err := p.Normalize(raw)
		if err != nil {
			var pe *PhoneError
			if !errors.As(err, &pe) {
				t.Fatalf("Normalize(%q) error %v is not a *PhoneError", raw, err)
			}
			return
		}
		if !strings.HasPrefix(string(got), "+") || len(got) > 16 {
			t.Fatalf("Normalize(%q) = %q, not E.164", raw, got)
		}
		if again, err := p.Normalize(string(got)); err != nil || again != got {
			t.Fatalf("Normalize(%q) = %q, but Normalize(%q) = %q, %v", raw, got, got, again, err)
		}
		if key, ok := p.LookupKey(string(got)); !ok || key != got {
			t.Fatalf("LookupKey(%q) = %q, %v", got, key, ok)
		}
	})
}

func FuzzLookupKey(f *testing.F) {
	for i, tc := range validFormats {
		f.Add(uint8(i), tc.in)
	}
	for i, s := range []string{"07911 123456", "(415) 555-2671", "1 415 555 2671", "011 86 138 0013 8000", "0086 0138 0013 8000", "+44 (0)7911 123456", "(11) 91234-5678", "0 15 11 91234-5678", "8 912 345-67-89", "17951 138 0013 8000", "0011 61 412 345 678", "8613800138000"} {
		f.Add(uint8(i), s)
	}
	parsers := make([]*PhoneParser, len(keySafetyRegions))
	for i, r := range keySafetyRegions {
		parsers[i] = mustParser(f, r)
	}
	f.Fuzz(func(t *testing.T, region uint8, raw string) {
		_ = checkKeySafe(t, parsers[int(region)%len(parsers)], raw)
	})
}
