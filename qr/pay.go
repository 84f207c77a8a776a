package qr

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/errcode"
	"github.com/socialpay/socialpay/ledger"
)

// Quote is what the payer's app shows before the payer confirms: the payee
// from the directory and the code's terms.
type Quote struct {
	// Payee is from the directory: show Payee.Name, never CodeName. Its
	// Account and Binding are left zero: a quote goes to the payer's app,
	// which has no business with the payee's ledger account.
	Payee Payee `json:"payee"`
	// Confirm names the payee binding shown (BindingMark): pass it back
	// as PayRequest.PayeeConfirm.
	Confirm    string          `json:"confirm"`
	Initiation Initiation      `json:"initiation"`
	Currency   ledger.Currency `json:"currency"`
	Amount     ledger.Money    `json:"amount,omitzero"`     // a dynamic code's amount; the zero Money for a static code
	Reference  string          `json:"reference,omitempty"` // a dynamic code's order reference
	Expires    time.Time       `json:"expires,omitzero"`    // a dynamic code's expiry
	// CodeName is data object 59 as written in the code, and NameMismatch
	// says it is not the directory's name as Issue writes it (its first 25
	// characters); see Service.Pay.
	CodeName     string `json:"code_name,omitempty"`
	NameMismatch bool   `json:"name_mismatch"`
}

// PayRequest asks to pay a receive code.
type PayRequest struct {
	// User is the paying user, from the bank's authentication of the
	// customer (never from the request's body): the scope of Key, whose
	// lookup budget the quote spends and whose static-code daily cap the
	// payment counts against.
	User uuid.UUID `json:"user"`
	// From is the user's ledger account the payment takes the money from;
	// the bank has checked that User may debit it.
	From uuid.UUID `json:"from"`
	// Payload is the code as scanned.
	Payload string `json:"payload"`
	// Amount is what the payer entered for a static code (positive, in the
	// code's currency). For a dynamic code it is the zero Money or the
	// code's amount.
	Amount ledger.Money `json:"amount,omitzero"`
	// Key is the user's idempotency key (ledger.CheckKey): the same key
	// and request again returns the same Receipt.
	Key string `json:"key"`
	// PayeeConfirm, when set, is the Quote.Confirm the payer saw; Pay
	// refuses with ErrPayeeChanged if the directory's binding of the alias
	// (holder or account) is another one now.
	PayeeConfirm string `json:"payee_confirm,omitempty"`
	// PayeeAccount, when set, is the payee account a bank-side caller
	// confirmed; Pay refuses with ErrPayeeChanged if the directory now
	// maps the alias elsewhere. Apps use PayeeConfirm.
	PayeeAccount uuid.UUID `json:"payee_account,omitzero"`
}

// Receipt records a completed payment of a receive code.
type Receipt struct {
	Payment      uuid.UUID    `json:"payment"`  // PaymentID(User, Key): the ledger ID of the hold
	Transfer     uuid.UUID    `json:"transfer"` // the ledger transfer that posted the hold
	Key          string       `json:"key"`
	User         uuid.UUID    `json:"user"`  // the paying user
	From         uuid.UUID    `json:"from"`  // the account paid from
	Payee        Payee        `json:"payee"` // from the directory when the payment was made
	Amount       ledger.Money `json:"amount"`
	Initiation   Initiation   `json:"initiation"`
	Reference    string       `json:"reference,omitempty"`
	CodeName     string       `json:"code_name,omitempty"` // data object 59 of the code
	NameMismatch bool         `json:"name_mismatch"`       // CodeName is not Payee.Name (its first 25 characters)
	At           time.Time    `json:"at"`
}

// Ledger metadata of a payment's hold: what its Receipt is made of.
const (
	metaKind      = "qr.kind" // "static", "dynamic" or "charge"
	metaPayee     = "qr.payee"
	metaPayeeName = "qr.payee_name"
	metaCodeName  = "qr.code_name"
	metaDigest    = "qr.digest" // of the payload or payment code
	metaKey       = "qr.key"
	metaUser      = "qr.user" // the paying user (PayRequest.User)
	metaDevice    = "qr.device"
	metaReason    = "qr.reason"     // of a void
	metaMark      = "qr.payee_mark" // BindingMark of the payee paid
)

// Reasons a hold is voided, as recorded on the void.
var voidReasons = []error{ErrCodePaid, ErrDailyCap, ErrUnknownCode, ErrReservationConflict, ErrClaimLost,
	ledger.ErrAccountFrozen, ledger.ErrAccountClosed, ledger.ErrAccountNotFound, ledger.ErrBalanceOverflow}

