package qr

// crcTable is the byte-wise table of CRC-16/CCITT-FALSE. It is filled once
// at package initialisation and only read afterwards.
var crcTable = func() (t [256]uint16) {
	for i := range t {
		c := uint16(i) << 8
		for range 8 {
			if c&0x8000 != 0 {
				c = c<<1 ^ 0x1021
			} else {
				c <<= 1
			}
		}
		t[i] = c
	}
	return t
}()

// crc16 is CRC-16/CCITT-FALSE: poly 0x1021, init 0xFFFF, no reflection, no
// final XOR.
func crc16[T string | []byte](data T) uint16 {
	crc := uint16(0xFFFF)
	for i := 0; i < len(data); i++ {
		crc = crc<<8 ^ crcTable[byte(crc>>8)^data[i]]
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
