package transfer

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/errcode"
	"github.com/socialpay/socialpay/internal/telemetry"
	"github.com/socialpay/socialpay/ledger"
)

// Errors of sending and of acting on a sent transfer.
var (
	// ErrTransferFailed means the ledger refused the transfer; nothing
	// moved. It comes in a *FailedError that also wraps the ledger's
	// reason (ledger.ErrInsufficientFunds, ledger.ErrAccountFrozen, …).
	ErrTransferFailed = errcode.New("transfer_failed", errcode.Conflict, "transfer: transfer failed")
	// ErrNotCancellable means Cancel was asked of a transfer that is not a
	// delayed one.
	ErrNotCancellable = errcode.New("not_cancellable", errcode.Invalid, "transfer: only delayed transfers can be cancelled")
	// ErrNotChat means Accept or Decline was asked of a transfer that is
	// not a chat transfer.
	ErrNotChat = errcode.New("not_chat", errcode.Invalid, "transfer: not a chat transfer")
	// ErrAlreadySettled means the transfer reached the payee already.
	ErrAlreadySettled = errcode.New("already_settled", errcode.Conflict, "transfer: already settled")
	// ErrArrived means Cancel came at or after a delayed transfer's
	// arrival time (its DueAt): the transfer is the payee's, whether or
	// not the release sweep has landed it yet (ReleaseDue finishes it).
	// Once landed, the error also matches ErrAlreadySettled.
	ErrArrived = errcode.New("arrived", errcode.Conflict, "transfer: arrival time reached: too late to cancel")
	// ErrAlreadyCancelled means the money went back to the payer already
	// (cancelled, declined or expired).
	ErrAlreadyCancelled = errcode.New("already_cancelled", errcode.Conflict, "transfer: already cancelled")
	// ErrChatExpired means the chat transfer was not accepted in time and
	// went back to the payer.
	ErrChatExpired = errcode.New("expired", errcode.Conflict, "transfer: chat transfer expired")
)

// Recipient is the payee of a chat transfer addressed without a number:
// someone the chat application knows, with their account at this bank.
type Recipient struct {
	Holder  uuid.UUID `json:"holder"`         // the payee's user ID (see Binding.Holder)
	Account uuid.UUID `json:"account"`        // their ledger account
	Name    string    `json:"name,omitempty"` // their name, shown masked on receipts; may be empty; at most 128 characters, no control characters
}

// Request asks to send money. Exactly one of Token, Phone and To names the
// payee.
type Request struct {
	// Key is the payer's idempotency key (ledger.CheckKey): it identifies
	// the request among the payer's. The same key and request again
	// returns the same receipt and moves nothing;
	// the same key with another request is ErrIdempotencyConflict. Two
	// requests are the same when they mean the same: payer, From, payee
	// (the number after E.164 normalization, typed or in a lookup token;
	// or To's holder and account), amount, arrival and memo. So a retry
	// may spell the number differently, pay by a fresh token from a new
	// lookup, or by number where the first try used a token.
	Key     string       `json:"key"`
	Payer   uuid.UUID    `json:"payer"`           // the payer's user ID, as given to Resolve
	From    uuid.UUID    `json:"from"`            // the payer's ledger account; the bank has checked that Payer may debit it
	Token   string       `json:"token,omitempty"` // from Resolve or VerifyPayee: pays the payee the payer saw
	Phone   string       `json:"phone,omitempty"` // or: the payee's number, looked up now (metered like Resolve)
	To      Recipient    `json:"to,omitzero"`     // or, for ArriveOnAccept only: a payee the chat knows
	Amount  ledger.Money `json:"amount"`
	Arrival Arrival      `json:"arrival"`
	Memo    string       `json:"memo,omitempty"` // at most MaxMemoRunes characters, no control characters
}