// Issue builds, signs and returns a receive code for a payee of the
// directory. An empty Name is filled in with the directory's name (cut to
// the 25 characters of data object 59). A dynamic code is registered so
// that it can be paid once; issuing the same dynamic code again returns the
// same payload.
//
// Errors: ErrMissing (no Directory or Receive), ErrUnknownPayee, the errors
// of ReceiveCodes.Issue, ErrCodeExists (another code for this payee and
// reference), and the store's.
func (s *Service) Issue(ctx context.Context, c ReceiveCode) (string, error) {
	if s.dir == nil || s.receive == nil {
		return "", fmt.Errorf("qr: issuing receive codes needs Directory and Receive: %w", ErrMissing)
	}
	payee, err := s.dir.Payee(ctx, Lookup{Alias: c.Payee})
	if err != nil {
		return "", err
	}
	if c.Name == "" {
		c.Name = cutRunes(payee.Name, maxNameLen)
	}
	c.Binding = BindingMark(payee)
	payload, err := s.receive.Issue(ctx, c)
	if err != nil {
		return "", err
	}
	if c.Initiation == Dynamic {
		err := s.store.RegisterCode(ctx, DynamicCode{
			ID: s.CodeID(c.Payee, c.Reference), Payee: c.Payee, Reference: c.Reference,
			Amount: c.Amount, Expires: c.Expires.UTC().Truncate(time.Second), IssuedAt: s.now(),
		})
		if err != nil {
			return "", err
		}
	}
	return payload, nil
}

// ErrNotOwner: IssueAs for an alias the directory binds to another
// account than the caller's.
var ErrNotOwner = errcode.New("not_owner", errcode.Forbidden, "qr: the caller does not own the alias")

// IssueAs is Issue on behalf of caller, the ledger account of the
// customer who asks (from the bank's authentication, never from the
// request): it refuses with ErrNotOwner unless the directory binds the
// alias to caller, so that no one mints codes for someone else's number.
// An alias the directory does not know is refused alike (ErrNotOwner,
// not ErrUnknownPayee), so that IssueAs tells a caller nothing about
// other people's aliases and needs no lookup budget. Issue itself is for
// the bank's own trusted callers.
//
// Errors: ErrNotOwner, and those of Issue.
func (s *Service) IssueAs(ctx context.Context, caller uuid.UUID, c ReceiveCode) (string, error) {
	if s.dir == nil || s.receive == nil {
		return "", fmt.Errorf("qr: issuing receive codes needs Directory and Receive: %w", ErrMissing)
	}
	payee, err := s.dir.Payee(ctx, Lookup{Alias: c.Payee})
	if errors.Is(err, ErrUnknownPayee) {
		return "", fmt.Errorf("%w: %q", ErrNotOwner, c.Payee)
	}
	if err != nil {
		return "", err
	}
	if caller == uuid.Nil || payee.Account != caller {
		return "", fmt.Errorf("%w: %q", ErrNotOwner, c.Payee)
	}
	return s.Issue(ctx, c)
}

// maxNameLen is the length of data object 59 (merchant name), in
// characters.
const maxNameLen = 25

// nameMismatch reports whether a code's 59 is not the directory's name as
// Issue writes it (cut to 59's 25 characters).
func nameMismatch(codeName, directoryName string) bool {
	return codeName != cutRunes(directoryName, maxNameLen)
}

// cutBytes cuts s to at most n bytes, at a character boundary.
func cutBytes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// cutRunes cuts s to at most n characters.
func cutRunes(s string, n int) string {
	for i := range s {
		if n == 0 {
			return s[:i]
		}
		n--
	}
	return s
}

// Preview verifies a receive code and returns what user's app shows
// before the user confirms: the directory's payee and the code's terms.
// User is the customer who asks (from the bank's authentication, never
// from the request): the directory meters the lookup against that user's
// budget (see Directory).
//
// Errors: ErrMissing (no Directory or Receive), ErrInvalidValue (no
// user), the errors of ReceiveCodes.Verify (ErrBadSignature, ErrExpired,
// ...), ErrLookupLimited, ErrUnknownPayee, ErrUnknownCode, ErrCodePaid.
func (s *Service) Preview(ctx context.Context, user uuid.UUID, payload string) (Quote, error) {
	if s.dir == nil || s.receive == nil {
		return Quote{}, fmt.Errorf("qr: paying receive codes needs Directory and Receive: %w", ErrMissing)
	}
	if user == uuid.Nil {
		return Quote{}, fmt.Errorf("qr: a quote needs a user: %w", ErrInvalidValue)
	}
	code, err := s.receive.Verify(ctx, payload)
	if err != nil {
		return Quote{}, err
	}
	q, _, err := s.quote(ctx, &code, user, uuid.Nil)
	return q, err
}

