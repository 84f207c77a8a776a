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
	kindNone            // not checked by scan: root templates (their sub-objects are) and the CRC (Parse checks it)
)

// rule is what EMVCo's data object table says of one data object.
type rule struct {
	fixed uint8 // exact length in characters, or 0
	max   uint8 // maximum length in characters (99 when the table says none)
	kind  uint8
}

// lengthOK reports whether a value of n characters has a length rule r
// allows.
func (r rule) lengthOK(n int) bool {
	return n > 0 && (r.fixed == 0 || n == int(r.fixed)) && n <= int(r.max)
}

// rules holds the rule of every root ID (rules[0]) and of every sub-ID of
// the account and unreserved templates (rules[1]), of 62 (rules[2]) and of
// 64 (rules[3]), so that scan looks them up instead of switching. It is
// filled once at package initialisation from rootRule and subRule and only
// read afterwards.
var rules = func() (t [4][100]rule) {
	for id := range ID(100) {
		t[0][id] = rootRule(id)
		if id.IsTemplate() || id == 63 {
			t[0][id].kind = kindNone
		}
		t[1][id] = subRule(26, id)
		t[2][id] = subRule(62, id)
		t[3][id] = subRule(64, id)
	}
	return t
}()

// ruleTable returns the rules of the sub-objects of template tmpl, or of
// the root primitives when tmpl is -1 (where templates and the CRC have
// kindNone).
func ruleTable(tmpl int) *[100]rule {
	switch tmpl {
	case -1:
		return &rules[0]
	case 62:
		return &rules[2]
	case 64:
		return &rules[3]
	}
	return &rules[1]
}

// rootRule is the rule of a root data object. A rule with a fixed length
// has it as its maximum too.
func rootRule(id ID) rule {
	switch id {
	case 0:
		return rule{fixed: 2, max: 2, kind: kindFormat}
	case 1:
		return rule{fixed: 2, max: 2, kind: kindPOI}
	case 52:
		return rule{fixed: 4, max: 4, kind: kindNum}
	case 53:
		return rule{fixed: 3, max: 3, kind: kindNum}
	case 54, 56:
		return rule{max: 13, kind: kindAmount}
	case 55:
		return rule{fixed: 2, max: 2, kind: kindNum}
	case 57:
		return rule{max: 5, kind: kindAmount}
	case 58:
		return rule{fixed: 2, max: 2}
	case 59:
		return rule{max: 25}
	case 60:
		return rule{max: 15}
	case 61:
		return rule{max: 10}
	case 63:
		return rule{fixed: 4, max: 4, kind: kindHex}
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
			return rule{fixed: 3, max: 3}
		}
	case tmpl == 64:
		switch sub {
		case 0:
			return rule{fixed: 2, max: 2}
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

// checkStructure checks what is beyond single values of objects built by
// hand (Encode): IDs, duplicates, 00 first, templates' sub-object IDs and
// mandatory sub-objects, and the mandatory data objects. 63 is ignored.
// (Parse checks the same with the sets scan returns.)
func checkStructure(objs []Object) error {
	var seen idSet
	first := true
	promptPay := false
	for k := range objs {
		o := &objs[k]
		id := o.ID
		if !id.valid() {
			return &Error{Path: id.String(), Pos: -1, Err: ErrNotNumeric}
		}
		if id == 63 {
			continue
		}
		if first && id != 0 {
			return &Error{Path: id.String(), Pos: -1, Err: ErrFormatNotFirst}
		}
		first = false
		if seen.add(id) {
			return &Error{Path: id.String(), Pos: -1, Err: ErrDuplicate}
		}
		if !id.IsTemplate() {
			continue
		}
		if len(o.Sub) == 0 {
			return &Error{Path: id.String(), Pos: -1, Err: ErrBadLength}
		}
		var subs idSet
		for j := range o.Sub {
			sid := o.Sub[j].ID
			switch {
			case !sid.valid():
				return &Error{Path: subPath(id, sid), Pos: -1, Err: ErrNotNumeric}
			case subs.add(sid):
				return &Error{Path: subPath(id, sid), Pos: -1, Err: ErrDuplicate}
			}
		}
		if err := checkTemplate(id, subs); err != nil {
			return err
		}
		if id >= 26 && id <= 51 {
			if gui, _ := lookup(o.Sub, 0); isPromptPayGUI(gui) {
				promptPay = true
			}
		}
	}
	return checkMandatory(seen, promptPay)
}

// isPromptPayGUI reports whether a merchant account template's GUI is
// PromptPay's (Thai QR).
func isPromptPayGUI(gui string) bool { return hasPrefixFold(gui, promptPayRID) }

// checkMandatory checks that the root data objects present (seen) include
// the mandatory ones: 00, a merchant account (02-51), 53 and 58, and 52, 59
// and 60 unless a PromptPay template is present (Thai QR codes leave them
// out).
func checkMandatory(seen idSet, promptPay bool) error {
	if !seen.has(0) {
		return &Error{Path: "00", Pos: -1, Err: ErrMissing}
	}
	const accounts = (uint64(1)<<50 - 1) << 2 // IDs 02-51
	if seen[0]&accounts == 0 {
		return &Error{Path: "02-51", Pos: -1, Err: ErrMissing}
	}
	mandatory := [...]ID{53, 58, 52, 59, 60}
	m := mandatory[:]
	if promptPay {
		m = mandatory[:2]
	}
	for _, id := range m {
		if !seen.has(id) {
			return &Error{Path: id.String(), Pos: -1, Err: ErrMissing}
		}
	}
	return nil
}

// checkTemplate checks the mandatory sub-objects of root template id,
// given the set of its sub-object IDs: 00 and 01 in 64, the GUI (00) in
// the others but 62.
func checkTemplate(id ID, subs idSet) error {
	switch {
	case id == 64 && !subs.has(0):
		return &Error{Path: subPath(id, 0), Pos: -1, Err: ErrMissing}
	case id == 64 && !subs.has(1):
		return &Error{Path: subPath(id, 1), Pos: -1, Err: ErrMissing}
	case id != 62 && id != 64 && !subs.has(0):
		return &Error{Path: subPath(id, 0), Pos: -1, Err: ErrMissing}
	}
	return nil
}

// checkValue checks one primitive value of n characters against its rule
// and returns the sentinel of what is wrong.
func checkValue(r rule, v string, n int) error {
	switch {
	case r.lengthOK(n):
	case n == 0 || r.fixed > 0 && n != int(r.fixed):
		return ErrBadLength
	default:
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
		for i := 0; i < len(v); i++ {
			ok = ok && (v[i] == 'A' || v[i] == 'M' || v[i] == 'E')
		}
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
