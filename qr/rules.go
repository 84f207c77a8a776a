package qr

import (
	"strings"
)

// value kinds of the EMVCo data object table.
const (
	kindAny      = iota // any characters
	kindNum             // digits
	kindFormat          // payload format indicator: "01"
	kindPOI             // point of initiation: "11" or "12"
	kindAmount          // decimal amount: digits, optionally '.' and digits
	kindHex             // CRC: four hex digits
	kindConsumer        // additional consumer data request: letters A, M, E
)

// rule is what EMVCo's data object table says of one data object.
type rule struct {
	fixed int // exact length in characters, or 0
	max   int // maximum length in characters
	kind  int
}

// rootRule is the rule of a root data object.
func rootRule(id ID) rule {
	switch id {
	case 0:
		return rule{fixed: 2, kind: kindFormat}
	case 1:
		return rule{fixed: 2, kind: kindPOI}
	case 52:
		return rule{fixed: 4, kind: kindNum}
	case 53:
		return rule{fixed: 3, kind: kindNum}
	case 54, 56:
		return rule{max: 13, kind: kindAmount}
	case 55:
		return rule{fixed: 2, kind: kindNum}
	case 57:
		return rule{max: 5, kind: kindAmount}
	case 58:
		return rule{fixed: 2}
	case 59:
		return rule{max: 25}
	case 60:
		return rule{max: 15}
	case 61:
		return rule{max: 10}
	case 63:
		return rule{fixed: 4, kind: kindHex}
	}
	return rule{max: 99}
}

// subRule is the rule of sub-object sub of root template tmpl.
func subRule(tmpl, sub ID) rule {
	switch {
	case tmpl == 62:
		switch {
		case sub >= 1 && sub <= 8:
			return rule{max: 25}
		case sub == 9:
			return rule{max: 3, kind: kindConsumer}
		case sub == 10:
			return rule{max: 20}
		case sub == 11:
			return rule{fixed: 3}
		}
	case tmpl == 64:
		switch sub {
		case 0:
			return rule{fixed: 2}
		case 1:
			return rule{max: 25}
		case 2:
			return rule{max: 15}
		}
	case sub == 0: // globally unique identifier of 26-51 and 80-99
		return rule{max: 32}
	}
	return rule{max: 99}
}

// promptPayRID starts the GUI of every PromptPay / Thai QR template.
const promptPayRID = "A000000677"

// checkStructure checks what is beyond single values: IDs, duplicates, 00
// first, templates' sub-object IDs and mandatory sub-objects, and the
// mandatory data objects. parsed says whether objs come from Parse (and so
// end with 63); for Encode, 63 is ignored.
func checkStructure(objs []Object, parsed bool) error {
	var seen [100]bool
	first := true
	promptPay := false
	mai := false
	for k := range objs {
		o := &objs[k]
		id := o.ID
		if !id.valid() {
			return &Error{Path: id.String(), Pos: -1, Err: ErrNotNumeric}
		}
		if id == 63 && !parsed {
			continue
		}
		if first && id != 0 {
			return &Error{Path: id.String(), Pos: -1, Err: ErrFormatNotFirst}
		}
		first = false
		if seen[id] {
			return &Error{Path: id.String(), Pos: -1, Err: ErrDuplicate}
		}
		seen[id] = true
		if id.IsTemplate() {
			if err := checkTemplate(id, o.Sub); err != nil {
				return err
			}
		}
		if id >= 2 && id <= 51 {
			mai = true
		}
		if id >= 26 && id <= 51 {
			if gui, _ := lookup(o.Sub, 0); hasPrefixFold(gui, promptPayRID) {
				promptPay = true
			}
		}
	}
	if !seen[0] {
		return &Error{Path: "00", Pos: -1, Err: ErrMissing}
	}
	if !mai {
		return &Error{Path: "02-51", Pos: -1, Err: ErrMissing}
	}
	mandatory := [...]ID{53, 58, 52, 59, 60}
	m := mandatory[:]
	if promptPay {
		// PromptPay (Thai QR) codes leave out 52, 59 and 60.
		m = mandatory[:2]
	}
	for _, id := range m {
		if !seen[id] {
			return &Error{Path: id.String(), Pos: -1, Err: ErrMissing}
		}
	}
	return nil
}

// checkTemplate checks the sub-object IDs of root template id and its
// mandatory sub-objects.
func checkTemplate(id ID, sub []Object) error {
	if len(sub) == 0 {
		return &Error{Path: id.String(), Pos: -1, Err: ErrBadLength}
	}
	var seen [100]bool
	for k := range sub {
		sid := sub[k].ID
		if !sid.valid() {
			return &Error{Path: subPath(id, sid), Pos: -1, Err: ErrNotNumeric}
		}
		if seen[sid] {
			return &Error{Path: subPath(id, sid), Pos: -1, Err: ErrDuplicate}
		}
		seen[sid] = true
	}
	switch {
	case id == 64 && !seen[0]:
		return &Error{Path: subPath(id, 0), Pos: -1, Err: ErrMissing}
	case id == 64 && !seen[1]:
		return &Error{Path: subPath(id, 1), Pos: -1, Err: ErrMissing}
	case id != 62 && id != 64 && !seen[0]:
		return &Error{Path: subPath(id, 0), Pos: -1, Err: ErrMissing}
	}
	return nil
}

// checkValue checks one primitive value of n characters against its rule
// and returns the sentinel of what is wrong.
func checkValue(r rule, v string, n int) error {
	switch {
	case n == 0:
		return ErrBadLength
	case r.fixed > 0 && n != r.fixed:
		return ErrBadLength
	case n > 99 || r.max > 0 && n > r.max:
		return ErrTooLong
	}
	ok := true
	switch r.kind {
	case kindNum:
		ok = allDigits(v)
	case kindFormat:
		ok = v == "01"
	case kindPOI:
		ok = v == "11" || v == "12"
	case kindAmount:
		_, _, ok = splitDecimal(v)
	case kindHex:
		_, ok = parseHex4(v)
	case kindConsumer:
		ok = strings.Trim(v, "AME") == ""
	}
	if !ok {
		return ErrInvalidValue
	}
	return nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return len(s) > 0
}

// splitDecimal splits an EMVCo amount ("23.72", "100", "0.5") into its
// integer and fractional digits. There must be at least one integer digit,
// and at least one fractional digit after a '.'.
func splitDecimal(v string) (intPart, frac string, ok bool) {
	intPart, frac, dot := strings.Cut(v, ".")
	if !allDigits(intPart) || dot && !allDigits(frac) {
		return "", "", false
	}
	return intPart, frac, true
}

// hasPrefixFold is strings.HasPrefix ignoring ASCII case.
func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}