// quote resolves the payee of a verified code for user (a metered
// lookup) and, for a dynamic code, checks that it is registered and not
// paid by a payment other than payment. It returns the quote for the
// user and the directory's payee.
func (s *Service) quote(ctx context.Context, code *ReceiveCode, user, payment uuid.UUID) (Quote, Payee, error) {
	l := Lookup{Alias: code.Payee, User: user}
	if payment != uuid.Nil {
		l.Charge = ledger.DeriveID(s.ns, "qr/pay/lookup", payment.String(), code.Payee)
	}
	payee, err := s.dir.Payee(ctx, l)
	if err != nil {
		return Quote{}, Payee{}, err
	}
	mark := BindingMark(payee)
	if code.Binding != "" && code.Binding != mark {
		return Quote{}, Payee{}, fmt.Errorf("%w: alias %q", ErrBindingChanged, code.Payee)
	}
	q := Quote{
		Payee: Payee{Alias: payee.Alias, Name: payee.Name}, Confirm: mark, Initiation: code.Initiation, Currency: code.Currency, Amount: code.Amount,
		Reference: code.Reference, Expires: code.Expires, CodeName: code.Name, NameMismatch: nameMismatch(code.Name, payee.Name),
	}
	if code.Initiation == Dynamic {
		dc, err := s.store.Code(ctx, s.CodeID(code.Payee, code.Reference))
		if err != nil {
			return Quote{}, Payee{}, err
		}
		if dc.Payee != code.Payee || dc.Reference != code.Reference || dc.Amount != code.Amount || !dc.Expires.Equal(code.Expires) {
			return Quote{}, Payee{}, fmt.Errorf("%w: the code for %q order %q was registered with other terms", ErrUnknownCode, code.Payee, code.Reference)
		}
		if dc.Payment != uuid.Nil && dc.Payment != payment {
			return Quote{}, Payee{}, fmt.Errorf("%w: %s", ErrCodePaid, dc.ID)
		}
	}
	return q, payee, nil
}

// Pay pays a receive code issued by this bank from User's account From,
// exactly once per user and key.
//
// It verifies the code's signature and expiry, resolves the payee from the
// directory by the signed alias, and pays the directory's account. Field
// 59 is never trusted: the receipt carries the directory's name, and
// NameMismatch when 59 differs. Such a code still pays the directory's
// payee: the signature proves the bank issued it for that alias, so a
// different 59 means the directory changed since (a rename), not a forgery
// (an edited 59 fails the signature). The app should show Preview's name
// and pass the confirmed account as PayeeAccount, so that an alias moved
// to another account meanwhile is refused (ErrPayeeChanged).
//
// A dynamic code is paid once, for its own amount (Amount may be zero); a
// second payment of it, by anyone, fails with ErrCodePaid. A static code is
// paid the Amount entered, within the user's daily cap on static-code
// payments (ErrDailyCap).
//
// How it stays exact without a transaction across stores: Pay first holds
// the amount on the ledger (a pending transfer whose ID is PaymentID(User,
// Key), timing out after HoldTimeout), then claims the dynamic code or
// reserves the cap under that ID, then posts the hold (TransferID). Each
// step is idempotent under the payment ID, so a retry with the same key
// resumes where the last attempt stopped. The hold is the fence: once it is
// voided or expired nothing can post it, so only then are claims and
// reservations released. A crash after the claim or reservation is
// finished by Reconcile (post the hold, or release if it is dead); a crash
// before is undone by the hold's timeout. On a PayingStore that pays on
// the Service's ledger, the claim or reservation, the post and the
// settlement are one step of the store (one commit on PostgreSQL): a
// payment is two commits, its hold and the rest.
//
// The same key and request again returns the same Receipt, also after the
// code expired; the same key with another code or amount is
// ErrKeyReused.
//
// The directory lookup is made on behalf of User and metered against its
// budget (see Directory): a refused lookup (ErrLookupLimited) holds
// nothing; a payment that settles gives part of the cost back
// (Directory.Settled). A retry of a payment made before looks nothing up.
//
// Errors: ErrMissing (no Directory or Receive), ErrInvalidValue (no user or
// account; with ledger.ErrInvalidKey, a key ledger.CheckKey refuses), the
// errors of ReceiveCodes.Verify
// (ErrBadSignature, ErrNotOurs, ErrUnsigned, ErrUnknownKey,
// ErrExpired, codec errors), ErrLookupLimited, ErrUnknownPayee, ErrPayeeChanged, ErrUnknownCode,
// ErrCodePaid, ErrAmountMismatch, ErrDailyCap, ErrKeyReused,
// ErrPaymentAborted (wrapping the reason), the ledger's (e.g.
// ledger.ErrInsufficientFunds, ledger.ErrCurrencyMismatch) and the
// store's.
func (s *Service) Pay(ctx context.Context, req PayRequest) (Receipt, error) {
	ctx, sp := s.tel.pay.Start(ctx)
	if sp.On() {
		sp.ID(s.PaymentID(req.User, req.Key))
	}
	r, err := s.pay(ctx, req)
	cur := req.Amount.Currency()
	if err == nil {
		cur = r.Amount.Currency()
	}
	sp.End(ctx, err, cur.Code())
	return r, err
}

