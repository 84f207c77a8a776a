package qr

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/errcode"
	"github.com/socialpay/socialpay/ledger"
)

// ErrRecordMismatch: a QR record (a dynamic code's claim, a cap
// reservation, a day's cap total) disagrees with the ledger or with the
// records it sums. Check wraps it, listing every Problem.
var ErrRecordMismatch = errcode.New("records_disagree", errcode.Internal, "qr: record disagrees with the ledger")

// ProblemKind says how a record disagrees with the ledger.
type ProblemKind int

// Kinds of Problem. The first two are the states a Pay passes through
// between its steps; Check reports them only when older than
// ReconcileAfter (a Pay that stopped), and Reconcile finishes them. The
// next one Reconcile repairs too; the last two it reports.
const (
	// ProblemUnsettled: an open claim or reservation whose hold is
	// posted. Repair: settle it.
	ProblemUnsettled ProblemKind = iota + 1
	// ProblemDead: an open claim or reservation whose hold is voided,
	// timed out or missing. Repair: release it.
	ProblemDead
	// ProblemSettledUnpaid: a settled claim or reservation whose hold is
	// not posted (voided, timed out, pending or missing): the record
	// counts a payment the ledger does not have. Repair: reopen the code,
	// remove the reservation from the day's total.
	ProblemSettledUnpaid
	// ProblemTerms: the record's terms (payer, payee, reference, amount,
	// day) are not those of the hold it names. Not repaired: which side
	// is right needs a person.
	ProblemTerms
	// ProblemCapTotal: a day's cap total is not the sum of its
	// reservations. Not repaired.
	ProblemCapTotal
)

func (k ProblemKind) String() string {
	switch k {
	case ProblemUnsettled:
		return "posted but not settled"
	case ProblemDead:
		return "held by a dead payment"
	case ProblemSettledUnpaid:
		return "settled without a posted payment"
	case ProblemTerms:
		return "terms differ from the payment's"
	case ProblemCapTotal:
		return "cap total differs from its reservations"
	}
	return fmt.Sprintf("ProblemKind(%d)", int(k))
}

// Problem is one record that disagrees with the ledger.
type Problem struct {
	Kind ProblemKind `json:"kind"`
	// Record is "code" (Code is the dynamic code's ID), "reservation" or
	// "cap total" (User and Day name the total).
	Record  string    `json:"record"`
	Code    uuid.UUID `json:"code,omitzero"`
	Payment uuid.UUID `json:"payment,omitzero"` // the payment the record names
	User    uuid.UUID `json:"user,omitzero"`
	Day     string    `json:"day,omitempty"`
	Detail  string    `json:"detail,omitempty"` // what each side says
}

func (p Problem) String() string {
	who := p.Payment.String()
	if p.Record == "cap total" {
		who = p.User.String() + " " + p.Day
	}
	return fmt.Sprintf("%s %s: %v: %s", p.Record, who, p.Kind, p.Detail)
}

// CheckReport says what Check looked at and what disagrees.
type CheckReport struct {
	Codes        int       `json:"codes"`        // dynamic codes with a claim, settled or not
	Reservations int       `json:"reservations"` // cap reservations, settled or not
	Totals       int       `json:"totals"`       // days' cap totals
	InFlight     int       `json:"in_flight"`    // records between two steps of a running Pay (younger than ReconcileAfter)
	Problems     []Problem `json:"problems"`
}

const checkBatch = 500

// Check compares every QR record with the ledger, as ledger.Verify
// checks the ledger itself: each dynamic code's claim and each cap
// reservation against the hold it names (a settled record needs a posted
// hold, an open one a pending hold, and the terms must be the hold's),
// and each day's cap total against the sum of its reservations. Records
// between two steps of a Pay younger than ReconcileAfter count as
// InFlight, not as problems. Payment-code charges have no record besides
// their ledger transfer (a redeemed code is a replay guard), so there is
// nothing of theirs to compare.
//
// What it cannot see: a ledger payment whose record is missing altogether
// (the ledger is not indexed by QR payment). Pay writes the record before
// it posts, so only a deleted record leaves one.
//
// Errors: ErrRecordMismatch listing the problems (also in the report),
// the store's and the ledger's.
func (s *Service) Check(ctx context.Context) (CheckReport, error) {
	var rep CheckReport
	err := s.scan(ctx, &rep, func(p Problem, at time.Time) {
		if (p.Kind == ProblemUnsettled || p.Kind == ProblemDead) && at.After(s.now().Add(-s.reconcileAfter)) {
			rep.InFlight++
			return
		}
		rep.Problems = append(rep.Problems, p)
	})
	if err != nil {
		return rep, err
	}
	return rep, problemsError(rep.Problems)
}

// problemsError is ErrRecordMismatch listing ps, or nil.
func problemsError(ps []Problem) error {
	if len(ps) == 0 {
		return nil
	}
	const shown = 5
	msg := ""
	for i, p := range ps[:min(len(ps), shown)] {
		if i > 0 {
			msg += "; "
		}
		msg += p.String()
	}
	if len(ps) > shown {
		msg += fmt.Sprintf("; and %d more", len(ps)-shown)
	}
	return fmt.Errorf("%w: %d problems: %s", ErrRecordMismatch, len(ps), msg)
}

