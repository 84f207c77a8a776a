package main

import (
	"time"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/ledger"
	"github.com/socialpay/socialpay/qr"
	"github.com/socialpay/socialpay/redpacket"
	"github.com/socialpay/socialpay/transfer"
)

// The JSON shapes of the API (openapi.yaml's schemas). Amounts are
// ledger.Money ({"amount":"88.88","currency":"CNY"}), enums words,
// times RFC 3339. bankd writes its own shapes, so that the API stays what
// its document says while the library's types evolve.

type meView struct {
	UserID uuid.UUID `json:"user_id"`
	Handle string    `json:"handle"`
	Wallet uuid.UUID `json:"wallet_id"`
}

type walletView struct {
	ID        uuid.UUID    `json:"id"`
	Owner     uuid.UUID    `json:"owner"`
	Status    string       `json:"status"`
	Balance   ledger.Money `json:"balance"`
	Available ledger.Money `json:"available"`
	Pending   ledger.Money `json:"pending"`
}

func walletOf(a ledger.Account, owner uuid.UUID) walletView {
	return walletView{ID: a.ID, Owner: owner, Status: a.Status.String(), Balance: a.NetMoney(), Available: a.AvailableMoney(),
		Pending: ledger.NewMoney(a.Balance.DebitsPending, a.Currency)}
}

type depositView struct {
	TransferID uuid.UUID    `json:"transfer_id"`
	Amount     ledger.Money `json:"amount"`
	At         time.Time    `json:"at"`
}

type entryView struct {
	Seq        uint64       `json:"seq"`
	Time       time.Time    `json:"time"`
	TransferID uuid.UUID    `json:"transfer_id"`
	Kind       string       `json:"kind"`
	Posted     ledger.Money `json:"posted"`  // change of the balance: negative for money out
	Pending    ledger.Money `json:"pending"` // change of the money on hold
	Balance    ledger.Money `json:"balance"` // the balance after this entry
}

type statementView struct {
	Entries []entryView `json:"entries"`
	// Next is the after= of the next page; 0 when this page is the last.
	Next uint64 `json:"next"`
}

func entryOf(e ledger.Entry, c ledger.Currency) entryView {
	sign := int64(1)
	if e.Side == ledger.SideDebit {
		sign = -1
	}
	return entryView{Seq: e.Seq, Time: e.Time, TransferID: e.TransferID, Kind: e.Kind.String(),
		Posted: ledger.NewMoney(sign*e.PostedDelta, c), Pending: ledger.NewMoney(e.PendingDelta, c),
		Balance: ledger.NewMoney(e.Balance.Net(), c)}
}

type groupView struct {
	ID        uuid.UUID `json:"id"`
	Name      string    `json:"name"`
	Owner     uuid.UUID `json:"owner"`
	Size      int       `json:"size"`
	CreatedAt time.Time `json:"created_at"`
}

func groupOf(g Group) groupView {
	return groupView{ID: g.ID, Name: g.Name, Owner: g.Owner, Size: g.Size, CreatedAt: g.CreatedAt}
}

type packetView struct {
	ID        uuid.UUID     `json:"id"`
	Kind      string        `json:"kind"`
	Status    string        `json:"status"`
	Sender    uuid.UUID     `json:"sender"`
	Group     *uuid.UUID    `json:"group_id,omitempty"`
	Recipient *uuid.UUID    `json:"recipient,omitempty"`
	Total     ledger.Money  `json:"total"`
	Count     int           `json:"count"`
	Claimed   int           `json:"claimed"`
	CreatedAt time.Time     `json:"created_at"`
	ExpiresAt time.Time     `json:"expires_at"`
	Claims    []claimView   `json:"claims,omitempty"`
	Remaining *ledger.Money `json:"remaining,omitempty"`
	Refund    *ledger.Money `json:"refund,omitempty"`
	// BestLuck is the index in Claims of the best-luck claim, once the
	// packet is fully claimed.
	BestLuck *int `json:"best_luck,omitempty"`
}

func optID(id uuid.UUID) *uuid.UUID {
	if id == uuid.Nil {
		return nil
	}
	return &id
}

func packetOf(p redpacket.Packet) packetView {
	return packetView{ID: p.ID, Kind: p.Kind.String(), Status: p.Status.String(), Sender: p.Sender, Group: optID(p.Group),
		Recipient: optID(p.Recipient), Total: p.Total, Count: p.Count, Claimed: p.Claimed, CreatedAt: p.CreatedAt, ExpiresAt: p.ExpiresAt}
}

func viewOf(v redpacket.View) packetView {
	out := packetOf(v.Packet)
	out.Claims = make([]claimView, len(v.Claims))
	for i, c := range v.Claims {
		out.Claims[i] = claimOf(c)
	}
	out.Remaining = &v.RemainingAmount
	if !v.Refund.IsZero() {
		out.Refund = &v.Refund
	}
	if v.BestLuck >= 0 {
		out.BestLuck = &v.BestLuck
	}
	return out
}

type claimView struct {
	Packet    uuid.UUID    `json:"packet_id"`
	User      uuid.UUID    `json:"user"`
	Index     int          `json:"index"`
	Amount    ledger.Money `json:"amount"`
	ClaimedAt time.Time    `json:"claimed_at"`
	Paid      bool         `json:"paid"`
}