func (s *Service) pay(ctx context.Context, req PayRequest) (Receipt, error) {
	if s.dir == nil || s.receive == nil {
		return Receipt{}, fmt.Errorf("qr: paying receive codes needs Directory and Receive: %w", ErrMissing)
	}
	if req.User == uuid.Nil || req.From == uuid.Nil {
		return Receipt{}, fmt.Errorf("qr: a payment needs a user and the account it pays from: %w", ErrInvalidValue)
	}
	if err := ledger.CheckKey(req.Key); err != nil {
		return Receipt{}, fmt.Errorf("qr: payment: %w: %w", err, ErrInvalidValue)
	}
	code, verr := s.receive.Verify(ctx, req.Payload)
	if verr != nil && !errors.Is(verr, ErrExpired) {
		return Receipt{}, verr
	}
	id := s.PaymentID(req.User, req.Key)
	digest := digestOf(req.Payload)

	// A payment made before under this key: same request, same outcome
	// (also after the code expired).
	hold, err := s.ledger.LookupTransfer(ctx, id)
	switch {
	case err == nil:
		return s.retry(ctx, &req, &code, hold)
	case !errors.Is(err, ledger.ErrTransferNotFound):
		return Receipt{}, err
	case verr != nil:
		return Receipt{}, verr
	}

	q, payee, err := s.quote(ctx, &code, req.User, id)
	if err != nil {
		return Receipt{}, err
	}
	if req.PayeeAccount != uuid.Nil && req.PayeeAccount != payee.Account ||
		req.PayeeConfirm != "" && req.PayeeConfirm != q.Confirm {
		return Receipt{}, fmt.Errorf("%w: %q", ErrPayeeChanged, payee.Alias)
	}
	amount := req.Amount
	switch code.Initiation {
	case Dynamic:
		if amount != (ledger.Money{}) && amount != code.Amount {
			return Receipt{}, fmt.Errorf("%w: %v for a code of %v", ErrAmountMismatch, amount, code.Amount)
		}
		amount = code.Amount
	default:
		if !amount.IsPositive() || amount.Currency() != code.Currency {
			return Receipt{}, fmt.Errorf("%w: %v for a static %v code", ErrAmountMismatch, amount, code.Currency)
		}
		if limit, ok := capIn(s.staticCaps, amount.Currency()); ok {
			// A first look, holding nothing; ReserveCap decides.
			day := s.Day(s.now())
			used, err := s.store.CapUsed(ctx, req.User, day, amount.Currency())
			if err != nil {
				return Receipt{}, err
			}
			if _, err := CountCap(limit, DayTotal{Day: day, Used: used}, day, amount); err != nil {
				// The total may count this very payment: a retry of it
				// holding and reserving since the lookup above. Its
				// hold exists then (it is made before the reservation),
				// and the retry gets its outcome, not the cap it filled.
				if hold, err := s.ledger.LookupTransfer(ctx, id); err == nil {
					return s.retry(ctx, &req, &code, hold)
				}
				return Receipt{}, err
			}
		}
	}
	hold, err = s.ledger.Transfer(ctx, ledger.Transfer{
		ID: id, Kind: ledger.KindPending, DebitAccountID: req.From, CreditAccountID: payee.Account,
		Amount: amount, Timeout: s.holdTimeout, Code: s.payCode, Reference: code.Reference,
		Metadata: map[string]string{
			metaKind: code.Initiation.String(), metaPayee: payee.Alias, metaPayeeName: cutBytes(payee.Name, ledger.MaxMetadataValueLen), metaMark: q.Confirm,
			metaCodeName: code.Name, metaDigest: digest, metaKey: req.Key, metaUser: req.User.String(),
		},
	})
	if errors.Is(err, ledger.ErrIdempotencyConflict) {
		// A retry written differently (another payload of the same code,
		// a directory read at another moment) made the hold meanwhile:
		// the meaning decides.
		if stored, lerr := s.ledger.LookupTransfer(ctx, id); lerr == nil {
			return s.retry(ctx, &req, &code, stored)
		}
	}
	if err != nil {
		return Receipt{}, err
	}
	r, err := answer(s.complete(ctx, hold))
	if err == nil {
		// This call's metered lookup led to a settled payment: the
		// directory gives part of its cost back (best effort: a failure
		// only leaves the budget lower). Retries look nothing up and
		// give nothing back.
		_ = s.dir.Settled(ctx, req.User)
	}
	return r, err
}

