package postgres

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/socialpay/socialpay/ledger"
)

// How the ledger's values sit in rows. UUIDs travel as [16]byte (pgx's
// binary fast path), times as timestamptz (ledger.Timestamp keeps them to
// the microsecond, so they round-trip exactly), enums as smallint, free-form
// text as text and metadata as jsonb (NULL when empty). A nullable UUID
// column reads as uuid.Nil.

const nilUUID = "'00000000-0000-0000-0000-000000000000'::uuid"

const accountCols = `id, currency, code, flags, metadata, status, created_at, closed_at,
	debits_pending, debits_posted, credits_pending, credits_posted, seq, head, last_time`

const transferCols = `id, kind, debit_account_id, credit_account_id, amount, currency,
	coalesce(pending_id, ` + nilUUID + `), coalesce(reverses_id, ` + nilUUID + `), timeout_ns, code, reference,
	metadata, ts, status, coalesce(resolved_by, ` + nilUUID + `), coalesce(reversed_by, ` + nilUUID + `)`

const entryCols = `account_id, seq, coalesce(transfer_id, ` + nilUUID + `), kind, side, posted_delta, pending_delta, at,
	debits_pending, debits_posted, credits_pending, credits_posted, hash`

// prefixed returns cols with every column qualified by alias ("a.id, …"),
// keeping coalesce(…) wrappers intact.
func prefixed(alias, cols string) string {
	var out []string
	for _, c := range strings.Split(cols, ",") {
		c = strings.TrimSpace(c)
		if rest, ok := strings.CutPrefix(c, "coalesce("); ok {
			c = "coalesce(" + alias + "." + rest
		} else if !strings.HasPrefix(c, "'") {
			c = alias + "." + c
		}
		out = append(out, c)
	}
	return strings.Join(out, ", ")
}

// currency reads a currency column.
func currency(code string) (ledger.Currency, error) {
	c, err := ledger.LookupCurrency(code)
	if err != nil {
		return c, fmt.Errorf("%w: stored currency %q: %w", ErrIntegrity, code, err)
	}
	return c, nil
}

// money reads an amount column in minor units with its currency column.
func money(units int64, code string) (ledger.Money, error) {
	c, err := currency(code)
	if err != nil {
		return ledger.Money{}, err
	}
	return ledger.NewMoney(units, c), nil
}

// utc reads a timestamptz column (pgx returns local time).
func utc(t time.Time) time.Time { return t.UTC() }

// utcOrZero reads a nullable timestamptz column: NULL is the zero time.
func utcOrZero(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.UTC()
}

// nullTime writes the zero time as NULL.
func nullTime(t time.Time) pgtype.Timestamptz {
	return pgtype.Timestamptz{Time: t, Valid: !t.IsZero()}
}

// accountRow receives the columns accountCols lists.
type accountRow struct {
	id                  [16]byte
	cur                 string
	code, flags         int32
	status              int16
	meta, head          []byte
	closedAt            *time.Time
	createdAt, lastTime time.Time
	seq                 int64
	dp, dpo, cp, cpo    int64
}

func (r *accountRow) dest() []any {
	return []any{&r.id, &r.cur, &r.code, &r.flags, &r.meta, &r.status, &r.createdAt, &r.closedAt,
		&r.dp, &r.dpo, &r.cp, &r.cpo, &r.seq, &r.head, &r.lastTime}
}

func (r *accountRow) state() (ledger.AccountState, error) {
	var st ledger.AccountState
	c, err := currency(r.cur)
	if err != nil {
		return st, err
	}
	m, err := decodeMetadata(r.meta)
	if err != nil {
		return st, err
	}
	a := &st.Account
	a.ID, a.Currency, a.Code, a.Flags, a.Metadata = r.id, c, uint16(r.code), ledger.AccountFlags(r.flags), m
	a.Status, a.CreatedAt, a.ClosedAt = ledger.AccountStatus(r.status), utc(r.createdAt), utcOrZero(r.closedAt)
	a.Balance = ledger.Balance{DebitsPending: r.dp, DebitsPosted: r.dpo, CreditsPending: r.cp, CreditsPosted: r.cpo}
	st.Seq, st.LastTime = uint64(r.seq), utc(r.lastTime)
	if copy(st.Head[:], r.head) != len(st.Head) {
		return st, fmt.Errorf("%w: account %s: chain head of %d bytes", ErrIntegrity, a.ID, len(r.head))
	}
	return st, nil
}

