package qr

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// MaxPayloadLen is the largest payload EMVCo allows, in characters.
const MaxPayloadLen = 512

// maxObjects bounds the data objects (root and sub-objects together) of a
// payload of at most MaxPayloadLen characters: every object takes at least
// four characters (a template's header, or a primitive's header and one
// character of value).
const maxObjects = MaxPayloadLen / 4

// ID is a data object ID, 00-99: root IDs such as 54 (transaction amount)
// or 62 (additional data), and the sub-IDs inside a template, such as 05
// (reference label) in 62. Write it as a number: p.Get(54),
// p.GetSub(62, 5).
type ID uint8

// idText holds "00" to "99" back to back.
const idText = "00010203040506070809101112131415161718192021222324252627282930313233343536373839" +
	"40414243444546474849505152535455565758596061626364656667686970717273747576777879" +
	"8081828384858687888990919293949596979899"

// String returns the two digits of the ID as EMVCo writes it ("05"), or
// the number for an ID above 99, which no payload can hold.
func (id ID) String() string {
	if id > 99 {
		return strconv.Itoa(int(id))
	}
	return idText[2*id : 2*id+2]
}

// valid reports whether id fits in two digits.
func (id ID) valid() bool { return id <= 99 }

// IsTemplate reports whether root ID id holds sub-objects: the merchant
// account templates 26-51, additional data 62, language template 64 and the
// unreserved templates 80-99.
func (id ID) IsTemplate() bool {
	return id >= 26 && id <= 51 || id == 62 || id == 64 || id >= 80 && id <= 99
}

// Object is one EMVCo data object: an ID and a value.
//
// For a template (see ID.IsTemplate) Sub holds its sub-objects in order.
// Encode writes a template from Sub when Sub is not empty and from Value
// otherwise; Parse fills both (Value is then the raw text of the
// template). Sub-objects are primitives: their own Sub is ignored.
type Object struct {
	ID    ID       `json:"id"`
	Value string   `json:"value,omitempty"`
	Sub   []Object `json:"sub,omitempty"`
}

