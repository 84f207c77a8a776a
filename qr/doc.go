// Package qr reads and writes EMVCo merchant-presented QR payloads (the
// format of PIX, PayNow/SGQR, PromptPay/Thai QR and UnionPay International
// codes), issues signed receive codes (收款码) and derives one-time payment
// codes (付款码).
//
// # EMVCo codec
//
// Parse splits a payload into its data objects (ID, length, value), keeping
// every object and its order, unknown IDs included, and splitting the
// templates (26-51 merchant account information, 62 additional data, 64
// alternate language, 80-99 unreserved) into sub-objects. Lengths count
// characters, not bytes. Parse checks the CRC (CRC-16/CCITT-FALSE over the
// UTF-8 bytes up to and including "6304"), the structure, EMVCo's maximum
// lengths and formats and the mandatory data objects (PromptPay codes may
// leave out 52, 59 and 60). Encode writes a payload back with a fresh
// upper-case CRC; an unmodified parsed payload comes back byte for byte.
//
// Every error wraps a sentinel (ErrBadCRC, ErrTruncated, ...) in an *Error
// that names the data object and character position; test with errors.Is.
//
// The CRC protects against misreads, not fraud: anyone can edit a payload and
// recompute it. Never show field 59 as the payee; resolve the payee from the
// account template instead.
package qr