func scanAccount(row pgx.CollectableRow) (ledger.AccountState, error) {
	var r accountRow
	if err := row.Scan(r.dest()...); err != nil {
		return ledger.AccountState{}, err
	}
	return r.state()
}

func scanTransfer(row pgx.CollectableRow) (ledger.Transfer, error) {
	var (
		id, debit, credit, pending, reverses, resolved, by [16]byte
		kind, status                                       int16
		units, timeout                                     int64
		cur, ref                                           string
		code                                               int32
		meta                                               []byte
		ts                                                 time.Time
	)
	if err := row.Scan(&id, &kind, &debit, &credit, &units, &cur, &pending, &reverses, &timeout, &code, &ref,
		&meta, &ts, &status, &resolved, &by); err != nil {
		return ledger.Transfer{}, err
	}
	amount, err := money(units, cur)
	if err != nil {
		return ledger.Transfer{}, err
	}
	m, err := decodeMetadata(meta)
	if err != nil {
		return ledger.Transfer{}, err
	}
	t := ledger.Transfer{
		ID: id, Kind: ledger.TransferKind(kind), DebitAccountID: debit, CreditAccountID: credit,
		Amount: amount, PendingID: pending, ReversesID: reverses,
		Timeout: time.Duration(timeout), Code: uint16(code), Reference: ref, Metadata: m,
		Timestamp: utc(ts), Status: ledger.TransferStatus(status), ResolvedBy: resolved, ReversedBy: by,
	}
	if t.Kind == ledger.KindPending && t.Timeout > 0 {
		// Exactly what the rules computed; the column is rounded to µs.
		t.ExpiresAt = t.Timestamp.Add(t.Timeout)
	}
	return t, nil
}

// entryRow receives the columns entryCols lists.
type entryRow struct {
	account, transfer [16]byte
	seq               int64
	kind, side        int16
	posted, pending   int64
	at                time.Time
	dp, dpo, cp, cpo  int64
	hash              []byte
}

func (r *entryRow) dest() []any {
	return []any{&r.account, &r.seq, &r.transfer, &r.kind, &r.side, &r.posted, &r.pending, &r.at,
		&r.dp, &r.dpo, &r.cp, &r.cpo, &r.hash}
}

func (r *entryRow) entry() ledger.Entry {
	e := ledger.Entry{
		AccountID: r.account, Seq: uint64(r.seq), TransferID: r.transfer, Kind: ledger.EntryKind(r.kind),
		Side: ledger.Side(r.side), PostedDelta: r.posted, PendingDelta: r.pending, Time: utc(r.at),
		Balance: ledger.Balance{DebitsPending: r.dp, DebitsPosted: r.dpo, CreditsPending: r.cp, CreditsPosted: r.cpo},
	}
	copy(e.Hash[:], r.hash) // a hash of the wrong length fails the chain check in Verify
	return e
}

func scanEntry(row pgx.CollectableRow) (ledger.Entry, error) {
	var r entryRow
	if err := row.Scan(r.dest()...); err != nil {
		return ledger.Entry{}, err
	}
	return r.entry(), nil
}

// scanBalance reads the four balance totals.
func scanBalance(row pgx.CollectableRow) (ledger.Balance, error) {
	var b ledger.Balance
	if err := row.Scan(&b.DebitsPending, &b.DebitsPosted, &b.CreditsPending, &b.CreditsPosted); err != nil {
		return ledger.Balance{}, err
	}
	return b, nil
}

func decodeMetadata(b []byte) (map[string]string, error) {
	if b == nil {
		return nil, nil
	}
	var m map[string]string
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%w: metadata %q: %w", ErrIntegrity, b, err)
	}
	return m, nil
}

// encodeMetadata returns m as JSON, or nil (NULL) when it is empty.
func encodeMetadata(m map[string]string) []byte {
	if len(m) == 0 {
		return nil
	}
	b, err := json.Marshal(m)
	if err != nil {
		panic(err) // a map of strings always marshals
	}
	return b
}

// microsUp rounds t up to the microsecond: a timestamptz d holding it
// satisfies d <= now exactly when t <= now, for any now on a microsecond.
func microsUp(t time.Time) time.Time {
	if r := t.Truncate(time.Microsecond); !r.Equal(t) {
		return r.Add(time.Microsecond)
	}
	return t
}

// uuids converts IDs to pgx's binary-friendly form.
func uuids(ids []uuid.UUID) [][16]byte {
	out := make([][16]byte, len(ids))
	for i, id := range ids {
		out[i] = id
	}
	return out
}
