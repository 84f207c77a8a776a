package qr

import (
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

// Object is one EMVCo data object: a two-digit ID and a value.
//
// For a template (root IDs 26-51, 62, 64 and 80-99) Sub holds its
// sub-objects in order. Encode writes a template from Sub when Sub is not
// empty and from Value otherwise; Parse fills both (Value is then the raw
// text of the template). Sub-objects are primitives: their own Sub is ignored.
type Object struct {
	ID    string
	Value string
	Sub   []Object
}

// Payload is a merchant-presented QR payload: its data objects in the order
// they appear. A parsed payload ends with data object 63 (the CRC); Encode
// ignores any 63 in Objects and appends a freshly computed one.
//
// The zero Payload is empty; build one by appending Objects or with Set and
// SetTemplate.
type Payload struct {
	Objects []Object
}

// isTemplate reports whether a root ID holds sub-objects.
func isTemplate(id int) bool {
	return id >= 26 && id <= 51 || id == 62 || id == 64 || id >= 80
}

// idNum returns the numeric value of a two-digit ID, or -1.
func idNum(id string) int {
	if len(id) != 2 || !isDigit(id[0]) || !isDigit(id[1]) {
		return -1
	}
	return int(id[0]-'0')*10 + int(id[1]-'0')
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// scan splits payload[start:end] into data objects, storing them into
// dst[:n] and, when offs is not nil, the byte offset of each value into
// offs. It checks the ID and length digits, the length against the
// remaining text (in characters), UTF-8, duplicates, and each primitive
// value against its rule: tmpl is the enclosing template's ID (tmplID its
// text), or -1 at the root. The CRC (63) is left to the caller.
func scan(payload string, start, end int, dst []Object, offs []int, tmplID string, tmpl int) (n int, err error) {
	var seen [100]bool
	fail := func(at int, id string, err error) (int, error) {
		path := id
		if tmpl >= 0 {
			path = subPath(tmplID, id)
		}
		if e, ok := err.(*Error); ok {
			e.Pos = runePos(payload, at)
			return n, e
		}
		return n, &Error{Path: path, Pos: runePos(payload, at), Err: err}
	}
	i := start
	for i < end {
		if n == len(dst) {
			return fail(i, "", ErrPayloadTooLong)
		}
		// Header: two-digit ID, two-digit length.
		hdr := min(i+4, end)
		for k := i; k < hdr; k++ {
			if !isDigit(payload[k]) {
				return fail(i, "", ErrNotNumeric)
			}
		}
		if hdr-i < 4 {
			return fail(i, "", ErrTruncated)
		}
		id := payload[i : i+2]
		idn := int(payload[i]-'0')*10 + int(payload[i+1]-'0')
		length := int(payload[i+2]-'0')*10 + int(payload[i+3]-'0')
		if length == 0 {
			return fail(i, id, ErrBadLength)
		}
		if seen[idn] {
			return fail(i, id, ErrDuplicate)
		}
		seen[idn] = true
		// Value: length characters.
		k := i + 4
		for c := 0; c < length; c++ {
			if k >= end {
				return fail(i, id, ErrTruncated)
			}
			if payload[k] < utf8.RuneSelf {
				k++
				continue
			}
			r, size := utf8.DecodeRuneInString(payload[k:end])
			if r == utf8.RuneError && size == 1 {
				return fail(k, id, ErrInvalidUTF8)
			}
			k += size
		}
		v := payload[i+4 : k]
		switch {
		case tmpl >= 0:
			err = checkValue(tmplID, id, subRule(tmpl, idn), v, length)
		case idn != 63 && !isTemplate(idn):
			err = checkValue(id, "", rootRule(idn), v, length)
		}
		if err != nil {
			return fail(i, id, err)
		}
		dst[n] = Object{ID: id, Value: v}
		if offs != nil {
			offs[n] = i + 4
		}
		n++
		i = k
	}
	return n, nil
}

// Parse decodes a merchant-presented payload. It keeps every data object and
// its order, unknown IDs included, and parses the templates (26-51, 62, 64,
// 80-99) into sub-objects, so that Encode of an unmodified result gives the
// same text back byte for byte.
//
// Errors (wrapped in *Error): ErrPayloadTooLong, ErrInvalidUTF8,
// ErrNotNumeric, ErrTruncated, ErrBadLength, ErrDuplicate,
// ErrFormatNotFirst, ErrCRCNotLast, ErrMissing, ErrBadCRC, ErrTooLong,
// ErrInvalidValue.
func Parse(payload string) (*Payload, error) {
	if len(payload) > MaxPayloadLen && utf8.RuneCountInString(payload) > MaxPayloadLen {
		return nil, &Error{Pos: -1, Err: ErrPayloadTooLong}
	}
	if len(payload) >= 2 && isDigit(payload[0]) && isDigit(payload[1]) && payload[:2] != "00" {
		return nil, &Error{Path: payload[:2], Pos: 0, Err: ErrFormatNotFirst}
	}
	var buf [maxObjects]Object
	var offs [maxObjects]int
	nRoot, err := scan(payload, 0, len(payload), buf[:], offs[:], "", -1)
	if err != nil {
		return nil, err
	}
	if nRoot == 0 {
		return nil, &Error{Path: "00", Pos: -1, Err: ErrMissing}
	}
	for k := 0; k < nRoot-1; k++ {
		if buf[k].ID == "63" {
			return nil, &Error{Path: "63", Pos: -1, Err: ErrCRCNotLast}
		}
	}
	last := &buf[nRoot-1]
	if last.ID != "63" {
		return nil, &Error{Path: "63", Pos: -1, Err: ErrMissing}
	}
	if len(last.Value) != 4 {
		return nil, &Error{Path: "63", Pos: -1, Err: ErrBadLength}
	}
	want, ok := parseHex4(last.Value)
	if !ok || crc16(payload[:len(payload)-4]) != want {
		return nil, &Error{Path: "63", Pos: runePos(payload, len(payload)-8), Err: ErrBadCRC}
	}
	if strings.ContainsAny(last.Value, "abcdef") {
		// Accepted, but kept in the upper case Encode writes.
		last.Value = strings.ToUpper(last.Value)
	}

	// Templates: their sub-objects go after the root objects in buf.
	var subEnd [maxObjects]int
	n := nRoot
	for k := 0; k < nRoot; k++ {
		subEnd[k] = n
		tmpl := idNum(buf[k].ID)
		if !isTemplate(tmpl) {
			continue
		}
		m, err := scan(payload, offs[k], offs[k]+len(buf[k].Value), buf[n:], nil, buf[k].ID, tmpl)
		if err != nil {
			return nil, err
		}
		n += m
		subEnd[k] = n
	}
	objs := make([]Object, n)
	copy(objs, buf[:n])
	start := nRoot
	for k := 0; k < nRoot; k++ {
		if subEnd[k] > start {
			objs[k].Sub = objs[start:subEnd[k]:subEnd[k]]
			start = subEnd[k]
		}
	}
	p := &Payload{Objects: objs[:nRoot:nRoot]}
	if err := checkStructure(p.Objects, true); err != nil {
		return nil, err
	}
	return p, nil
}

// runePos converts a byte offset into a character offset.
func runePos(s string, at int) int {
	if at < 0 {
		return -1
	}
	return utf8.RuneCountInString(s[:min(at, len(s))])
}

func subPath(id, sub string) string {
	if sub == "" {
		return id
	}
	return id + "." + sub
}

// Encode returns the payload text: every data object except 63 in order,
// then 63 with the CRC of everything before its value, in upper-case hex. It
// checks the same rules as Parse, so whatever it returns, Parse accepts.
//
// Errors (wrapped in *Error): ErrNotNumeric (an ID that is not two digits),
// ErrBadLength, ErrTooLong, ErrDuplicate, ErrFormatNotFirst, ErrMissing,
// ErrInvalidValue, ErrInvalidUTF8, ErrPayloadTooLong, and the errors of
// Parse for a template given as a raw Value.
func (p *Payload) Encode() (string, error) {
	objs, err := withSubs(p.Objects)
	if err != nil {
		return "", err
	}
	if err := checkStructure(objs, false); err != nil {
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
		tmpl := idNum(o.ID)
		if len(o.Sub) > 0 || !isTemplate(tmpl) {
			continue
		}
		var buf [maxObjects]Object
		m, err := scan(o.Value, 0, len(o.Value), buf[:], nil, o.ID, tmpl)
		if err != nil {
			if e, ok := err.(*Error); ok {
				e.Pos = -1
			}
			return nil, err
		}
		if out == nil {
			out = append([]Object(nil), objs...)
		}
		out[k].Sub = append([]Object(nil), buf[:m]...)
	}
	if out == nil {
		return objs, nil
	}
	return out, nil
}

// appendChecked writes objs as EMVCo text (leaving out 63), checking every
// value against its rule on the way. It returns the text's length in
// characters.
func appendChecked(b []byte, objs []Object) (_ []byte, runes int, err error) {
	for k := range objs {
		o := &objs[k]
		if o.ID == "63" {
			continue
		}
		id := idNum(o.ID) // checkStructure made sure it is two digits
		if !isTemplate(id) {
			n, err := checkedLen(o.ID, "", rootRule(id), o.Value)
			if err != nil {
				return nil, 0, err
			}
			b = append(appendHeader(b, o.ID, n), o.Value...)
			runes += 4 + n
			continue
		}
		hdr := len(b)
		b = appendHeader(b, o.ID, 0)
		total := 0
		for j := range o.Sub {
			s := &o.Sub[j]
			n, err := checkedLen(o.ID, s.ID, subRule(id, idNum(s.ID)), s.Value)
			if err != nil {
				return nil, 0, err
			}
			b = append(appendHeader(b, s.ID, n), s.Value...)
			total += 4 + n
		}
		if total > 99 {
			return nil, 0, &Error{Path: o.ID, Pos: -1, Err: ErrTooLong}
		}
		b[hdr+2], b[hdr+3] = byte('0'+total/10), byte('0'+total%10)
		runes += 4 + total
	}
	return b, runes, nil
}

// checkedLen counts the characters of v, checking that it is UTF-8 and that
// it obeys r.
func checkedLen(id, sub string, r rule, v string) (int, error) {
	n := 0
	for i := 0; i < len(v); n++ {
		if v[i] < utf8.RuneSelf {
			i++
			continue
		}
		c, size := utf8.DecodeRuneInString(v[i:])
		if c == utf8.RuneError && size == 1 {
			return 0, &Error{Path: subPath(id, sub), Pos: -1, Err: ErrInvalidUTF8}
		}
		i += size
	}
	return n, checkValue(id, sub, r, v, n)
}

// appendObjects writes objs as EMVCo text without checking them, leaving
// out 63 and the root IDs marked in skip (nil: none).
func appendObjects(b []byte, objs []Object, skip *[100]bool) []byte {
	for k := range objs {
		o := &objs[k]
		if o.ID == "63" {
			continue
		}
		if skip != nil {
			if n := idNum(o.ID); n >= 0 && skip[n] {
				continue
			}
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

func appendTLV(b []byte, id, value string) []byte {
	b = appendHeader(b, id, utf8.RuneCountInString(value))
	return append(b, value...)
}

func appendHeader(b []byte, id string, n int) []byte {
	return append(b, id[0], id[1], byte('0'+n/10), byte('0'+n%10))
}

// Get returns the value of root data object id.
func (p *Payload) Get(id string) (string, bool) {
	if o := p.find(id); o != nil {
		return o.Value, true
	}
	return "", false
}

// Template returns the sub-objects of root template id (nil if absent).
func (p *Payload) Template(id string) []Object {
	if o := p.find(id); o != nil {
		return o.Sub
	}
	return nil
}

// GetSub returns the value of sub-object sub of root template id.
func (p *Payload) GetSub(id, sub string) (string, bool) {
	if o := p.find(id); o != nil {
		return lookup(o.Sub, sub)
	}
	return "", false
}

// Set sets root data object id to a primitive value, in place when present,
// else appended (before 63 when there is one).
func (p *Payload) Set(id, value string) {
	p.put(Object{ID: id, Value: value})
}

// SetTemplate sets root template id to the given sub-objects, in place when
// present, else appended (before 63 when there is one).
func (p *Payload) SetTemplate(id string, sub ...Object) {
	p.put(Object{ID: id, Sub: sub})
}

// Delete removes root data object id.
func (p *Payload) Delete(id string) {
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
	if n > 0 && p.Objects[n-1].ID == "63" {
		p.Objects = append(p.Objects[:n-1:n-1], o, p.Objects[n-1])
		return
	}
	p.Objects = append(p.Objects, o)
}

func (p *Payload) find(id string) *Object {
	for k := range p.Objects {
		if p.Objects[k].ID == id {
			return &p.Objects[k]
		}
	}
	return nil
}

func lookup(objs []Object, id string) (string, bool) {
	for k := range objs {
		if objs[k].ID == id {
			return objs[k].Value, true
		}
	}
	return "", false
}