// Receipt is what the payer (or payee) is told about a transfer.
type Receipt struct {
	ID          uuid.UUID    `json:"id"`
	Key         string       `json:"key"`
	State       State        `json:"state"`
	Reason      string       `json:"reason,omitempty"` // why cancelled or failed
	Amount      ledger.Money `json:"amount"`
	Arrival     Arrival      `json:"arrival"`
	Memo        string       `json:"memo,omitempty"`
	PayeeName   string       `json:"payee_name"`            // masked
	PayeePhone  Phone        `json:"payee_phone,omitempty"` // empty for a chat transfer addressed with To
	Institution string       `json:"institution"`
	FirstPayee  bool         `json:"first_payee"`          // the payer had never paid this payee before
	CreatedAt   time.Time    `json:"created_at"`           //
	DueAt       time.Time    `json:"due_at,omitzero"`      // delayed: when it lands; chat: when it expires
	ResolvedAt  time.Time    `json:"resolved_at,omitzero"` // when it settled, was cancelled or failed
	// LedgerID is the ledger transfer that took the payer's money: the
	// transfer itself, or the hold of a delayed or chat transfer. It is the
	// record's ID.
	LedgerID uuid.UUID `json:"ledger_id"`
}

// FailedError says why the ledger refused a transfer. errors.Is matches
// both ErrTransferFailed and the ledger's reason (if the code maps to one),
// and errcode.Of reports the reason's code and class (the failure code).
type FailedError struct {
	ID     uuid.UUID
	Reason string // the failure code (see FailureCode)
}

func (e *FailedError) Error() string {
	return fmt.Sprintf("transfer %s: %v: %s", e.ID, ErrTransferFailed, e.Reason)
}

// Unwrap returns the ledger's sentinel for the code, then ErrTransferFailed.
func (e *FailedError) Unwrap() []error {
	if s := failureSentinel(e.Reason); s != nil {
		return []error{s, ErrTransferFailed}
	}
	return []error{ErrTransferFailed}
}

// failureCodes are the ledger's refusals that mean nothing moved and that
// a retry of the same transfer would meet again. A failure code is the
// sentinel's errcode code ("insufficient_funds", "credit_limit", …), which
// records keep: codes never change.
var failureCodes = [...]*errcode.Error{
	ledger.ErrInsufficientFunds,
	ledger.ErrAccountFrozen,
	ledger.ErrAccountClosed,
	ledger.ErrAccountNotFound,
	ledger.ErrCurrencyMismatch,
	ledger.ErrExceedsDebits,
	ledger.ErrBalanceOverflow,
	ledger.ErrSameAccount,
}

// FailureCode returns the failure code of a ledger refusal that fails a
// transfer for good, and false for any other error (a store error, whose
// outcome is unknown, or a bug).
func FailureCode(err error) (string, bool) {
	for _, f := range failureCodes {
		if errors.Is(err, f) {
			return f.Code(), true
		}
	}
	return "", false
}

func failureSentinel(code string) error {
	for _, f := range failureCodes {
		if f.Code() == code {
			return f
		}
	}
	return nil
}

// Steps of a record's ledger transfers; each has an ID derived from the
// payer and idempotency key.
const (
	stepPay      = "pay"       // an immediate transfer
	stepHold     = "hold"      // the hold of a delayed or chat transfer
	stepPost     = "post"      // releasing or accepting it
	stepCancel   = "cancel"    // the payer cancelling a delayed transfer
	stepDecline  = "decline"   // the payee declining a chat transfer
	stepExpire   = "expire"    // the chat transfer expiring
	stepUndo     = "undo"      // reversing a payment made for a failed record
	stepUndoVoid = "undo-void" // voiding a hold placed for a failed record
)

// RecordID returns the record ID of payer's request with the idempotency
// key.
func (s *Service) RecordID(payer uuid.UUID, key string) uuid.UUID {
	return ledger.DeriveID(s.ns, "phone-transfer", payer.String(), key)
}

// chargeID names the lookup charge of record id's request to phone (see
// Limiter): its duplicates share it, another number under the key does not.
func (s *Service) chargeID(id uuid.UUID, phone Phone) uuid.UUID {
	return ledger.DeriveID(s.ns, "phone-transfer/lookup", id.String(), string(phone))
}

// ledgerID returns the ID of r's ledger transfer for step. The transfer
// that takes the payer's money (the payment, or the hold) has the record's
// own ID; the others are derived from it.
func (s *Service) ledgerID(r *Record, step string) uuid.UUID {
	if step == stepPay || step == stepHold {
		return r.ID
	}
	return ledger.DeriveID(s.ns, "phone-transfer", r.Payer.String(), r.Key, step)
}