// scan walks every claimed code and every reservation, compares each
// with its hold and calls found for each disagreement with the time of
// the record (claim or reservation).
func (s *Service) scan(ctx context.Context, rep *CheckReport, found func(Problem, time.Time)) error {
	for after := uuid.Nil; ; {
		codes, err := s.store.ScanCodes(ctx, after, checkBatch)
		if err != nil {
			return err
		}
		for _, c := range codes {
			rep.Codes++
			hold, err := s.lookupHold(ctx, c.Payment)
			if err != nil {
				return err
			}
			if p, ok := codeProblem(&c, hold); ok {
				found(p, c.ClaimedAt)
			}
		}
		if len(codes) < checkBatch {
			break
		}
		after = codes[len(codes)-1].ID
	}
	sums, err := s.capSums(ctx, nil, func(r *CapReservation) error {
		rep.Reservations++
		hold, err := s.lookupHold(ctx, r.Payment)
		if err != nil {
			return err
		}
		if p, ok := reservationProblem(r, hold, s.Day); ok {
			found(p, r.At)
		}
		return nil
	})
	if err != nil {
		return err
	}
	// A total that differs from its reservations is looked at again (the
	// sums and the totals are not read at one instant, and payments or
	// repairs go on meanwhile): only a difference seen twice is reported.
	differ := map[dayKey]bool{}
	for k, sum := range sums {
		rep.Totals++
		used, err := s.store.CapUsed(ctx, k.user, k.day, k.cur)
		if err != nil {
			return err
		}
		if used.Units() != sum {
			differ[k] = true
		}
	}
	if len(differ) == 0 {
		return nil
	}
	again, err := s.capSums(ctx, differ, nil)
	if err != nil {
		return err
	}
	for k := range differ {
		used, err := s.store.CapUsed(ctx, k.user, k.day, k.cur)
		if err != nil {
			return err
		}
		if sum := again[k]; used.Units() != sum {
			found(Problem{Kind: ProblemCapTotal, Record: "cap total", User: k.user, Day: k.day,
				Detail: fmt.Sprintf("total %v, reservations sum to %v", used, ledger.NewMoney(sum, k.cur))}, time.Time{})
		}
	}
	return nil
}

// dayKey names a user's cap total of a day in a currency.
type dayKey struct {
	user uuid.UUID
	day  string
	cur  ledger.Currency
}

// capSums sums every reservation (of the keys in only, when it is not
// nil) by user, day and currency, calling each on every reservation.
func (s *Service) capSums(ctx context.Context, only map[dayKey]bool, each func(*CapReservation) error) (map[dayKey]int64, error) {
	sums := map[dayKey]int64{}
	for after := uuid.Nil; ; {
		rs, err := s.store.ScanReservations(ctx, after, checkBatch)
		if err != nil {
			return nil, err
		}
		for i := range rs {
			r := &rs[i]
			k := dayKey{r.User, r.Day, r.Amount.Currency()}
			if only != nil && !only[k] {
				continue
			}
			sums[k] += r.Amount.Units()
			if each != nil {
				if err := each(r); err != nil {
					return nil, err
				}
			}
		}
		if len(rs) < checkBatch {
			return sums, nil
		}
		after = rs[len(rs)-1].Payment
	}
}

// lookupHold returns a payment's hold, or nil when the ledger has none.
func (s *Service) lookupHold(ctx context.Context, payment uuid.UUID) (*ledger.Transfer, error) {
	hold, err := s.ledger.LookupTransfer(ctx, payment)
	switch {
	case errors.Is(err, ledger.ErrTransferNotFound):
		return nil, nil
	case err != nil:
		return nil, err
	}
	return &hold, nil
}

// recordState compares the state of a record (settled or open) with its
// hold's; hold is nil when the ledger has none. It is the one rule for
// codes and reservations alike.
func recordState(settled bool, hold *ledger.Transfer) (ProblemKind, string) {
	status := "no hold"
	if hold != nil {
		status = "hold " + hold.Status.String()
	}
	switch {
	case settled && (hold == nil || hold.Status != ledger.StatusPosted):
		return ProblemSettledUnpaid, "settled, " + status
	case settled:
		return 0, ""
	case hold == nil || hold.Status == ledger.StatusVoided || hold.Status == ledger.StatusExpired:
		return ProblemDead, "open, " + status
	case hold.Status == ledger.StatusPosted:
		return ProblemUnsettled, "open, " + status
	}
	return 0, "" // open, hold pending: a Pay between its steps
}

// codeProblem compares a claimed code with its payment's hold.
func codeProblem(c *DynamicCode, hold *ledger.Transfer) (Problem, bool) {
	p := Problem{Record: "code", Code: c.ID, Payment: c.Payment}
	if hold != nil && (hold.Metadata[metaKind] != Dynamic.String() || hold.Metadata[metaPayee] != c.Payee ||
		hold.Reference != c.Reference || hold.Amount != c.Amount) {
		p.Kind = ProblemTerms
		p.Detail = fmt.Sprintf("code %q %q %v, hold %s %q %q %v", c.Payee, c.Reference, c.Amount,
			hold.Metadata[metaKind], hold.Metadata[metaPayee], hold.Reference, hold.Amount)
		return p, true
	}
	p.Kind, p.Detail = recordState(c.Settled, hold)
	return p, p.Kind != 0
}

// reservationProblem compares a cap reservation with its payment's hold;
// day names a time's cap day.
func reservationProblem(r *CapReservation, hold *ledger.Transfer, day func(time.Time) string) (Problem, bool) {
	p := Problem{Record: "reservation", Payment: r.Payment, User: r.User, Day: r.Day}
	if hold != nil && (hold.Metadata[metaKind] != Static.String() || holdUser(hold) != r.User ||
		hold.Amount != r.Amount || day(hold.Timestamp) != r.Day) {
		p.Kind = ProblemTerms
		p.Detail = fmt.Sprintf("reserved %v for %s on %s, hold %s %v by %s on %s", r.Amount, r.User, r.Day,
			hold.Metadata[metaKind], hold.Amount, holdUser(hold), day(hold.Timestamp))
		return p, true
	}
	p.Kind, p.Detail = recordState(r.Settled, hold)
	return p, p.Kind != 0
}
