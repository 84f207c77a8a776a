package qr

// crcTables are the slicing-by-8 tables of CRC-16/CCITT-FALSE: table 0 is
// the classic byte-wise table, table k advances table k-1 by one more zero
// byte. They are filled once at package initialisation and only read
// afterwards.
var crcTables = func() (t [8][256]uint16) {
	for i := range t[0] {
		c := uint16(i) << 8
		for range 8 {
			if c&0x8000 != 0 {
				c = c<<1 ^ 0x1021
			} else {
				c <<= 1
			}
		}
		t[0][i] = c
	}
	for k := 1; k < 8; k++ {
		for i := range t[k] {
			prev := t[k-1][i]
			t[k][i] = prev<<8 ^ t[0][prev>>8]
		}
	}
	return t
}()

// crc16 is CRC-16/CCITT-FALSE: poly 0x1021, init 0xFFFF, no reflection, no
// final XOR. It takes eight bytes a step (the CRC only reaches the first
// two; the CRC being linear, each byte's share comes from its own table).
func crc16[T string | []byte](data T) uint16 {
	t := &crcTables
	crc := uint16(0xFFFF)
	i := 0
	for ; i+8 <= len(data); i += 8 {
		crc = t[7][byte(crc>>8)^data[i]] ^ t[6][byte(crc)^data[i+1]] ^
			t[5][data[i+2]] ^ t[4][data[i+3]] ^ t[3][data[i+4]] ^
			t[2][data[i+5]] ^ t[1][data[i+6]] ^ t[0][data[i+7]]
	}
	for ; i < len(data); i++ {
		crc = crc<<8 ^ t[0][byte(crc>>8)^data[i]]
	}
	return crc
}

const upperHex = "0123456789ABCDEF"

// appendCRC appends the four upper-case hex digits of c.
func appendCRC(b []byte, c uint16) []byte {
	return append(b, upperHex[c>>12], upperHex[c>>8&0xF], upperHex[c>>4&0xF], upperHex[c&0xF])
}

// parseHex4 reads four hex digits of either case.
func parseHex4(s string) (uint16, bool) {
	if len(s) != 4 {
		return 0, false
	}
	var v uint16
	for i := 0; i < 4; i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'A' && c <= 'F':
			c -= 'A' - 10
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		default:
			return 0, false
		}
		v = v<<4 | uint16(c)
	}
	return v, true
}
