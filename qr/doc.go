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
// Every sentinel of the package has an errcode code and class
// (docs/errors.md); a cancelled payment answers with its reason's.
//
// The CRC protects against misreads, not fraud: anyone can edit a payload and
// recompute it. Never show field 59 as the payee; resolve the payee from the
// account template instead.
//
// Accessors give typed fields: Amount (a ledger.Money, exact, refusing
// non-zero digits below the currency's minor unit rather than rounding),
// Currency (a ledger.Currency, from the numeric code via
// ledger.CurrencyByNumeric), Country, MerchantName, MerchantCity, Reference
// (62/05), Initiation (static 11 or dynamic 12) and Accounts, which
// recognises PIX (br.gov.bcb.pix), PayNow (SG.PAYNOW), PromptPay
// (A000000677...) and UnionPay (primitive 15/16, or a template with the
// A000000333 RID) and returns each one's key. A currency the ledger does
// not carry is ErrUnknownCurrency.
//
// # Signed receive codes
//
// ReceiveCodes issues static (payee only) and dynamic (amount, order
// reference in 62/05, expiry) codes. The payee is an account alias in the
// issuer's own account template, never an account number. A signature
// (HMAC-SHA256 or Ed25519, with its key ID) in unreserved templates 80-99
// covers every other data object, so Verify refuses any edit even with a
// recomputed CRC (ErrBadSignature), an unknown key (ErrUnknownKey) and an
// expired dynamic code (ErrExpired). Keys come through the Signer and
// KeyRing interfaces, so an HSM can hold them.
//
// # Payment codes (付款码)
//
// A payment code is 18 digits: a configurable 2-digit prefix and a 16-digit
// body. The payer's device computes it offline from its serial, its secret
// and the 60-second time step:
//
//	otp  = HMAC-SHA256(secret, prefix ‖ serial ‖ step), truncated to 6 digits
//	body = P(serial·10^7 + (step mod 10)·10^6 + otp)
//
// where P is a keyed permutation of [0, 10^16) (an 8-round Feistel network
// with cycle walking) under a key shared by the server and the devices. The
// server inverts P (no lookup, a few microseconds), reads the serial, finds
// the device by it, places the step within five steps of its own clock and
// checks the OTP at that step, accepting Skew steps either side (default
// one). PaymentCodes.Check names the reason (ErrUnknownDevice,
// ErrDeviceRevoked, ErrExpired for a genuine code up to about an hour old,
// ErrWrongCode); Service.Charge never shows it to a merchant (below).
//
// What the code reveals: without the permutation key, nothing — successive
// codes of one device look unrelated, and no account appears anywhere. The
// permutation key is in every device, so it must be assumed extractable;
// with it one reads only the serial, a random number below 10^9 that the
// server maps to a device. The security rests on the per-device secret
// and on counting failures.
//
// # Guessing, and why six digits suffice
//
// A code is accepted only if its serial is registered, its step digit
// falls in the window and its six-digit OTP matches. An attacker who knows
// the permutation key and targets one device picks its serial and the
// current step and must hit the OTP: p = 10^-6 per guess. Without
// counting, 700,000 guesses (seconds of a merchant integration) gave an
// even chance. Service.Charge therefore counts, in the store (shared by
// every instance), each failed code against its serial and its merchant
// (Lockout): DefaultLockout locks a serial after 5 failures within 24
// hours until the payer re-authenticates (UnlockDevice), and refuses a
// merchant after 100 failures within an hour. The odds follow:
//
//   - One device, until it locks: at most 5 guesses, P ≤ 5·10^-6.
//   - One device, kept just below the lock: 4 guesses a day, P ≤ 1.5·10^-3
//     a year — and the lock, not the odds, ends it once a legitimate
//     payer's mistakes add up.
//   - Untargeted, one merchant account: at most 100 failures an hour, 2,400
//     a day. Guessing random serials and OTPs among 10^8 devices succeeds
//     with probability (10^8/10^9)·(3/10)·10^-6 = 3·10^-8 per guess:
//     7·10^-5 a day per stolen merchant credential.
//   - A success takes at most one charge (ChargeCaps, default 1,000.00 CNY)
//     and the device's day (DeviceDailyCaps, default 2,000.00 CNY), the
//     small password-free limits wallets put on 付款码 payments.
//
// A longer OTP would cost code length (18 digits is what scanners and
// wallets exchange) and buys nothing the count does not: the count bounds
// the guesses, the OTP length the odds of each. Counting happens after
// the code is checked, under the store's lock; concurrent guesses are
// decided one after another, and a genuine guess among them passes only if
// fewer than DeviceFailures failures were decided first. A genuine code is
// never counted, so retries and duplicates cannot lock their own payer;
// an attacker who knows a serial can lock its device (a denial of service
// the payer ends by re-authenticating; the bank should alert on locks,
// through Config.Refused).
//
// Every code that does not pay for a reason of its device or its digits
// (no device, revoked, locked, expired, wrong) is answered with the one
// value ErrInvalidCode, so answers cannot tell an attacker which serials
// exist; the reason goes to Config.Refused. An unknown serial is checked
// against a decoy secret and counted like a known one, so the work done is
// the same (the device lookup and the secret's unwrapping still differ by
// microseconds).
//
// Device secrets are stored wrapped by a KeyWrapper (a KMS key in
// production, LocalKeyWrapper with AES-256-GCM otherwise), bound to the
// device's ID, account and serial: whoever reads the store, or copies one
// device's wrapped secret onto another's record, makes no code that pays.
// This assumes the key-encryption key is out of the database's reach and
// the service's memory is not.
//
// # Paying on the ledger
//
// Service puts it together on a ledger.Ledger, with a Directory (alias →
// ledger account and verified name, the bank's) and a Store (dynamic
// codes, daily cap counters, devices, redeemed payment codes; MemoryStore
// here, PostgreSQL in package postgres, both checked by qrtest.Run).
//
// Issue signs a receive code for a payee of the directory and registers a
// dynamic one. Preview shows the payer the directory's name, asking the
// directory on the payer's behalf (a metered lookup, see Directory). Pay verifies
// the code, pays the directory's account (never field 59), pays a dynamic
// code once and counts static-code payments against a daily cap per user
// (default 500.00 CNY per day in UTC+8, China's rule), whichever of their
// accounts pays. A payment names the user (PayRequest.User) and the
// account paid from (PayRequest.From), as every feature does
// (docs/identity.md). Every ledger write has an ID derived from a business
// key (ledger.DeriveID): the user and their idempotency key for Pay, the merchant and its order ID for
// Charge. Pay holds the money first (a pending transfer), then claims the
// code or reserves the cap under the payment's ID, then posts: each step
// idempotent, the hold the fence before anything is released, Reconcile
// for crashes between steps (see Service.Pay).
//
// # Idempotency
//
// A retry is recognised by what the request means, not by how it is
// written, and gets the original's outcome; the same key with another
// meaning is a *KeyConflictError (ErrKeyReused) naming what differs.
//
//   - Pay: the key is (User, Key). Its meaning is the account paid from,
//     the code's payee alias (signed) and point of initiation; for a dynamic code the code itself
//     (payee and order reference) and its amount, with Amount left zero or
//     given; for a static code the amount and its currency; and, when
//     given, the confirmed PayeeConfirm or PayeeAccount. Not the payload's bytes: a code
//     issued again under another name or key, or its CRC in lower case,
//     is the same code.
//   - Charge: the key is (merchant, Order). Its meaning is the payer (the
//     account of the device that made the code) and the amount. Not the
//     code's digits: the phone shows a new code every step, and a retry
//     showing the next one gets the same receipt (that code is not
//     redeemed by it).
//
// Concurrent retries written differently reach the ledger with the same
// transfer ID and other metadata; the ledger's idempotency conflict is
// then decided again by meaning against the stored hold.
//
// A retry at any moment gets its original's outcome: a Pay whose hold
// exists answers from it, also when it finds the daily cap filled by that
// very payment; a payment posted answers with its receipt even if its
// record could not be settled yet (Reconcile settles it).
//
// Check compares the records with the ledger, as ledger.Verify checks the
// ledger itself: each claim and cap reservation against the hold it names
// (settled needs posted, the terms must be the hold's) and each day's cap
// total against its reservations; it returns ErrRecordMismatch listing
// every Problem. Reconcile finishes the records a stopped Pay left open,
// resets settled ones whose payment the ledger does not have, and counts
// what it could not decide (ReconcileReport.Repaired, Unrepaired).
//
// RegisterDevice and RevokeDevice manage payers' phones; Charge checks a
// payment code for its device, redeems it exactly once across concurrent
// merchants and posts the payer-to-merchant transfer, idempotent on the
// merchant's order (see Service.Charge).
//
// # Security: what each protection assumes
//
//   - Payment-code lockout (Lockout, AttemptStore): the store is shared by
//     every instance that charges (the PostgreSQL store, or one process on
//     the memory store); the merchant ID in a ChargeRequest is the
//     authenticated caller, not a field a merchant chooses; servers' clocks
//     agree within a step. UnlockDevice is called only after the payer
//     re-authenticated with the bank, never on a merchant's or an agent's
//     word. A lock is a denial of service anyone who knows a serial can
//     cause; Config.Refused is where the bank sees and alerts on it.
//   - One answer, ErrInvalidCode: the bank's API passes it on as it is and
//     keeps Config.Refused's reasons away from merchants. Response timing
//     still differs by a device lookup and an unwrap (microseconds).
//   - Caps (ChargeCaps, DeviceDailyCaps, StaticDailyCaps): Charge is a
//     password-free payment; larger amounts need the payer's own
//     confirmation through another path. A charge whose process stops after
//     its code passed and before its transfer stays counted (never less).
//     Both daily caps count by one rule, CountCap (a cap may be reached
//     exactly; each day starts from zero), which every store calls.
//   - Wrapped device secrets (KeyWrapper): the key-encryption key lives
//     outside the database (a KMS or HSM; LocalKeyWrapper only for tests
//     and development) and the service's memory is trusted. The wrapping
//     binds a secret to its device's ID, account and serial, so a row
//     edited to point a device at another account or serial stops working.
//     Devices stored in clear before must be registered again.
//   - Signed receive codes: the signing key is the bank's (Signer may be an
//     HSM; HMAC keys are at least 32 bytes); Verify accepts only the layout
//     Issue writes, so one code has one text. The CRC and field 59 prove
//     nothing; the payee is the directory's, by the signed alias.
//   - Binding marks (Payee.Binding, BindingMark, ErrBindingChanged): the
//     directory changes the account or Binding whenever an alias is bound
//     anew (transfer/qrdirectory uses the binding's holder); codes issued
//     before marks existed carry none and still pay. Quotes show the mark
//     (Quote.Confirm), never the payee's ledger account.
//   - IssueAs: caller comes from the bank's authentication of the
//     customer; Issue trusts its caller and is for the bank's own code.
//     IssueAs answers ErrNotOwner for an unknown alias too, so it reveals
//     nothing about other people's aliases.
//   - Alias lookups (Lookup, ErrLookupLimited): a quote shows the payee's
//     name, so quoting (or paying) codes that name arbitrary phone numbers
//     would enumerate who holds them. Preview and Pay therefore ask the
//     Directory on behalf of the payer (Lookup.User, the authenticated
//     customer, never a request field), and the Directory meters
//     the lookup: transfer/qrdirectory spends the user's bucket in
//     transfer's Limiter, the one transfer.Service.Resolve spends (PIX
//     DICT's rule: a miss costs 20 of 100 tokens, a hit 1, a settled
//     payment gives 1 back through Directory.Settled), shared across
//     instances with postgres.LookupLimiter, and refuses before looking
//     anything up. A bank with its own Directory must meter there; a
//     Directory that does not (MemoryDirectory) leaves quotes an
//     enumeration oracle. Lookups of the bank's own (Issue, IssueAs) are
//     not metered. A payment finished by Reconcile or another instance's
//     retry gives nothing back (the budget only errs low).
//   - Parsing: Parse bounds its input (512 characters) before any work, and
//     accepts deviations of real codes only as Warnings; whatever pays
//     still needs our signature (receive codes) or is only displayed.
//
// Package qrbench holds the load scenarios (charges, payments) for
// benchmarks and the load generator.
package qr