// retry answers a request whose payment's hold exists: the same request
// gets the payment's outcome, another one a *KeyConflictError.
func (s *Service) retry(ctx context.Context, req *PayRequest, code *ReceiveCode, hold ledger.Transfer) (Receipt, error) {
	if field := differs(&hold, req, code); field != "" {
		return Receipt{}, &KeyConflictError{Key: req.Key, ID: hold.ID, Field: field}
	}
	return answer(s.complete(ctx, hold))
}

// digestOf names a payload or payment code in the ledger without keeping
// it: the first 16 bytes of its SHA-256, in hex.
func digestOf(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:16])
}

// differs compares a request with the hold its key made, by meaning
// (see the package doc, Idempotency), and names the first part that
// differs, or returns "".
func differs(hold *ledger.Transfer, req *PayRequest, code *ReceiveCode) string {
	dynamic := code.Initiation == Dynamic
	switch {
	case hold.Metadata[metaKind] != code.Initiation.String():
		return "point of initiation"
	case hold.Metadata[metaPayee] != code.Payee:
		return "payee"
	case dynamic && (hold.Reference != code.Reference || hold.Amount != code.Amount):
		return "dynamic code"
	case dynamic && req.Amount != (ledger.Money{}) && req.Amount != hold.Amount:
		return "amount"
	case !dynamic && (req.Amount != hold.Amount || code.Currency != hold.Amount.Currency()):
		return "amount"
	case req.From != hold.DebitAccountID:
		return "account"
	case req.PayeeAccount != uuid.Nil && req.PayeeAccount != hold.CreditAccountID,
		req.PayeeConfirm != "" && req.PayeeConfirm != hold.Metadata[metaMark]:
		return "payee account"
	}
	return ""
}

// receiptOf reads a payment's receipt from its hold.
func (s *Service) receiptOf(hold *ledger.Transfer) (Receipt, error) {
	md := hold.Metadata
	var init Initiation
	switch md[metaKind] {
	case Static.String():
		init = Static
	case Dynamic.String():
		init = Dynamic
	default:
		return Receipt{}, fmt.Errorf("qr: transfer %s is not a receive-code payment: %w", hold.ID, ErrKeyReused)
	}
	return Receipt{
		Payment: hold.ID, Transfer: s.TransferID(hold.ID), Key: md[metaKey], User: holdUser(hold), From: hold.DebitAccountID,
		Payee:  Payee{Alias: md[metaPayee], Account: hold.CreditAccountID, Name: md[metaPayeeName]},
		Amount: hold.Amount, Initiation: init, Reference: hold.Reference,
		CodeName: md[metaCodeName], NameMismatch: nameMismatch(md[metaCodeName], md[metaPayeeName]), At: hold.Timestamp,
	}, nil
}

// holdUser returns the user who made a payment's hold. A hold made before
// payments named their user has none: its payer was its account, which
// its cap reservation names.
func holdUser(hold *ledger.Transfer) uuid.UUID {
	if u, err := uuid.Parse(hold.Metadata[metaUser]); err == nil {
		return u
	}
	return hold.DebitAccountID
}