func claimOf(c redpacket.Claim) claimView {
	return claimView{Packet: c.PacketID, User: c.User, Index: c.Index, Amount: c.Amount, ClaimedAt: c.ClaimedAt, Paid: c.Posted}
}

type bindingView struct {
	Phone      string    `json:"phone"`
	MaskedName string    `json:"masked_name"`
	Account    uuid.UUID `json:"account"`
	BoundAt    time.Time `json:"bound_at"`
}

type resolutionView struct {
	Token       string    `json:"token"`
	ExpiresAt   time.Time `json:"expires_at"`
	Phone       string    `json:"phone"`
	MaskedName  string    `json:"masked_name"`
	Institution string    `json:"institution"`
}

type receiptView struct {
	ID          uuid.UUID    `json:"id"`
	State       string       `json:"state"`
	Reason      string       `json:"reason,omitempty"`
	Amount      ledger.Money `json:"amount"`
	Arrival     string       `json:"arrival"`
	Memo        string       `json:"memo,omitempty"`
	PayeeName   string       `json:"payee_name,omitempty"`
	PayeePhone  string       `json:"payee_phone,omitempty"`
	Institution string       `json:"institution,omitempty"`
	FirstPayee  bool         `json:"first_payee"`
	CreatedAt   time.Time    `json:"created_at"`
	DueAt       *time.Time   `json:"due_at,omitempty"`
	ResolvedAt  *time.Time   `json:"resolved_at,omitempty"`
}

func optTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func receiptOf(r transfer.Receipt) receiptView {
	v := receiptView{ID: r.ID, State: r.State.String(), Reason: r.Reason, Amount: r.Amount, Arrival: r.Arrival.String(),
		Memo: r.Memo, PayeeName: r.PayeeName, PayeePhone: string(r.PayeePhone), Institution: r.Institution,
		FirstPayee: r.FirstPayee, CreatedAt: r.CreatedAt, ResolvedAt: optTime(r.ResolvedAt)}
	if r.Arrival != transfer.ArriveNow {
		v.DueAt = optTime(r.DueAt)
	}
	return v
}

type receiveCodeView struct {
	Payload    string        `json:"payload"`
	Initiation string        `json:"initiation"`
	Amount     *ledger.Money `json:"amount,omitempty"`
	Reference  string        `json:"reference,omitempty"`
	ExpiresAt  *time.Time    `json:"expires_at,omitempty"`
}

type quoteView struct {
	PayeeName    string        `json:"payee_name"`
	Confirm      string        `json:"confirm"`
	Initiation   string        `json:"initiation"`
	Currency     string        `json:"currency"`
	Amount       *ledger.Money `json:"amount,omitempty"`
	Reference    string        `json:"reference,omitempty"`
	ExpiresAt    *time.Time    `json:"expires_at,omitempty"`
	CodeName     string        `json:"code_name"`
	NameMismatch bool          `json:"name_mismatch"`
}

func optMoney(m ledger.Money) *ledger.Money {
	if m.IsZero() {
		return nil
	}
	return &m
}

func quoteOf(q qr.Quote) quoteView {
	return quoteView{PayeeName: q.Payee.Name, Confirm: q.Confirm, Initiation: q.Initiation.String(), Currency: q.Currency.Code(),
		Amount: optMoney(q.Amount), Reference: q.Reference, ExpiresAt: optTime(q.Expires), CodeName: q.CodeName, NameMismatch: q.NameMismatch}
}

type paymentView struct {
	ID           uuid.UUID    `json:"id"`
	TransferID   uuid.UUID    `json:"transfer_id"`
	PayeeName    string       `json:"payee_name"`
	Amount       ledger.Money `json:"amount"`
	Initiation   string       `json:"initiation"`
	Reference    string       `json:"reference,omitempty"`
	CodeName     string       `json:"code_name"`
	NameMismatch bool         `json:"name_mismatch"`
	At           time.Time    `json:"at"`
}

func paymentOf(r qr.Receipt) paymentView {
	return paymentView{ID: r.Payment, TransferID: r.Transfer, PayeeName: r.Payee.Name, Amount: r.Amount,
		Initiation: r.Initiation.String(), Reference: r.Reference, CodeName: r.CodeName, NameMismatch: r.NameMismatch, At: r.At}
}

type deviceView struct {
	ID     string `json:"id"`
	Serial uint64 `json:"serial"`
	// Secret is the device's secret, shown once, at registration: the
	// payer's phone keeps it and derives payment codes from it offline.
	Secret    []byte    `json:"secret,omitempty"`
	CreatedAt time.Time `json:"created_at"`
}

type deviceStatusView struct {
	ID       string       `json:"id"`
	Revoked  bool         `json:"revoked"`
	Locked   bool         `json:"locked"`
	Failures int          `json:"failures"`
	Spent    ledger.Money `json:"spent"`
}

type chargeView struct {
	TransferID uuid.UUID    `json:"transfer_id"`
	Payer      uuid.UUID    `json:"payer"`
	Amount     ledger.Money `json:"amount"`
	Order      string       `json:"order"`
	At         time.Time    `json:"at"`
}