// Send sends money to a payee, as the request says.
//
// On a PayingStore whose PaysOn accepts the ledger's store (the records
// and the ledger on one PostgreSQL schema, or a MemoryStore built with a
// ledger on a ledger.MemoryStore), the record and its ledger transfer are
// one step of the store (PayingStore.CreatePaid): one commit, with the
// limits checked, the daily total counted and the transfer applied, or
// the record stored failed with nothing moved. A retry finds the record
// as that step left it.
//
// On any other store, the slower path: the order makes a crash at any
// point harmless. The record is written first (with the limits checked
// and the daily total counted, in one step of the store), then the ledger
// transfer is made under an ID derived from the idempotency key, then the
// record is marked: three commits. A retry of the request, or Reconcile,
// finishes a record a crash left pending; the derived ID means the ledger
// applies it once.
//
// An immediate transfer settles before Send returns. A delayed or chat
// transfer reserves the payer's money in a ledger hold and returns a
// pending receipt; ReleaseDue, Cancel, Accept, Decline and ExpireChats
// resolve it.
//
// Errors: ErrInvalidRequest, ErrCurrencyMismatch, ErrInvalidAmount,
// ErrSelfTransfer; for the payee: ErrInvalidToken, ErrTokenExpired,
// ErrStaleToken, ErrLookupUsed, or Resolve's errors for a Phone; a
// *LimitError (ErrOverTransferLimit, ErrOverFirstPayeeLimit,
// ErrOverDailyLimit); ErrIdempotencyConflict; a *FailedError
// (ErrTransferFailed) when the ledger refused; and store or ledger errors
// that leave the outcome unknown (retry with the same key).
func (s *Service) Send(ctx context.Context, req Request) (Receipt, error) {
	ctx, sp := s.tel.send.Start(ctx)
	r, err := s.send(ctx, req, &sp)
	sp.End(ctx, err, req.Amount.Currency().Code())
	return r, err
}

// send is Send; it names the record in sp once known.
func (s *Service) send(ctx context.Context, req Request, sp *telemetry.Span) (Receipt, error) {
	if err := s.checkRequest(&req); err != nil {
		return Receipt{}, err
	}
	id := s.RecordID(req.Payer, req.Key)
	sp.ID(id)
	var payee Payee
	var lookupID uuid.UUID
	var hash [sha256.Size]byte
	refund := true
	switch {
	case req.Token != "":
		// A token costs no lookup, so it is opened first; a retry whose
		// token has expired since (or whose payee moved) finds its record.
		tok, err := s.tokens.open(req.Payer, req.Token, s.now())
		if tok.Phone == "" {
			return Receipt{}, err // not a token of this payer: no meaning to compare
		}
		hash = requestHash(&req, tok.Phone)
		if err == nil {
			payee, err = s.payeeOfToken(ctx, tok)
			lookupID = tok.ID
		}
		if err != nil {
			return s.replayOr(ctx, id, hash, err)
		}
	case req.Phone != "":
		phone, err := s.phoneKey(req.Phone)
		if err != nil {
			// Not a number: the lookup refuses it too, metered as a miss
			// (an invalid number costs what a missing one does).
			_, err := s.lookup(ctx, req.Payer, uuid.Nil, req.Phone, nil)
			return Receipt{}, err
		}
		hash = requestHash(&req, phone)
		// A lookup costs the payer tokens: a retry must not pay them again,
		// neither after the record exists nor while the first attempt is
		// still on its way to it (the charge's ID, see Limiter).
		if _, err := s.store.Get(ctx, id); !errors.Is(err, ErrRecordNotFound) {
			return s.replayOr(ctx, id, hash, err)
		}
		if payee, err = s.lookup(ctx, req.Payer, s.chargeID(id, phone), req.Phone, nil); err != nil {
			return Receipt{}, err
		}
	default:
		hash = requestHash(&req, "")
		payee = Payee{Institution: s.institution, Holder: req.To.Holder, Account: req.To.Account, Name: req.To.Name}
		refund = false
	}
	if payee.Account == req.From {
		return Receipt{}, ErrSelfTransfer
	}
	now := s.now()
	rec := Record{
		ID:          id,
		Key:         req.Key,
		RequestHash: hash,
		Payer:       req.Payer,
		From:        req.From,
		Payee: RecordPayee{
			Phone:       payee.Phone,
			Institution: payee.Institution,
			Holder:      payee.Holder,
			Account:     payee.Account,
			MaskedName:  payee.masked(),
		},
		Amount:    req.Amount,
		Arrival:   req.Arrival,
		Memo:      req.Memo,
		LookupID:  lookupID,
		Refund:    refund,
		Day:       DayOf(now, s.loc),
		CreatedAt: now,
		DueAt:     now.Add(s.wait(req.Arrival)),
	}
	if s.paying != nil {
		return s.sendPaid(ctx, rec)
	}
	stored, created, err := s.store.Create(ctx, rec, s.limits)
	if err != nil {
		return Receipt{}, err
	}
	if !created {
		return s.replay(ctx, stored, hash) // a concurrent duplicate was first
	}
	stored, err = s.advance(ctx, stored, nil)
	return s.result(stored, err)
}