// complete drives a payment from its hold to the end: count it (claim the
// code or reserve the cap), post the hold, settle. Every step is
// idempotent, so Pay, a retry and Reconcile may run it at the same time.
func (s *Service) complete(ctx context.Context, hold ledger.Transfer) (Receipt, error) {
	r, err := s.receiptOf(&hold)
	if err != nil {
		return Receipt{}, err
	}
	switch hold.Status {
	case ledger.StatusPosted:
		return r, s.settle(ctx, &r)
	case ledger.StatusVoided, ledger.StatusExpired:
		return Receipt{}, s.aborted(ctx, &r)
	}
	if s.paying != nil {
		return s.completePaid(ctx, &r)
	}
	if err := s.reserve(ctx, &r); err != nil {
		if !isReason(err) {
			// The store failed: the hold stays pending for a retry,
			// Reconcile or its timeout.
			return Receipt{}, err
		}
		return s.cancel(ctx, &r, err)
	}
	_, err = s.ledger.Post(ctx, r.Transfer, r.Payment, ledger.Money{})
	switch {
	case err == nil:
		return r, s.settle(ctx, &r)
	case errors.Is(err, ledger.ErrPendingResolved), errors.Is(err, ledger.ErrPendingExpired):
		return s.resolved(ctx, &r)
	case isReason(err):
		return s.cancel(ctx, &r, err)
	}
	return Receipt{}, err
}

// completePaid is complete's pending hold on a PayingStore that pays on
// the Service's ledger: the claim or reservation, the post and the
// settlement in one step of the store (CompletePaid). A refusal of the
// claim, the reservation or the post is answered as on the slower path.
func (s *Service) completePaid(ctx context.Context, r *Receipt) (Receipt, error) {
	step := PayStep{Payment: r.Payment, At: r.At, Now: s.ledger.Now(),
		Post: ledger.Transfer{ID: r.Transfer, Kind: ledger.KindPostPending, PendingID: r.Payment}}
	if r.Initiation == Dynamic {
		step.Code = s.CodeID(r.Payee.Alias, r.Reference)
	} else if limit, ok := capIn(s.staticCaps, r.Amount.Currency()); ok {
		step.Limit = limit
		step.Reservation = CapReservation{Payment: r.Payment, User: r.User, Day: s.Day(r.At), Amount: r.Amount, At: r.At}
	}
	out, err := s.paying.CompletePaid(ctx, step)
	switch {
	case err != nil:
		// The store failed: the hold stays pending for a retry,
		// Reconcile or its timeout.
		return Receipt{}, err
	case out.Refused != nil && !isReason(out.Refused):
		return Receipt{}, out.Refused
	case out.Refused != nil:
		return s.cancel(ctx, r, out.Refused)
	case out.Err == nil:
		return *r, nil
	case errors.Is(out.Err, ledger.ErrPendingResolved), errors.Is(out.Err, ledger.ErrPendingExpired):
		return s.resolved(ctx, r)
	case isReason(out.Err):
		return s.cancel(ctx, r, out.Err)
	}
	return Receipt{}, out.Err
}

// isReason reports whether err is a business reason to cancel a payment
// (rather than a store or ledger failing).
func isReason(err error) bool {
	for _, reason := range voidReasons {
		if errors.Is(err, reason) {
			return true
		}
	}
	return false
}

// reserve counts a payment: it claims a dynamic code, or reserves a static
// payment against the user's daily cap.
func (s *Service) reserve(ctx context.Context, r *Receipt) error {
	if r.Initiation == Dynamic {
		_, err := s.store.ClaimCode(ctx, s.CodeID(r.Payee.Alias, r.Reference), r.Payment, r.At)
		return err
	}
	limit, ok := capIn(s.staticCaps, r.Amount.Currency())
	if !ok {
		return nil
	}
	_, err := s.store.ReserveCap(ctx, CapReservation{Payment: r.Payment, User: r.User, Day: s.Day(r.At), Amount: r.Amount, At: r.At}, limit)
	return err
}

// errUnsettled: a payment is posted but its claim or reservation could
// not be settled (the store failed). Pay answers with the receipt (the
// money moved); Reconcile settles it later.
var errUnsettled = errors.New("qr: payment posted, record not settled")

// settle makes a posted payment's claim or reservation final.
//
// Errors: errUnsettled wrapping the store's.
func (s *Service) settle(ctx context.Context, r *Receipt) error {
	var err error
	if r.Initiation == Dynamic {
		err = s.store.SettleCode(ctx, s.CodeID(r.Payee.Alias, r.Reference), r.Payment)
	} else if err = s.store.SettleCap(ctx, r.Payment); errors.Is(err, ErrNotReserved) {
		err = nil // a currency without a cap
	}
	if err != nil {
		return fmt.Errorf("%w: payment %s: %w", errUnsettled, r.Payment, err)
	}
	return nil
}

