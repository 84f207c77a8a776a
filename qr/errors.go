package qr

import (
	"strconv"

	"github.com/socialpay/socialpay/errcode"
	"github.com/socialpay/socialpay/ledger"
)

// Errors of the EMVCo codec. Parse and Encode wrap them in an *Error that
// says where the problem is; test for them with errors.Is.
var (
	// ErrBadCRC: the CRC in data object 63 does not match the payload, or is
	// not four hexadecimal digits.
	ErrBadCRC = errcode.New("bad_crc", errcode.Invalid, "qr: bad CRC")
	// ErrTruncated: the payload ends inside a data object (its ID, its length
	// or its value).
	ErrTruncated = errcode.New("truncated", errcode.Invalid, "qr: truncated data object")
	// ErrBadLength: a length of 00, or a fixed-length data object (00, 01, 52,
	// 53, 55, 58, 63, ...) whose value has another length.
	ErrBadLength = errcode.New("bad_length", errcode.Invalid, "qr: bad length")
	// ErrNotNumeric: a data object ID or length that is not two ASCII digits.
	ErrNotNumeric = errcode.New("not_numeric", errcode.Invalid, "qr: ID or length not numeric")
	// ErrFormatNotFirst: the payload does not start with data object 00.
	ErrFormatNotFirst = errcode.New("format_not_first", errcode.Invalid, "qr: payload format indicator (00) not first")
	// ErrCRCNotLast: data object 63 is followed by more data.
	ErrCRCNotLast = errcode.New("crc_not_last", errcode.Invalid, "qr: CRC (63) not last")
	// ErrDuplicate: the same ID twice at one level.
	ErrDuplicate = errcode.New("duplicate_object", errcode.Invalid, "qr: duplicate data object")
	// ErrMissing: a mandatory data object is absent.
	ErrMissing = errcode.New("missing_object", errcode.Invalid, "qr: mandatory data object missing")
	// ErrTooLong: a value longer than its data object allows.
	ErrTooLong = errcode.New("value_too_long", errcode.Invalid, "qr: value too long")
	// ErrPayloadTooLong: a payload of more than 512 characters.
	ErrPayloadTooLong = errcode.New("payload_too_long", errcode.Invalid, "qr: payload over 512 characters")
	// ErrInvalidValue: a value of the wrong format (e.g. a non-numeric
	// currency code, a point of initiation other than 11 or 12).
	ErrInvalidValue = errcode.New("invalid_value", errcode.Invalid, "qr: invalid value")
	// ErrInvalidUTF8: the payload is not valid UTF-8.
	ErrInvalidUTF8 = errcode.New("invalid_utf8", errcode.Invalid, "qr: invalid UTF-8")
)

// Errors of the typed accessors.
var (
	// ErrNoAmount: the payload has no transaction amount (54), as a static
	// code where the payer enters the amount.
	ErrNoAmount = errcode.New("no_amount", errcode.Invalid, "qr: no transaction amount")
	// ErrUnknownCurrency: a currency the ledger does not carry. It is
	// ledger.ErrUnknownCurrency: amounts and currencies are the ledger's.
	ErrUnknownCurrency = ledger.ErrUnknownCurrency
	// ErrAmountPrecision: an amount with a non-zero digit below its
	// currency's minor unit (never rounded; "100.0" JPY is 100 yen, "100.5"
	// is refused). It is ledger.ErrTooManyDecimals.
	ErrAmountPrecision = ledger.ErrTooManyDecimals
)

// Error says where in a payload a codec error happened. It wraps one of the
// sentinel errors above.
type Error struct {
	// Path is the data object, "62" or "62.05" for a sub-object; empty when
	// the error is about the whole payload.
	Path string
	// Pos is the character offset in the payload where the data object
	// starts, or -1 when unknown (Encode, semantic checks).
	Pos int
	// Err is the sentinel.
	Err error
}

func (e *Error) Error() string {
	s := e.Err.Error()
	if e.Path != "" {
		s += " in data object " + e.Path
	}
	if e.Pos >= 0 {
		s += " at character " + strconv.Itoa(e.Pos)
	}
	return s
}

// Unwrap returns the sentinel.
func (e *Error) Unwrap() error { return e.Err }