// sendPaid creates rec and applies its ledger transfer in one step of the
// paying store. No attempt bookkeeping is needed: the record and the
// money commit together, so a stored record is never waiting for its
// transfer and a refused one has moved nothing.
func (s *Service) sendPaid(ctx context.Context, rec Record) (Receipt, error) {
	stored, created, err := s.paying.CreatePaid(ctx, rec, s.limits, PaymentOf(&rec, s.code, s.chatTimeout), s.refund, s.ledger.Now())
	if err != nil {
		return Receipt{}, err
	}
	if !created {
		return s.replay(ctx, stored, rec.RequestHash) // a concurrent duplicate was first
	}
	if s.refund == nil {
		s.settled(ctx, &stored)
	}
	return s.result(stored, nil)
}

// wait returns how long after sending a transfer of arrival a is due.
func (s *Service) wait(a Arrival) time.Duration {
	if a == ArriveOnAccept {
		return s.chatTimeout
	}
	return a.Delay()
}

// checkRequest checks what Send can check before any lookup, so that a
// request that cannot go never costs the payer lookup tokens.
func (s *Service) checkRequest(req *Request) error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrInvalidRequest, fmt.Sprintf(format, args...))
	}
	targets := 0
	for _, set := range []bool{req.Token != "", req.Phone != "", req.To != (Recipient{})} {
		if set {
			targets++
		}
	}
	switch {
	case ledger.CheckKey(req.Key) != nil:
		return fmt.Errorf("%w: %w", ledger.CheckKey(req.Key), ErrInvalidRequest)
	case req.Payer == uuid.Nil:
		return bad("no payer")
	case req.From == uuid.Nil:
		return bad("no From account")
	case targets != 1:
		return bad("name the payee by exactly one of Token, Phone and To")
	case req.To != (Recipient{}) && req.Arrival != ArriveOnAccept:
		return bad("To is for chat transfers (ArriveOnAccept); others pay a Token or Phone")
	case req.To != (Recipient{}) && (req.To.Holder == uuid.Nil || req.To.Account == uuid.Nil):
		return bad("To needs a holder and an account")
	case req.To.Name != "" && checkName(req.To.Name) != nil:
		return bad("To's name: %v", checkName(req.To.Name))
	case !req.Arrival.Valid():
		return bad("unknown arrival %d", uint8(req.Arrival))
	}
	if err := checkMemo(req.Memo); err != nil {
		return bad("%v", err)
	}
	// The per-transfer cap and currency, before the store checks them all.
	return s.limits.Check(LimitInput{Amount: req.Amount})
}

// requestHash fingerprints what a request means, so a retry can be told
// from another request under the same key (see Request.Key):
// the key, payer and From account, the payee — the number after E.164
// normalization, whether typed or in a lookup token, or a chat
// recipient's holder and account —, the amount and currency, the arrival
// and the memo. Not the spelling of the number, the token's bytes or its
// lookup, nor a chat recipient's display name.
func requestHash(req *Request, phone Phone) [sha256.Size]byte {
	var buf [512]byte // most requests fit: no allocation
	b := buf[:0]
	str := func(s string) {
		b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
		b = append(b, s...)
	}
	// A user ID as its text, as when IDs were text: a record made before
	// users were UUIDs, by a bank whose IDs were UUIDs in text, still
	// matches its retry.
	id := func(u uuid.UUID) {
		b = binary.BigEndian.AppendUint32(b, 36)
		b = appendUUIDText(b, u)
	}
	str(req.Key)
	id(req.Payer)
	b = append(b, req.From[:]...)
	if phone != "" {
		b = append(b, 'p')
		str(string(phone))
	} else {
		b = append(b, 'c')
		id(req.To.Holder)
		b = append(b, req.To.Account[:]...)
	}
	b = binary.BigEndian.AppendUint64(b, uint64(req.Amount.Units()))
	str(req.Amount.Currency().Code())
	b = append(b, byte(req.Arrival))
	str(req.Memo)
	return sha256.Sum256(b)
}

