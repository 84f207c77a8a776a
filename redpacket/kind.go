package redpacket

import "strconv"

// Kind is the kind of a red packet. The zero Kind is invalid.
type Kind uint8

// Packet kinds.
const (
	// Lucky (拼手气): the total is split randomly by Rules.Splitter.
	Lucky Kind = iota + 1
	// Normal (普通): the sender gives the per-share amount and the count;
	// every share is the same.
	Normal
	// Exclusive (专属): one share, the whole total, for one named recipient.
	Exclusive
	// Password (口令): split like Lucky; a claim must carry the phrase
	// (see PasswordMatches).
	Password
)

// String returns "lucky", "normal", "exclusive" or "password", or
// "Kind(n)" for an invalid kind.
func (k Kind) String() string {
	switch k {
	case Lucky:
		return "lucky"
	case Normal:
		return "normal"
	case Exclusive:
		return "exclusive"
	case Password:
		return "password"
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

func (k Kind) valid() bool { return k >= Lucky && k <= Password }
