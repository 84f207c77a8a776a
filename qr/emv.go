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

// scanError is a structural error found by scan: the sentinel, the byte
// offset where the failing object starts and its ID when known.
type scanError struct {
	err error
	at  int
	id  string
}

// scan splits s into data objects, storing them into dst[:n]. It checks the
// ID and length digits, the length against the remaining text (in
// characters) and duplicates. s must be valid UTF-8.
// When offs is not nil, offs[n] gets the byte offset of object n's value.
func scan(s string, dst []Object, offs []int) (n int, e *scanError) {
	var seen [100]bool
	i := 0
	for i < len(s) {
		if n == len(dst) {
			return n, &scanError{err: ErrPayloadTooLong, at: i}
		}
		// Header: two-digit ID, two-digit length.
		end := min(i+4, len(s))
		for k := i; k < end; k++ {
			if !isDigit(s[k]) {
				return n, &scanError{err: ErrNotNumeric, at: i}
			}
		}
		if end-i < 4 {
			return n, &scanError{err: ErrTruncated, at: i}
		}
		id := s[i : i+2]
		idn := int(s[i]-'0')*10 + int(s[i+1]-'0')
		length := int(s[i+2]-'0')*10 + int(s[i+3]-'0')
		if length == 0 {
			return n, &scanError{err: ErrBadLength, at: i, id: id}
		}
		if seen[idn] {
			return n, &scanError{err: ErrDuplicate, at: i, id: id}
		}
		seen[idn] = true
		// Value: length characters.
		k := i + 4
		for c := 0; c < length; c++ {
			if k >= len(s) {
				return n, &scanError{err: ErrTruncated, at: i, id: id}
			}
			if s[k] < utf8.RuneSelf {
				k++
			} else {
				_, size := utf8.DecodeRuneInString(s[k:])
				k += size
			}
		}
		dst[n] = Object{ID: id, Value: s[i+4 : k]}
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
	if !utf8.ValidString(payload) {
		return nil, &Error{Pos: -1, Err: ErrInvalidUTF8}
	}
	if len(payload) >= 2 && isDigit(payload[0]) && isDigit(payload[1]) && payload[:2] != "00" {
		return nil, &Error{Path: payload[:2], Pos: 0, Err: ErrFormatNotFirst}
	}
	var buf [maxObjects]Object
	var offs [maxObjects]int
	nRoot, serr := scan(payload, buf[:], offs[:])
	if serr != nil {
		return nil, &Error{Path: serr.id, Pos: runePos(payload, serr.at), Err: serr.err}
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
		if !isTemplate(idNum(buf[k].ID)) {
			continue
		}
		m, serr := scan(buf[k].Value, buf[n:], nil)
		if serr != nil {
			return nil, &Error{Path: subPath(buf[k].ID, serr.id), Pos: runePos(payload, offs[k]+serr.at), Err: serr.err}
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
	if err := validate(p.Objects, true); err != nil {
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
	if err := validate(objs, false); err != nil {
		return "", err
	}
	var stack [4 * MaxPayloadLen]byte
	b := appendObjects(stack[:0], objs, nil)
	if utf8.RuneCount(b)+8 > MaxPayloadLen {
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
		if len(o.Sub) > 0 || !isTemplate(idNum(o.ID)) {
			continue
		}
		if !utf8.ValidString(o.Value) {
			return nil, &Error{Path: o.ID, Pos: -1, Err: ErrInvalidUTF8}
		}
		var buf [maxObjects]Object
		m, serr := scan(o.Value, buf[:], nil)
		if serr != nil {
			return nil, &Error{Path: subPath(o.ID, serr.id), Pos: -1, Err: serr.err}
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

// appendObjects writes objs as EMVCo text, leaving out 63 and the root IDs
// marked in skip (nil: none).
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