// phoneKey returns the E.164 form of a typed number: the cheap key when
// it has one (it never differs from Normalize's answer for a valid
// number), else Normalize's.
//
// Errors: a *PhoneError.
func (s *Service) phoneKey(raw string) (Phone, error) {
	if k, ok := s.parser.LookupKey(raw); ok {
		return k, nil
	}
	return s.parser.Normalize(raw)
}

// replayOr replays the record id if there is one, else returns err.
func (s *Service) replayOr(ctx context.Context, id uuid.UUID, hash [sha256.Size]byte, err error) (Receipt, error) {
	rec, gerr := s.store.Get(ctx, id)
	switch {
	case gerr == nil:
		return s.replay(ctx, rec, hash)
	case errors.Is(gerr, ErrRecordNotFound):
		return Receipt{}, err
	}
	return Receipt{}, gerr
}

// replay answers a request whose key has a record: the same receipt, after
// finishing whatever a crash left undone.
func (s *Service) replay(ctx context.Context, rec Record, hash [sha256.Size]byte) (Receipt, error) {
	if rec.RequestHash != hash {
		return Receipt{}, fmt.Errorf("transfer %s (key %q): %w", rec.ID, rec.Key, ErrIdempotencyConflict)
	}
	if rec.State == StatePending {
		rec, err := s.attempt(ctx, rec, nil)
		return s.result(rec, err)
	}
	rec, err := s.clean(ctx, rec, time.Time{}, nil)
	return s.result(rec, err)
}

// result turns a record into Send's answer.
func (s *Service) result(rec Record, err error) (Receipt, error) {
	if rec.State == StateFailed || rec.State == StateFailing {
		// The outcome, whatever cleaning the ledger still needs (the
		// record stays failing for Reconcile).
		err = &FailedError{ID: rec.ID, Reason: rec.Reason}
	}
	return s.receipt(&rec), err
}

// receipt returns r as its parties see it.
func (s *Service) receipt(r *Record) Receipt {
	return Receipt{
		ID:          r.ID,
		Key:         r.Key,
		State:       r.State.outcome(),
		Reason:      r.Reason,
		Amount:      r.Amount,
		Arrival:     r.Arrival,
		Memo:        r.Memo,
		PayeeName:   r.Payee.MaskedName,
		PayeePhone:  r.Payee.Phone,
		Institution: r.Payee.Institution,
		FirstPayee:  r.FirstPayee,
		CreatedAt:   r.CreatedAt,
		DueAt:       r.DueAt,
		ResolvedAt:  r.ResolvedAt,
		LedgerID:    r.ID,
	}
}

// tally counts what the calls of one sweep did, each thing once across
// racing sweeps: only the caller whose transition won counts it. A nil
// *tally counts nothing.
type tally struct {
	settled, held, cancelled, failed, undone int
}

func (t *tally) count(won bool, to State) {
	if t == nil || !won {
		return
	}
	switch to {
	case StateSettled:
		t.settled++
	case StateCancelled:
		t.cancelled++
	case StateFailed:
		t.failed++
	}
}