// answer is what Pay returns for a payment's outcome: a posted payment
// whose record is left unsettled is paid (Reconcile settles the record).
func answer(r Receipt, err error) (Receipt, error) {
	if errors.Is(err, errUnsettled) {
		return r, nil
	}
	return r, err
}

// release undoes a dead payment's claim or reservation.
func (s *Service) release(ctx context.Context, r *Receipt) error {
	if r.Initiation == Dynamic {
		return s.store.ReleaseCode(ctx, s.CodeID(r.Payee.Alias, r.Reference), r.Payment)
	}
	return s.store.ReleaseCap(ctx, r.Payment)
}

// cancel voids a payment's hold, recording why, and releases what it
// counted.
func (s *Service) cancel(ctx context.Context, r *Receipt, reason error) (Receipt, error) {
	code := ""
	for _, known := range voidReasons {
		if errors.Is(reason, known) {
			code = known.Error()
			break
		}
	}
	_, err := s.ledger.Transfer(ctx, ledger.Transfer{
		ID: s.voidID(r.Payment), Kind: ledger.KindVoidPending, PendingID: r.Payment,
		Metadata: map[string]string{metaReason: code},
	})
	switch {
	case err == nil:
	case errors.Is(err, ledger.ErrPendingResolved), errors.Is(err, ledger.ErrPendingExpired),
		errors.Is(err, ledger.ErrIdempotencyConflict): // voided meanwhile for another reason
		return s.resolved(ctx, r)
	default:
		return Receipt{}, errors.Join(fmt.Errorf("qr: payment %s: %w", r.Payment, reason), err)
	}
	if err := s.release(ctx, r); err != nil {
		return Receipt{}, err
	}
	return Receipt{}, fmt.Errorf("qr: payment %s: %w", r.Payment, errcode.Because(ErrPaymentAborted, reason))
}

// resolved finishes a payment whose hold someone else resolved meanwhile.
func (s *Service) resolved(ctx context.Context, r *Receipt) (Receipt, error) {
	hold, err := s.ledger.LookupTransfer(ctx, r.Payment)
	if err != nil {
		return Receipt{}, err
	}
	switch hold.Status {
	case ledger.StatusPosted:
		return *r, s.settle(ctx, r)
	case ledger.StatusPending:
		// Past its timeout but not swept yet: nothing can post it.
	}
	return Receipt{}, s.aborted(ctx, r)
}

// aborted releases a dead payment's claim or reservation and returns
// ErrPaymentAborted with the reason recorded on the void, if any.
func (s *Service) aborted(ctx context.Context, r *Receipt) error {
	if err := s.release(ctx, r); err != nil {
		return err
	}
	void, err := s.ledger.LookupTransfer(ctx, s.voidID(r.Payment))
	if err == nil {
		for _, reason := range voidReasons {
			if void.Metadata[metaReason] == reason.Error() {
				return fmt.Errorf("qr: payment %s: %w", r.Payment, errcode.Because(ErrPaymentAborted, reason))
			}
		}
	}
	return fmt.Errorf("qr: payment %s: %w (hold voided or timed out)", r.Payment, ErrPaymentAborted)
}

// ReconcileReport says what Reconcile did.
type ReconcileReport struct {
	Completed int `json:"completed"` // payments posted (or found posted) and settled
	Cancelled int `json:"cancelled"` // payments found dead whose claims or reservations were released
	Pending   int `json:"pending"`   // left for a later run (a store or the ledger failing)
	// Repaired counts settled claims and reservations found without a
	// posted payment (ProblemSettledUnpaid) and reset: the code open
	// again, the day's cap room given back.
	Repaired int `json:"repaired"`
	// Unrepaired counts the records that disagree with the ledger in a way
	// Reconcile does not decide (ProblemTerms, ProblemCapTotal, a settled
	// record whose hold is still pending); the error lists them.
	Unrepaired int `json:"unrepaired"`
}

const reconcileBatch = 100

