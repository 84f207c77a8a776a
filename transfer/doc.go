// Package transfer lets a payer pay a mobile number, the way China's
// 手机号转账, Brazil's PIX, Singapore's PayNow and Hong Kong's FPS work: the
// payer types a number, learns enough about the payee to recognise them,
// and sends money.
//
// Its building blocks:
//
// # Phone numbers
//
// PhoneParser normalizes typed numbers to E.164 with libphonenumber
// (github.com/nyaruka/phonenumbers) for a configurable default region,
// "CN" unless set. Only mobile numbers are accepted; libphonenumber calls
// all numbers of the US and Canada FIXED_LINE_OR_MOBILE, and those count as
// mobile. Bad input gets a *PhoneError wrapping ErrEmptyPhone,
// ErrNotPhoneNumber, ErrInvalidPhone or ErrNotMobile.
//
// Full validation costs about 20 µs and dozens of allocations per number, too
// much to pay on every lookup. So there are two paths: Normalize validates
// fully and is what binding a number uses; LookupKey derives a candidate
// key cheaply (a fraction of a microsecond) and is what a lookup tries
// first. FindPhone combines them: cheap key first, and full validation only
// on a miss, to tell an invalid number from one that is not registered.
// LookupKey is fuzz-tested never to produce a different valid number than
// Normalize, so a hit is always right.
//
// # Masked names (the reveal model)
//
// MaskName shows a payer a masked payee name, using '*' only: a Chinese,
// Japanese or Korean name keeps its last character (王小明 → **明), other
// names keep each word's first letter (Maria da Silva Santos →
// M**** d* S**** S*****). A name is never shown whole.
//
// # Name checks (the verify model)
//
// VerifyName answers a payer who supplies the payee's name, surname or
// first character with Match, CloseMatch or NoMatch, in the manner of the
// UK's Confirmation of Payee, without revealing the name.
//
// # Anti-enumeration
//
// A Limiter meters lookups with token buckets as Brazil's PIX directory
// does: per payer 100 tokens refilled at 2 a minute, a found key costs 1, a
// missing key 20, and a settled payment gives 1 back; an institution-wide
// bucket caps all payers together. An empty bucket returns a
// *RateLimitError (errors.Is ErrRateLimited) carrying RetryAfter.
// MemoryLimiter is the in-process implementation, with exact integer
// arithmetic, an injected clock and sharded locks.
//
// # Limits
//
// Limits caps a transfer (CNY 50,000.00 by default), a payer's day, and a
// transfer to a first-time payee; Check is a pure function returning a
// *LimitError that wraps a distinct sentinel for each cap.
package transfer