// advance makes the ledger transfer a pending record needs (the payment
// of an immediate transfer, the hold of the others) and marks the record
// as the ledger answers. The caller is counted in rec.Attempts (Create
// counted it, or Store.Attempt). A failing record is cleaned (see clean);
// a finished one is returned as is.
//
// A refusal marks the record failing, not failed: another attempt at the
// same transfer may have got through after it (the payer's balance having
// changed in between), and only clean proves that the ledger holds
// nothing of it. An attempt that got through and finds the record failing
// undoes its own payment.
func (s *Service) advance(ctx context.Context, rec Record, tl *tally) (Record, error) {
	if rec.State != StatePending {
		return s.clean(ctx, rec, time.Time{}, tl)
	}
	// The payment, or the hold under the same ID (ledgerID); a chat's hold
	// the ledger voids by itself if no one resolves it.
	done, err := s.ledger.Transfer(ctx, PaymentOf(&rec, s.code, s.chatTimeout))
	if err != nil {
		code, ok := FailureCode(err)
		if !ok {
			return rec, err // unknown outcome: the record stays pending, the attempt counted
		}
		next, won, err := s.transition(ctx, rec, StateFailing, code)
		if err != nil {
			return next, err
		}
		if !won && next.State == StateFailing {
			// Another attempt was refused first: this one is over too.
			if next, err = s.store.Attempt(ctx, rec.ID, -1); err != nil && !errors.Is(err, ErrStateConflict) {
				return next, err
			}
		}
		return s.clean(ctx, next, time.Time{}, tl)
	}
	if !rec.Arrival.held() {
		next, won, err := s.transition(ctx, rec, StateSettled, "")
		tl.count(won, StateSettled)
		return next, err
	}
	if done.Status != ledger.StatusPending {
		next, won, err := s.syncHold(ctx, rec, &done)
		tl.count(won, next.State)
		return next, err
	}
	if tl != nil {
		tl.held++ // counted by every racing sweep that placed or found it: a hint
	}
	// The hold stands. A concurrent attempt may have been refused in the
	// meantime and marked the record failing: then the hold must go.
	cur, err := s.store.Get(ctx, rec.ID)
	if err != nil {
		return rec, err
	}
	return s.clean(ctx, cur, time.Time{}, tl)
}

// clean proves the ledger clean for a failing record and then fails it
// for good, which releases its daily total: whatever of its ledger
// transfer got through is undone (a payment reversed, a hold voided or
// its post reversed), and a ledger transfer that is absent is proven
// never to come only when no attempt at it is counted (ApplyTransition),
// or when the refusal is older than stale: Reconcile's grace period, past
// which a counted attempt is taken to have crashed. A record that is not
// failing is returned as is.
//
// While the ledger transfer cannot be undone (the payee spent the money,
// an account is frozen), the record stays failing and keeps counting
// towards the daily total; the error says why, and Reconcile tries again.
func (s *Service) clean(ctx context.Context, rec Record, stale time.Time, tl *tally) (Record, error) {
	if rec.State != StateFailing {
		return rec, nil
	}
	undone, err := s.undo(ctx, rec)
	if err != nil {
		return rec, fmt.Errorf("transfer %s: undoing the ledger transfer of a refused transfer: %w", rec.ID, err)
	}
	if (undone || !rec.ResolvedAt.After(stale)) && rec.Attempts > 0 {
		// No attempt can matter any more: count them all out.
		next, err := s.store.Attempt(ctx, rec.ID, -rec.Attempts)
		if err != nil {
			if errors.Is(err, ErrStateConflict) {
				return next, nil // failed for good by another caller
			}
			return rec, err
		}
		rec = next
	}
	next, won, err := s.transition(ctx, rec, StateFailed, "")
	if errors.Is(err, ErrAttemptInFlight) {
		// Whoever's attempt is in flight finishes it, or Reconcile does.
		return next, nil
	}
	tl.count(won, StateFailed)
	if won && undone && tl != nil {
		tl.undone++
	}
	return next, err
}

// transition moves rec to state to, once: won says whether this call did
// it. When another transition was first, it returns the record as stored
// and no error. A settlement that used a lookup refunds the payer's
// bucket (best effort: a failed refund only leaves the bucket lower).
func (s *Service) transition(ctx context.Context, rec Record, to State, reason string) (Record, bool, error) {
	next, err := s.store.Transition(ctx, rec.ID, to, reason, s.now())
	if err != nil {
		return s.transitionFailed(ctx, rec, next, to, err)
	}
	s.settled(ctx, &next)
	return next, true, nil
}

// settled gives the lookup refund of a record this call settled, if it
// used a lookup: best effort, a failed refund only leaves the bucket
// lower. A paying store that refunds on the limiter (PayingStore.RefundsOn)
// gave it in its own step instead.
func (s *Service) settled(ctx context.Context, r *Record) {
	if r.State == StateSettled && r.Refund {
		_ = s.limiter.PaymentSettled(ctx, r.Payer)
	}
}