// Reconcile finishes payments that a crash (or a lost connection) left
// between their steps: every dynamic-code claim and cap reservation made
// before now − ReconcileAfter that is not settled. A payment whose hold is still
// pending is posted; one whose hold was voided or timed out is released.
// Maintain runs it, and the ledger's Maintain expires the holds that never
// got a claim or reservation (their timeout alone undoes them). Concurrent
// runs, and runs concurrent with Pay, are safe.
//
// Then it walks every claim and reservation as Check does and repairs the
// records that contradict the ledger: a settled one whose payment the
// ledger does not have posted (its hold voided, timed out or missing) is
// reset (Repaired). What it cannot decide it reports (Unrepaired, and the
// error). This pass reads every record with its hold, so its cost grows
// with the records kept.
//
// Errors: ErrRecordMismatch listing the records left in disagreement, the
// store's and the ledger's; the report counts what was done before.
func (s *Service) Reconcile(ctx context.Context, now time.Time) (rep ReconcileReport, err error) {
	ctx, sw := s.tel.StartSweep(ctx, "reconcile")
	defer func() { sw.End(ctx, err, rep.items()...) }()
	return s.reconcileAt(ctx, now)
}

func (s *Service) reconcileAt(ctx context.Context, now time.Time) (ReconcileReport, error) {
	var rep ReconcileReport
	var firstErr error
	finish := func(payment uuid.UUID, orphan func() error, problem func(*ledger.Transfer) (Problem, bool)) {
		hold, err := s.ledger.LookupTransfer(ctx, payment)
		if err == nil {
			if p, ok := problem(&hold); ok && p.Kind == ProblemTerms {
				return // not this payment's record: the scan below reports it
			}
		}
		if errors.Is(err, ledger.ErrTransferNotFound) {
			// A claim without a hold cannot come from Pay; free it.
			err = orphan()
			if err == nil {
				rep.Cancelled++
				return
			}
		}
		if err == nil {
			_, err = s.complete(ctx, hold)
		}
		switch {
		case err == nil:
			rep.Completed++
		case errors.Is(err, ErrPaymentAborted):
			rep.Cancelled++
		default:
			rep.Pending++
			if firstErr == nil {
				firstErr = err
			}
		}
	}
	for {
		done := rep.Completed + rep.Cancelled
		before := now.Add(-s.reconcileAfter)
		codes, err := s.store.ClaimedCodes(ctx, before, reconcileBatch)
		if err != nil {
			return rep, err
		}
		caps, err := s.store.ReservedCaps(ctx, before, reconcileBatch)
		if err != nil {
			return rep, err
		}
		for _, c := range codes {
			finish(c.Payment, func() error { return s.store.ReleaseCode(ctx, c.ID, c.Payment) },
				func(hold *ledger.Transfer) (Problem, bool) { return codeProblem(&c, hold) })
		}
		for _, r := range caps {
			finish(r.Payment, func() error { return s.store.ReleaseCap(ctx, r.Payment) },
				func(hold *ledger.Transfer) (Problem, bool) { return reservationProblem(&r, hold, s.Day) })
		}
		if firstErr != nil {
			return rep, firstErr
		}
		if len(codes) < reconcileBatch && len(caps) < reconcileBatch || rep.Completed+rep.Cancelled == done {
			break
		}
	}
	var problems []Problem
	var check CheckReport
	err := s.scan(ctx, &check, func(p Problem, _ time.Time) {
		switch p.Kind {
		case ProblemUnsettled, ProblemDead:
			return // the pass above, or the Pay running now
		case ProblemSettledUnpaid:
			switch err := s.repair(ctx, &p); {
			case err == nil:
				rep.Repaired++
				return
			case errors.Is(err, errAgrees):
				return
			case !errors.Is(err, errStillPending) && firstErr == nil:
				firstErr = err
			}
		}
		rep.Unrepaired++
		problems = append(problems, p)
	})
	if err != nil {
		return rep, err
	}
	if firstErr != nil {
		return rep, firstErr
	}
	return rep, problemsError(problems)
}

// Why repair left a record alone: a settled record whose hold is pending
// (it will be posted, which agrees, or die, and be repaired then), or one
// whose hold was posted since the scan.
var (
	errStillPending = errors.New("qr: hold still pending")
	errAgrees       = errors.New("qr: record agrees with the ledger now")
)

// repair resets a settled claim or reservation whose payment's hold is
// dead or missing, after looking at the hold again (what the scan saw may
// be old).
func (s *Service) repair(ctx context.Context, p *Problem) error {
	hold, err := s.lookupHold(ctx, p.Payment)
	switch {
	case err != nil:
		return err
	case hold != nil && hold.Status == ledger.StatusPosted:
		return errAgrees
	case hold != nil && hold.Status == ledger.StatusPending:
		return errStillPending
	case p.Record == "code":
		return s.store.ResetCode(ctx, p.Code, p.Payment)
	}
	return s.store.ResetCap(ctx, p.Payment)
}
