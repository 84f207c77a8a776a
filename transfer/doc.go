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
// transfer to a first-time payee, in ledger.Money; Check is a pure function
// returning a *LimitError that wraps a distinct sentinel for each cap.
//
// # Directory and routing
//
// A Directory binds a number (validated fully with Normalize) to a
// holder's account, with the holder's name and when the bank last verified
// ownership by OTP. Payers and holders are users: the bank's stable
// uuid.UUID of a customer, as in every feature (docs/identity.md); the
// account a request debits is named beside its payer (Request.From). A number has one binding; the same holder may update
// it, and moving a recycled number to another holder needs an explicit
// rebind (ErrBoundToOtherHolder otherwise). A Router says which
// institution holds a number: LocalRouter answers from the Directory, and
// an interbank directory can be plugged in instead. Lookups go through
// FindPhone: the cheap key first, full validation only on a miss.
//
// # Looking up a payee
//
// Service.Resolve is the reveal model: the payee's masked name, the
// institution and a lookup token. Service.VerifyPayee is the verify model:
// the payer supplies a name, surname or first character and learns Match,
// CloseMatch or NoMatch. Both go through the Limiter (a close match is a
// hint, so it costs as much as a miss); the full name never leaves the
// library on the reveal path.
//
// A lookup token is self-contained: the number, a fingerprint of the payee
// (institution, holder, account), a random lookup ID and an expiry (5
// minutes by default), authenticated with HMAC-SHA256 under the service's
// key and the payer's ID. It cannot be forged or used by another payer,
// carries no name or account, and pays one transfer: Send checks that the
// number still routes to the same payee (ErrStaleToken after a rebind)
// and the record store refuses a second transfer with the same lookup ID.
//
// # Sending
//
// Service.Send pays a token, a number or (in a chat) a known recipient,
// now, in 2 or 24 hours, or when the payee accepts. Its order makes
// crashes harmless without a transaction shared by the record store and
// the ledger: the record is created first (the store checks the limits
// against the payer's running daily total and counts the amount, in one
// atomic step); then the ledger transfer is made under an ID derived from
// the payer and idempotency key (ledger.DeriveID), so any retry applies it
// once; then the record is marked. A retry of the request, or Reconcile,
// finishes a record a crash left pending. The same key and request return
// the same receipt; the same key with another request is
// ErrIdempotencyConflict.
//
// # Idempotency: what makes two requests the same
//
// A request's identity is its meaning, not its bytes: the payer and From
// account, the payee, the amount (minor units and currency), the arrival
// and the memo. The payee of a Token or Phone request is the number after
// E.164 normalization (13800138000, +86 138-0013-8000 and 0086 13800138000
// are one payee, and so is a lookup token for it, fresh or expired); that
// of a chat request is To's holder and account (its Name is display
// only). So a client may retry after re-resolving, or with the number as
// the user typed it again, and get the original receipt.
//
// # A record never contradicts the ledger
//
// Two attempts at one record can race (a retry behind a load balancer,
// Reconcile): the ledger applies its transfer once under the derived ID,
// but if the payer's balance changes between them, one attempt may be
// refused and another let through. So a refusal makes the record
// StateFailing, not failed: it keeps counting towards the daily total,
// and becomes StateFailed (releasing it) only once the ledger is proven
// clean. Whatever got through is undone (a payment reversed, a hold
// voided or its post reversed) by the attempt that finds the record
// failing, or by Reconcile; a ledger transfer that is absent is proven
// never to come when no attempt is counted in flight (Record.Attempts,
// kept by the store: a lone refusal fails at once) or, for an attempt
// that crashed, after Reconcile's grace period. Receipts show a failing
// transfer as failed: that is its outcome, whatever cleaning remains.
// Service.Check holds every record to the ledger (CheckRecord), beside
// ledger.Verify.
//
// Delayed and chat transfers reserve the payer's money in a ledger hold at
// once. ReleaseDue posts the holds that are due, Cancel voids one before;
// Accept posts a chat transfer's hold, Decline voids it, and ExpireChats
// voids the unanswered ones after 24 hours (the hold's own ledger timeout
// is the backstop). Every post or void has its own derived ID and the
// ledger resolves a hold exactly once, so whichever of the racing calls
// the ledger applies wins and every other call learns it; the record
// follows the ledger's verdict by compare-and-swap.
//
// # Security: what each protection assumes
//
// The lookup budget holds against a prober only if every instance of the
// bank's service meters against the same buckets: pass one shared Limiter
// (postgres.LookupLimiter) to every instance. New refuses a nil Limiter,
// TokenKey, Store or Directory unless Config.SingleProcess says the
// service is the only instance; a per-process default would give a prober
// one budget per instance, and a payer one daily limit per instance. The
// buckets assume the instances' clocks agree to well within a refill
// interval, and that Payer is an authenticated user: a
// prober holding many customers' IDs has many payer budgets, and only the
// institution bucket caps them together.
//
// Lookup tokens are as strong as TokenKey's secrecy: at least
// MinTokenKeyLen (32) random bytes, shared by the instances, kept outside
// the database (the bank's secret store). With the key, anyone could mint
// tokens that skip the lookup and its metering. Changing the key voids
// the tokens outstanding (they live minutes).
//
// A delayed transfer lands at its DueAt by the service's clock: from then
// on Cancel refuses (ErrArrived), however late ReleaseDue runs. Before
// then, the ledger orders a cancel's void and a release's post; a Cancel
// that read the clock just before DueAt can still void a few milliseconds
// after it. Instances' clocks are assumed to agree (NTP).
//
// Every text that enters is bounded before any costly work and must be
// text every store keeps as given: idempotency keys (ledger.CheckKey) and
// institution IDs are at most their Max… bytes of valid UTF-8 without
// control characters (NUL among them); names and memos are
// bounded in bytes before their characters are counted; numbers before
// libphonenumber sees them; tokens before they are decoded. Send checks
// all this before any lookup, so a refused request costs no lookup tokens,
// and ValidateRecord checks keys and IDs again for every store. Derived
// IDs are length-prefixed (ledger.DeriveID), so no key names another
// record's ledger transfers.
//
// The reveal path never shows a whole name: MaskName hides one-character
// names, emoji and symbols, and names of punctuation only. Directories
// keep the mask computed when the number was bound (a binding made with
// an older MaskName keeps its mask until it is bound again); a Router
// that supplies Payee.MaskedName is trusted to have masked it with
// MaskName, so an interbank router should supply Name alone unless it
// does. Send trusts Payer and From: the bank has authenticated the payer
// and checked that they may debit From. MaxVerificationAge hides bindings
// whose ownership was verified too long ago (numbers are recycled); set
// qrdirectory.Directory's alike, or a printed code still pays them.
//
// # Stores
//
// Store keeps transfer records (pending, then settled, cancelled or
// failed once, failed through failing), the payers' running daily totals (counted in the day of
// a configurable time zone, Asia/Shanghai by default) and which payers
// have settled with which payees (the first-time payee cap). The rules
// are the pure functions DecideCreate, ApplyTransition, ApplyAttempt,
// CheckRecord, DecideBind and DecideUnbind; MemoryStore and MemoryDirectory are the in-process
// implementations, package postgres has the production ones, and every
// implementation passes transfertest.Run.
package transfer