// transitionFailed handles a transition the store refused.
func (s *Service) transitionFailed(ctx context.Context, rec, next Record, to State, err error) (Record, bool, error) {
	var se *StateError
	switch {
	case errors.As(err, &se):
		switch {
		case to == StateFailed || to == StateFailing:
		case next.State == StateFailing:
			// Refused to another attempt while this call moved money for
			// it: undo that, and fail the record for good.
			next, err := s.clean(ctx, next, time.Time{}, nil)
			return next, false, err
		case next.State == StateFailed:
			// Failed for good: whatever this call moved must go too.
			_, err := s.undo(ctx, next)
			return next, false, err
		}
		return next, false, nil
	case errors.Is(err, ErrAttemptInFlight):
		return next, false, err
	}
	return rec, false, err
}

// syncHold brings a held record in line with its hold as the ledger has
// it: posted is settled, voided or expired is cancelled (the ID that
// voided it says why), pending changes nothing. won says whether this
// call moved the record.
func (s *Service) syncHold(ctx context.Context, rec Record, hold *ledger.Transfer) (Record, bool, error) {
	switch hold.Status {
	case ledger.StatusPosted:
		return s.transition(ctx, rec, StateSettled, "")
	case ledger.StatusVoided, ledger.StatusExpired:
		reason := ReasonCancelled
		if rec.Arrival == ArriveOnAccept {
			reason = ReasonExpired
			if hold.Status == ledger.StatusVoided && hold.ResolvedBy == s.ledgerID(&rec, stepDecline) {
				reason = ReasonDeclined
			}
		}
		return s.transition(ctx, rec, StateCancelled, reason)
	}
	return rec, false, nil
}

// resolve posts (step stepPost) or voids (the other steps) the hold of a
// held record under the ID derived for step, and brings the record in
// line with the ledger's verdict. The ledger resolves a hold exactly once,
// so of racing posts and voids one wins and every caller sees which.
// applied says whether this call's post or void is the one the ledger
// applied (a retry under the same ID, or a racing sweep, finds it applied
// already and gets false), which is what the sweeps count.
//
// On a paying store (see Send) the post or void and the record's
// transition are one step of the store (PayingStore.ResolvePaid); when
// the ledger refuses it there (the hold expired, resolved otherwise, or
// absent), this call goes on as on any other store to learn why.
func (s *Service) resolve(ctx context.Context, rec Record, step string) (_ Record, applied bool, _ error) {
	to, reason := StateCancelled, ReasonCancelled
	switch step {
	case stepPost:
		to, reason = StateSettled, ""
	case stepDecline:
		reason = ReasonDeclined
	case stepExpire:
		reason = ReasonExpired
	}
	for attempt := 0; ; attempt++ {
		if rec.State != StatePending {
			return rec, false, nil
		}
		holdID := s.ledgerID(&rec, stepHold)
		t := ledger.Transfer{ID: s.ledgerID(&rec, step), Kind: ledger.KindVoidPending, PendingID: holdID}
		if step == stepPost {
			t.Kind = ledger.KindPostPending
		}
		if s.paying != nil && attempt == 0 {
			next, applied, err := s.paying.ResolvePaid(ctx, rec.ID, t, to, reason, s.refund, s.ledger.Now())
			var se *StateError
			var te *ledger.TransferError
			switch {
			case err == nil:
				if s.refund == nil {
					s.settled(ctx, &next)
				}
				return next, applied, nil
			case errors.As(err, &se):
				return next, false, nil // another transition was first; this call moved nothing
			case !errors.As(err, &te):
				return rec, false, err
			}
			// The ledger refused: learn why below.
		}
		// A batch of one, for its Duplicate flag.
		res, err := s.ledger.Batch(ctx, []ledger.Transfer{t})
		if err == nil {
			err = res[0].Err
		}
		switch {
		case err == nil:
			rec, _, err = s.transition(ctx, rec, to, reason)
			return rec, !res[0].Duplicate, err
		case errors.Is(err, ledger.ErrPendingNotFound) && attempt == 0:
			// No hold: a crash came between the record and its hold.
			// Place it (or fail the record), then resolve it.
			if rec, err = s.attempt(ctx, rec, nil); err != nil {
				return rec, false, err
			}
		case errors.Is(err, ledger.ErrPendingResolved), errors.Is(err, ledger.ErrPendingExpired):
			// Another resolution won, or the hold timed out.
			hold, err := s.ledger.LookupTransfer(ctx, holdID)
			if err != nil {
				return rec, false, err
			}
			if hold.Status == ledger.StatusPending {
				// Timed out, but the ledger's expiry has not run yet.
				if _, err := s.ledger.ExpirePending(ctx, s.now()); err != nil {
					return rec, false, err
				}
				if hold, err = s.ledger.LookupTransfer(ctx, holdID); err != nil {
					return rec, false, err
				}
				if timedOut(&hold, s.now()) {
					// Another expiry is applying it: it is expired all
					// the same (the ledger posts and voids it no more).
					hold.Status = ledger.StatusExpired
				}
			}
			rec, _, err = s.syncHold(ctx, rec, &hold)
			return rec, false, err
		default:
			return rec, false, err
		}
	}
}