// Payload is a merchant-presented QR payload: its data objects in the order
// they appear. A parsed payload ends with data object 63 (the CRC); Encode
// ignores any 63 in Objects and appends a freshly computed one.
//
// The zero Payload is empty; build one by appending Objects or with Set and
// SetTemplate.
type Payload struct {
	Objects []Object
	// Warnings are the deviations from EMVCo's rules Parse accepted in a
	// structurally sound payload (valid TLV, valid CRC), as codes printed
	// in shops have them: a value over its maximum length (ErrTooLong, a
	// merchant name over 25 characters, a city over 15) or an empty
	// template (ErrBadLength, "6200"). Each *Error says where. Encode
	// refuses them.
	Warnings []*Error
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// span is a data object found by scan: its ID and the byte range of its
// value in the payload; for a root template also where its sub-objects are
// among the spans. It holds no pointers, so that Parse can keep a table of
// them on the stack for free.
type span struct {
	id         ID
	nsub       uint8  // root template: number of sub-objects
	sub        uint8  // root template: index of the first sub-object
	start, end uint16 // value bytes
}

// isASCII reports whether s has no byte of 0x80 or above. It reads eight
// bytes a step (the compiler merges the eight loads into one), the last
// step overlapping the one before, and short strings in two overlapping
// halves.
func isASCII(s string) bool {
	n := len(s)
	switch {
	case n >= 8:
		var or uint64
		for i := 0; i+8 <= n; i += 8 {
			or |= load64(s, i)
		}
		return (or|load64(s, n-8))&asciiMask == 0
	case n >= 4:
		return (load32(s, 0)|load32(s, n-4))&0x80808080 == 0
	case n >= 2:
		return (s[0]|s[1]|s[n-1])&0x80 == 0
	case n == 1:
		return s[0] < utf8.RuneSelf
	}
	return true
}

// asciiMask has the high bit of each of eight bytes.
const asciiMask = 0x8080808080808080

func load64(s string, i int) uint64 {
	s = s[i : i+8]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

func load32(s string, i int) uint32 {
	s = s[i : i+4]
	return uint32(s[0]) | uint32(s[1])<<8 | uint32(s[2])<<16 | uint32(s[3])<<24
}

// idSet is a set of IDs 00-99 (four words, so that any ID indexes it
// without a bounds check).
type idSet [4]uint64

// add adds id and reports whether it was already in the set.
func (s *idSet) add(id ID) (dup bool) {
	bit := uint64(1) << (id % 64)
	dup = s[id/64]&bit != 0
	s[id/64] |= bit
	return dup
}

func (s *idSet) has(id ID) bool { return s[id/64]&(uint64(1)<<(id%64)) != 0 }

// scan splits payload[start:end] into data objects, storing them into
// dst[:n], and returns the set of their IDs. It checks the ID and length
// digits, the length against the remaining text (in characters), UTF-8,
// duplicates, and each primitive value against its rule: tmpl is the
// enclosing template, or -1 at the root. The CRC (63) is left to the
// caller. With warn set it accepts an over-long value of the right format
// and an empty root template, adding a warning to *warn; with warn nil
// (Encode) they are errors.
func scan(payload string, start, end int, dst []span, tmpl int, warn *[]*Error) (n int, seen idSet, err error) {
	table := ruleTable(tmpl)
	var lo, hi uint64 // the IDs seen, kept in registers
	i := start
	for i < end {
		if n == len(dst) {
			return n, idSet{}, scanError(payload, i, tmpl, 0, false, ErrPayloadTooLong)
		}
		// Header: two-digit ID, two-digit length.
		if end-i < 4 {
			err := ErrTruncated
			for k := i; k < end; k++ {
				if !isDigit(payload[k]) {
					err = ErrNotNumeric
				}
			}
			return n, idSet{}, scanError(payload, i, tmpl, 0, false, err)
		}
		c0, c1, c2, c3 := payload[i]-'0', payload[i+1]-'0', payload[i+2]-'0', payload[i+3]-'0'
		if c0 > 9 || c1 > 9 || c2 > 9 || c3 > 9 {
			return n, idSet{}, scanError(payload, i, tmpl, 0, false, ErrNotNumeric)
		}
		id := ID(c0*10 + c1)
		length := int(c2)*10 + int(c3)
		if length == 0 {
			if warn == nil || tmpl >= 0 || !id.IsTemplate() {
				return n, idSet{}, scanError(payload, i, tmpl, id, true, ErrBadLength)
			}
			*warn = append(*warn, scanError(payload, i, tmpl, id, true, ErrBadLength).(*Error))
		}
		bit := uint64(1) << (id & 63)
		if id < 64 && lo&bit != 0 || id >= 64 && hi&bit != 0 {
			return n, idSet{}, scanError(payload, i, tmpl, id, true, ErrDuplicate)
		}
		if id < 64 {
			lo |= bit
		} else {
			hi |= bit
		}
		// Value: length characters. Most are short: eight bytes are
		// checked for ASCII at once.
		k := i + 4
		if k+length <= end && (length <= 8 && k+8 <= len(payload) && load64(payload, k)&(asciiMask>>(64-8*length)) == 0 ||
			length > 8 && isASCII(payload[k:k+length])) {
			k += length
		} else if k, err = skipRunes(payload, k, end, length); err != nil {
			if err == ErrInvalidUTF8 {
				return n, idSet{}, scanError(payload, k, tmpl, id, true, err)
			}
			return n, idSet{}, scanError(payload, i, tmpl, id, true, err)
		}
		if r := table[id]; r.kind != kindNone && (r.kind != kindAny || !r.lengthOK(length)) {
			err = checkValue(r, payload[i+4:k], length)
			if err == ErrTooLong && warn != nil && r.kind == kindAny {
				if r.max = 99; checkValue(r, payload[i+4:k], length) == nil {
					*warn = append(*warn, scanError(payload, i, tmpl, id, true, ErrTooLong).(*Error))
					err = nil
				}
			}
		}
		if err != nil {
			return n, idSet{}, scanError(payload, i, tmpl, id, true, err)
		}
		dst[n] = span{id: id, start: uint16(i + 4), end: uint16(k)}
		n++
		i = k
	}
	return n, idSet{lo, hi}, nil
}

// skipRunes returns the offset after count characters of payload from k
// on, not going past end: ErrTruncated if they do not fit, ErrInvalidUTF8
// (with the offset of the bad byte) if they are not UTF-8.
func skipRunes(payload string, k, end, count int) (int, error) {
	for c := 0; c < count; c++ {
		if k >= end {
			return k, ErrTruncated
		}
		if payload[k] < utf8.RuneSelf {
			k++
			continue
		}
		r, size := utf8.DecodeRuneInString(payload[k:end])
		if r == utf8.RuneError && size == 1 {
			return k, ErrInvalidUTF8
		}
		k += size
	}
	return k, nil
}

// scanError says where scan failed: at byte offset at, in template tmpl
// (or -1), in data object id when hasID.
func scanError(payload string, at, tmpl int, id ID, hasID bool, err error) error {
	path := ""
	switch {
	case tmpl >= 0 && hasID:
		path = subPath(ID(tmpl), id)
	case tmpl >= 0:
		path = ID(tmpl).String()
	case hasID:
		path = id.String()
	}
	return &Error{Path: path, Pos: runePos(payload, at), Err: err}
}

// Parse decodes a merchant-presented payload. It keeps every data object and
// its order, unknown IDs included, and parses the templates (26-51, 62, 64,
// 80-99) into sub-objects, so that Encode of an unmodified result without
// Warnings gives the same text back byte for byte.
//
// A structurally sound payload (valid TLV, valid CRC) whose values break
// only EMVCo's maximum lengths, or with an empty template, is accepted
// with Payload.Warnings saying where: real codes printed in shops do
// that. Broken structure and a bad CRC stay errors.
//
// Errors (wrapped in *Error): ErrPayloadTooLong, ErrInvalidUTF8,
// ErrNotNumeric, ErrTruncated, ErrBadLength, ErrDuplicate,
// ErrFormatNotFirst, ErrCRCNotLast, ErrMissing, ErrBadCRC,
// ErrInvalidValue.
func Parse(payload string) (*Payload, error) {
	if len(payload) > MaxPayloadLen && utf8.RuneCountInString(payload) > MaxPayloadLen {
		return nil, &Error{Pos: -1, Err: ErrPayloadTooLong}
	}
	if len(payload) >= 2 && isDigit(payload[0]) && isDigit(payload[1]) && payload[:2] != "00" {
		return nil, &Error{Path: payload[:2], Pos: 0, Err: ErrFormatNotFirst}
	}
	var spans [maxObjects]span
	var warnings []*Error
	nRoot, rootSeen, err := scan(payload, 0, len(payload), spans[:], -1, &warnings)
	if err != nil {
		return nil, err
	}
	if nRoot == 0 {
		return nil, &Error{Path: "00", Pos: -1, Err: ErrMissing}
	}
	for k := 0; k < nRoot-1; k++ {
		if spans[k].id == 63 {
			return nil, &Error{Path: "63", Pos: -1, Err: ErrCRCNotLast}
		}
	}
	last := &spans[nRoot-1]
	if last.id != 63 {
		return nil, &Error{Path: "63", Pos: -1, Err: ErrMissing}
	}
	crcText := payload[last.start:last.end]
	if len(crcText) != 4 {
		return nil, &Error{Path: "63", Pos: -1, Err: ErrBadLength}
	}
	want, ok := parseHex4(crcText)
	if !ok || crc16(payload[:len(payload)-4]) != want {
		return nil, &Error{Path: "63", Pos: runePos(payload, len(payload)-8), Err: ErrBadCRC}
	}

	// Templates: their sub-objects go after the root objects.
	n := nRoot
	promptPay := false
	for k := 0; k < nRoot; k++ {
		s := &spans[k]
		if !s.id.IsTemplate() {
			continue
		}
		m, subSeen, err := scan(payload, int(s.start), int(s.end), spans[n:], int(s.id), &warnings)
		if err != nil {
			return nil, err
		}
		if err := checkTemplate(s.id, subSeen); err != nil {
			return nil, err
		}
		if s.id >= 26 && s.id <= 51 {
			for _, sub := range spans[n : n+m] {
				if sub.id == 0 && isPromptPayGUI(payload[sub.start:sub.end]) {
					promptPay = true
				}
			}
		}
		s.sub, s.nsub = uint8(n), uint8(m)
		n += m
	}
	if err := checkMandatory(rootSeen, promptPay); err != nil {
		return nil, err
	}
	objs := make([]Object, n)
	for k := range objs {
		s := &spans[k]
		objs[k].ID = s.id
		objs[k].Value = payload[s.start:s.end]
	}
	for k := 0; k < nRoot; k++ {
		if s := &spans[k]; s.nsub > 0 {
			end := int(s.sub) + int(s.nsub)
			objs[k].Sub = objs[s.sub:end:end]
		}
	}
	if strings.ContainsAny(crcText, "abcdef") {
		// Accepted, but kept in the upper case Encode writes.
		objs[nRoot-1].Value = strings.ToUpper(crcText)
	}
	return &Payload{Objects: objs[:nRoot:nRoot], Warnings: warnings}, nil
}

// runePos converts a byte offset into a character offset.
func runePos(s string, at int) int {
	if at < 0 {
		return -1
	}
	return utf8.RuneCountInString(s[:min(at, len(s))])
}

// subPath names sub-object sub of template id: "62.05".
func subPath(id, sub ID) string {
	return id.String() + "." + sub.String()
}

// Encode returns the payload text: every data object except 63 in order,
// then 63 with the CRC of everything before its value, in upper-case hex. It
// checks the same rules as Parse, so whatever it returns, Parse accepts.
//
// Errors (wrapped in *Error): ErrNotNumeric (an ID above 99), ErrBadLength,
// ErrTooLong, ErrDuplicate, ErrFormatNotFirst, ErrMissing, ErrInvalidValue,
// ErrInvalidUTF8, ErrPayloadTooLong, and the errors of Parse for a template
// given as a raw Value.
func (p *Payload) Encode() (string, error) {
	objs, err := withSubs(p.Objects)
	if err != nil {
		return "", err
	}
	if err := checkStructure(objs); err != nil {
		return "", err
	}
	var stack [4 * MaxPayloadLen]byte
	b, runes, err := appendChecked(stack[:0], objs)
	if err != nil {
		return "", err
	}
	if runes+8 > MaxPayloadLen {
		return "", &Error{Pos: -1, Err: ErrPayloadTooLong}
	}
	b = append(b, "6304"...)
	b = appendCRC(b, crc16(b))
	return string(b), nil
}

// String returns Encode's text, or "" if the payload is not valid.
func (p *Payload) String() string {
	s, err := p.Encode()
	if err != nil {
		return ""
	}
	return s
}

// withSubs returns objs with every template given only as a raw Value
// parsed into Sub (a copy; objs itself is returned when there is none).
func withSubs(objs []Object) ([]Object, error) {
	var out []Object
	for k := range objs {
		o := &objs[k]
		if len(o.Sub) > 0 || !o.ID.IsTemplate() {
			continue
		}
		var spans [maxObjects]span
		m, _, err := scan(o.Value, 0, len(o.Value), spans[:], int(o.ID), nil)
		if err != nil {
			if e, ok := err.(*Error); ok {
				e.Pos = -1
			}
			return nil, err
		}
		if out == nil {
			out = append([]Object(nil), objs...)
		}
		sub := make([]Object, m)
		for j := range sub {
			sub[j] = Object{ID: spans[j].id, Value: o.Value[spans[j].start:spans[j].end]}
		}
		out[k].Sub = sub
	}
	if out == nil {
		return objs, nil
	}
	return out, nil
}

// appendChecked writes objs as EMVCo text (leaving out 63), checking every
// value against its rule on the way (checkStructure made sure every ID is
// below 100). It returns the text's length in
// characters.
func appendChecked(b []byte, objs []Object) (_ []byte, runes int, err error) {
	for k := range objs {
		o := &objs[k]
		if o.ID == 63 {
			continue
		}
		if !o.ID.IsTemplate() {
			n, err := checkedLen(rules[0][o.ID], o.Value)
			if err != nil {
				return nil, 0, &Error{Path: o.ID.String(), Pos: -1, Err: err}
			}
			b = append(appendHeader(b, o.ID, n), o.Value...)
			runes += 4 + n
			continue
		}
		hdr := len(b)
		b = appendHeader(b, o.ID, 0)
		table := ruleTable(int(o.ID))
		total := 0
		for j := range o.Sub {
			s := &o.Sub[j]
			n, err := checkedLen(table[s.ID], s.Value)
			if err != nil {
				return nil, 0, &Error{Path: subPath(o.ID, s.ID), Pos: -1, Err: err}
			}
			b = append(appendHeader(b, s.ID, n), s.Value...)
			total += 4 + n
		}
		if total > 99 {
			return nil, 0, &Error{Path: o.ID.String(), Pos: -1, Err: ErrTooLong}
		}
		b[hdr+2], b[hdr+3] = byte('0'+total/10), byte('0'+total%10)
		runes += 4 + total
	}
	return b, runes, nil
}

// checkedLen counts the characters of v, checking that it is UTF-8 and that
// it obeys r.
func checkedLen(r rule, v string) (int, error) {
	n := len(v)
	if !isASCII(v) {
		if !utf8.ValidString(v) {
			return 0, ErrInvalidUTF8
		}
		n = utf8.RuneCountInString(v)
	}
	return n, checkValue(r, v, n)
}

// appendObjects writes objs as EMVCo text without checking them, leaving
// out 63 and the root IDs marked in skip (nil: none).
func appendObjects(b []byte, objs []Object, skip *[100]bool) []byte {
	for k := range objs {
		o := &objs[k]
		if o.ID == 63 || skip != nil && o.ID.valid() && skip[o.ID] {
			continue
		}
		if len(o.Sub) == 0 {
			b = appendTLV(b, o.ID, o.Value)
			continue
		}
		b = appendHeader(b, o.ID, subLen(o.Sub))
		for j := range o.Sub {
			b = appendTLV(b, o.Sub[j].ID, o.Sub[j].Value)
		}
	}
	return b
}

// subLen is the length in characters of a template's encoded sub-objects.
func subLen(sub []Object) int {
	n := 0
	for j := range sub {
		n += 4 + utf8.RuneCountInString(sub[j].Value)
	}
	return n
}

func appendTLV(b []byte, id ID, value string) []byte {
	b = appendHeader(b, id, utf8.RuneCountInString(value))
	return append(b, value...)
}

func appendHeader(b []byte, id ID, n int) []byte {
	return append(b, byte('0'+id/10), byte('0'+id%10), byte('0'+n/10), byte('0'+n%10))
}

// Get returns the value of root data object id.
func (p *Payload) Get(id ID) (string, bool) {
	if o := p.find(id); o != nil {
		return o.Value, true
	}
	return "", false
}

// Template returns the sub-objects of root template id (nil if absent).
func (p *Payload) Template(id ID) []Object {
	if o := p.find(id); o != nil {
		return o.Sub
	}
	return nil
}

// GetSub returns the value of sub-object sub of root template id.
func (p *Payload) GetSub(id, sub ID) (string, bool) {
	if o := p.find(id); o != nil {
		return lookup(o.Sub, sub)
	}
	return "", false
}

// Set sets root data object id to a primitive value, in place when present,
// else appended (before 63 when there is one).
func (p *Payload) Set(id ID, value string) {
	p.put(Object{ID: id, Value: value})
}

// SetTemplate sets root template id to the given sub-objects, in place when
// present, else appended (before 63 when there is one).
func (p *Payload) SetTemplate(id ID, sub ...Object) {
	p.put(Object{ID: id, Sub: sub})
}

// Delete removes root data object id.
func (p *Payload) Delete(id ID) {
	for k := range p.Objects {
		if p.Objects[k].ID == id {
			p.Objects = append(p.Objects[:k:k], p.Objects[k+1:]...)
			return
		}
	}
}

func (p *Payload) put(o Object) {
	if old := p.find(o.ID); old != nil {
		*old = o
		return
	}
	n := len(p.Objects)
	if n > 0 && p.Objects[n-1].ID == 63 {
		p.Objects = append(p.Objects[:n-1:n-1], o, p.Objects[n-1])
		return
	}
	p.Objects = append(p.Objects, o)
}

func (p *Payload) find(id ID) *Object {
	for k := range p.Objects {
		if p.Objects[k].ID == id {
			return &p.Objects[k]
		}
	}
	return nil
}

func lookup(objs []Object, id ID) (string, bool) {
	for k := range objs {
		if objs[k].ID == id {
			return objs[k].Value, true
		}
	}
	return "", false
}
