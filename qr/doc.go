// Package qr reads and writes EMVCo merchant-presented QR payloads (the
// format of PIX, PayNow/SGQR, PromptPay/Thai QR and UnionPay International
// codes), issues signed receive codes (收款码) and derives one-time payment
// codes (付款码).
//
// Parse splits a payload into its data objects and checks its CRC, its
// structure and EMVCo's limits; Encode writes it back (an unmodified
// payload byte for byte); accessors give typed fields (Amount, an exact
// ledger.Money; Currency; MerchantName; Accounts, recognising PIX, PayNow,
// PromptPay and UnionPay). The CRC protects against misreads, not fraud:
// never show field 59 as the payee; resolve the payee from the account
// template instead. Every error wraps a sentinel (ErrBadCRC, ...) in an
// *Error naming the data object and position; every sentinel has an
// errcode code (docs/errors.md).
//
// ReceiveCodes issues static and dynamic receive codes whose payee is an
// account alias, signed (HMAC-SHA256 or Ed25519, keys through Signer and
// KeyRing) over every other data object, so that Verify refuses any edit.
// PaymentCodes checks the 18-digit payment codes a payer's device derives
// offline: a six-digit OTP of the device's secret and the time step, under
// a keyed permutation that hides the device's serial. Failed codes are
// counted per device and per merchant in the store (Lockout), which is why
// six digits suffice, and every code that does not pay is answered with the
// one ErrInvalidCode.
//
// Service puts it together on a ledger.Ledger, with a Directory (alias →
// ledger account and verified name, the bank's) and a Store (MemoryStore
// here, package postgres for production, both checked by qrtest.Run).
// Issue signs receive codes; Preview shows the payer the payee's name (a
// metered lookup); Pay pays a receive code to the directory's account, a
// dynamic code once and static codes within a daily cap per user: it holds
// the money, claims the code or reserves the cap, then posts, each ledger
// write under an ID derived from its business key. Charge redeems a payment
// code once and pays the merchant, idempotent on the merchant's order. On
// a store that pays on the Service's ledger (PayingStore, PaysOn) a charge
// is one atomic step (one commit on PostgreSQL), and a payment two: its
// hold, then the claim or reservation, post and settlement together.
// Reconcile finishes what a crash left, and Check compares the records
// with the ledger.
//
// # Idempotency
//
// A retry is recognised by what the request means, not by how it is
// written, and gets the original's outcome; the same key with another
// meaning is a *KeyConflictError (ErrKeyReused) naming what differs. Pay's
// key is (User, Key) and Charge's (merchant, Order); docs/qr.md lists what
// each one's meaning covers.
//
// docs/qr.md has the details: the codec, the payment code's construction,
// the odds of guessing one and the lockout, the steps of a payment,
// idempotency in full, and what each security protection assumes. Package
// qrbench holds the load scenarios (charges, payments) for benchmarks and
// the load generator.
package qr
