package transfer

import (
	"math/rand/v2"
	"regexp"
	"testing"

	"github.com/nyaruka/phonenumbers"
)

func TestPrefixSetSmall(t *testing.T) {
	set, ok := compilePrefixSet(`00|1(?:[12]\d|79)\d\d00`) // China's international prefixes
	if !ok {
		t.Fatal("compilePrefixSet failed")
	}
	tests := []struct {
		digits string
		want   int
	}{
		{"0086138", 2}, {"1790086138", -1}, {"17900861", -1}, {"1790000861", 7}, {"1210000", 7}, {"13800138000", -1}, {"0", -1}, {"", -1},
	}
	for _, tc := range tests {
		if got := set.match([]byte(tc.digits)); got != tc.want {
			t.Errorf("match(%q) = %d, want %d", tc.digits, got, tc.want)
		}
	}
	// Several prefixes of the same digits: ambiguous.
	set, _ = compilePrefixSet(`0|01`)
	if got := set.match([]byte("0123")); got != -2 {
		t.Errorf("match with two prefixes = %d, want -2", got)
	}
	// The empty string can be in the set.
	set, _ = compilePrefixSet(`0?`)
	if got := set.match([]byte("123")); got != 0 {
		t.Errorf("match of the empty prefix = %d, want 0", got)
	}
	for _, bad := range []string{`(000\d{4})$`, `\d+`, `^0`, `[`, `\d{13}`} {
		if _, ok := compilePrefixSet(bad); ok {
			t.Errorf("compilePrefixSet(%q) succeeded, want it to give up", bad)
		}
	}
}

// For the prefix patterns of every region, the set agrees with the regular
// expression libphonenumber runs, wherever the set gives an answer.
func TestPrefixSetAgreesWithRegexp(t *testing.T) {
	coll, err := phonenumbers.MetadataCollection()
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	samples := 300
	if raceEnabled {
		samples = 60
	}
	patterns, gaveUp, ambiguous := 0, 0, 0
	for _, m := range coll.GetMetadata() {
		for _, pattern := range []string{m.GetInternationalPrefix(), m.GetNationalPrefixForParsing()} {
			if pattern == "" {
				continue
			}
			patterns++
			set, ok := compilePrefixSet(pattern)
			if !ok {
				gaveUp++
				continue
			}
			re := regexp.MustCompile(`^(?:` + pattern + `)`)
			for i := range samples {
				d := make([]byte, 0, 16)
				if i%2 == 0 { // start on a path of the trie
					for node := int32(0); len(d) < 8; {
						c := rng.IntN(10)
						next := set.nodes[node].next[c]
						if next == 0 {
							break
						}
						d, node = append(d, byte('0'+c)), next
					}
				}
				for n := rng.IntN(10); n > 0; n-- {
					d = append(d, byte('0'+rng.IntN(10)))
				}
				got := set.match(d)
				loc := re.FindIndex(d)
				switch {
				case got == -2:
					ambiguous++
				case got == -1 && loc != nil, got >= 0 && (loc == nil || loc[1] != got):
					t.Fatalf("%s %q: set match(%q) = %d, regexp %v", m.GetId(), pattern, d, got, loc)
				}
			}
		}
	}
	t.Logf("%d patterns, %d beyond the set compiler, %d ambiguous samples", patterns, gaveUp, ambiguous)
	if gaveUp > patterns/10 {
		t.Errorf("gave up on %d of %d patterns", gaveUp, patterns)
	}
}

// The common regions' prefixes compile to sets; the rest (Brazil's national
// prefix pattern ends in \d{10,11}) fall back to the regular expression.
func TestPhoneParserPrefixRules(t *testing.T) {
	for _, r := range []string{"CN", "US", "GB", "HK", "SG", "IN"} {
		p := mustParser(t, r)
		if p.idd.set == nil || p.ndd.set == nil && p.ndd.re != nil {
			t.Errorf("%s: prefix patterns did not compile to sets", r)
		}
	}
	br := mustParser(t, "BR")
	if br.ndd.re == nil {
		t.Skip("BR's metadata changed; nothing to test")
	}
	if k, ok := br.LookupKey("(11) 91234-5678"); !ok || k != "+5511912345678" {
		t.Errorf("BR: LookupKey = %q, %v", k, ok)
	}
	// Its national prefix comes with a carrier code and a rewrite rule.
	if k, ok := br.LookupKey("0 15 11 91234-5678"); ok {
		t.Errorf("BR: LookupKey with a carrier code = %q, want no key", k)
	}
}