// undo undoes whatever the ledger holds of a refused record's transfer:
// a payment is reversed, a hold voided (or its post reversed). undone says
// whether there was anything: false means the ledger transfer is absent
// (for now: see clean). Derived IDs make it idempotent.
func (s *Service) undo(ctx context.Context, rec Record) (undone bool, err error) {
	ref := rec.ID.String()
	undo := s.ledgerID(&rec, stepUndo)
	reverse := func(id uuid.UUID) (bool, error) {
		_, err := s.ledger.Reverse(ctx, undo, id, ref)
		if errors.Is(err, ledger.ErrAlreadyReversed) {
			err = nil // reversed under another ID: undone all the same
		}
		return err == nil, err
	}
	if !rec.Arrival.held() {
		payID := s.ledgerID(&rec, stepPay)
		if _, err := s.ledger.LookupTransfer(ctx, payID); err != nil {
			if errors.Is(err, ledger.ErrTransferNotFound) {
				return false, nil
			}
			return false, err
		}
		return reverse(payID)
	}
	holdID := s.ledgerID(&rec, stepHold)
	for range 3 {
		hold, err := s.ledger.LookupTransfer(ctx, holdID)
		switch {
		case errors.Is(err, ledger.ErrTransferNotFound):
			return false, nil
		case err != nil:
			return false, err
		}
		switch hold.Status {
		case ledger.StatusPosted:
			return reverse(hold.ResolvedBy)
		case ledger.StatusPending:
			if timedOut(&hold, s.now()) {
				return true, nil // expired, as the ledger's expiry will record
			}
			_, err := s.ledger.Void(ctx, s.ledgerID(&rec, stepUndoVoid), holdID)
			switch {
			case err == nil:
				return true, nil
			case errors.Is(err, ledger.ErrPendingExpired):
				if _, err := s.ledger.ExpirePending(ctx, s.now()); err != nil {
					return false, err
				}
			case !errors.Is(err, ledger.ErrPendingResolved):
				return false, err
			}
		default:
			return true, nil // voided or expired: nothing moved
		}
	}
	return false, fmt.Errorf("transfer %s: undoing the hold of a refused transfer: it keeps changing", rec.ID)
}

// attempt counts the caller in as an attempt at rec's ledger transfer and
// advances it; a record no longer pending is cleaned if failing and
// returned.
func (s *Service) attempt(ctx context.Context, rec Record, tl *tally) (Record, error) {
	next, err := s.store.Attempt(ctx, rec.ID, +1)
	if err != nil {
		if errors.Is(err, ErrStateConflict) {
			return s.clean(ctx, next, time.Time{}, tl)
		}
		return rec, err
	}
	return s.advance(ctx, next, tl)
}

// timedOut reports whether a hold is past its timeout at now, whether or
// not the ledger's expiry has recorded it yet: the ledger neither posts
// nor voids it any more.
func timedOut(hold *ledger.Transfer, now time.Time) bool {
	return hold.Status == ledger.StatusPending && !hold.ExpiresAt.IsZero() && !hold.ExpiresAt.After(ledger.Timestamp(now))
}

// appendUUIDText appends u in its canonical text form (u.String()),
// without allocating.
func appendUUIDText(b []byte, u uuid.UUID) []byte {
	const digits = "0123456789abcdef"
	for i, c := range u {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			b = append(b, '-')
		}
		b = append(b, digits[c>>4], digits[c&0x0f])
	}
	return b
}
