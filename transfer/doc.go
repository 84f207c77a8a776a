// Package transfer lets a payer pay a mobile number, the way China's
// 手机号转账, Brazil's PIX, Singapore's PayNow and Hong Kong's FPS work: the
// payer types a number, learns enough about the payee to recognise them,
// and sends money.
//
// A Directory binds a number (E.164, validated by PhoneParser with
// libphonenumber) to a holder's account, and a Router says which
// institution holds a number. A payer learns who the payee is in one of
// two ways: Service.Resolve, the reveal model, shows the payee's masked
// name (MaskName: 王小明 → **明) and returns a lookup token that pays one
// transfer; Service.VerifyPayee, the verify model, checks a name the payer
// supplies (Match, CloseMatch, NoMatch) without revealing it. A Limiter
// meters lookups with token buckets, per payer and for the institution, so
// that nobody can enumerate the directory.
//
// Service.Send pays a token, a number or (in a chat) a known recipient,
// now, in 2 or 24 hours, or when the payee accepts, within Limits (per
// transfer, per day, to a first-time payee). On a PayingStore that pays
// on the service's ledger (records and ledger on one PostgreSQL schema, or
// NewMemoryStore(l)) the record and its ledger transfer are one atomic
// step of the store (CreatePaid; ResolvePaid for a hold's post or void):
// one commit per payment, and a refused payment is stored failed with
// nothing moved. On any other store, the slower path: it records the
// transfer first, then moves the money on the ledger under an ID derived
// from the payer's idempotency key, then marks the record, so that a
// retry or Reconcile finishes what a crash left and the money moves once.
// A request's identity is its meaning (a number however written is one
// payee). Delayed and chat transfers hold the payer's money on the ledger
// until ReleaseDue or Accept posts the hold, or Cancel, Decline or
// ExpireChats voids it; the ledger resolves each hold once and the record
// follows. Service.Check holds every record to the ledger.
//
// Stores lock and persist while pure functions decide (DecideCreate,
// ApplyPaid, ApplyTransition, ApplyAttempt, CheckRecord, DecideBind,
// DecideUnbind).
// MemoryStore and MemoryDirectory are in-process, package postgres has the
// production ones, and every implementation passes transfertest.Run. All
// the instances of a bank's service share one Limiter and one TokenKey
// (New refuses defaults for them unless Config.SingleProcess).
//
// docs/transfer.md has the details: number parsing and its two paths,
// masking, the lookup budget, lookup tokens, idempotency, how a record
// never contradicts the ledger, and what each security protection assumes.
package transfer
