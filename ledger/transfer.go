package ledger

import (
	"time"

	"github.com/google/uuid"
)

// TransferKind says what a transfer does.
type TransferKind uint8

const (
	// KindImmediate moves Amount from the debit to the credit account at once.
	KindImmediate TransferKind = iota
	// KindPending reserves Amount: it counts against the debit account's
	// available balance until a KindPostPending or KindVoidPending transfer
	// resolves it, or Timeout passes and ExpirePending voids it.
	KindPending
	// KindPostPending posts the pending transfer PendingID, in full (zero
	// Amount) or in part (Amount below the pending amount; the rest is
	// released).
	KindPostPending
	// KindVoidPending releases the pending transfer PendingID.
	KindVoidPending
	// KindReversal moves the full amount of the posted transfer ReversesID
	// back, from its credit account to its debit account. A transfer can be
	// reversed once.
	KindReversal
)

func (k TransferKind) String() string {
	switch k {
	case KindImmediate:
		return "immediate"
	case KindPending:
		return "pending"
	case KindPostPending:
		return "post_pending"
	case KindVoidPending:
		return "void_pending"
	case KindReversal:
		return "reversal"
	}
	return "unknown"
}

// TransferStatus is where a transfer stands. Only pending transfers change
// status, exactly once.
type TransferStatus uint8

const (
	// StatusCommitted: applied and final (every kind but KindPending).
	StatusCommitted TransferStatus = iota
	StatusPending                  // reserving funds
	StatusPosted                   // a pending transfer that was posted
	StatusVoided                   // a pending transfer that was voided
	StatusExpired                  // a pending transfer voided by its timeout
)

func (s TransferStatus) String() string {
	switch s {
	case StatusCommitted:
		return "committed"
	case StatusPending:
		return "pending"
	case StatusPosted:
		return "posted"
	case StatusVoided:
		return "voided"
	case StatusExpired:
		return "expired"
	}
	return "unknown"
}

// Transfer moves money between two accounts of one currency.
//
// The client chooses ID; it is the idempotency key. Submitting the same ID
// with the same content again returns the original transfer and moves
// nothing; the same ID with different content is ErrIdempotencyConflict.
type Transfer struct {
	ID              uuid.UUID    `json:"id"`
	Kind            TransferKind `json:"kind"`
	DebitAccountID  uuid.UUID    `json:"debit_account_id,omitzero"`  // may be zero for post, void and reversal: taken from the referenced transfer
	CreditAccountID uuid.UUID    `json:"credit_account_id,omitzero"` // likewise
	// Amount must be positive for immediate and pending transfers. For a post
	// it may be zero (post the full pending amount); for a void and a reversal
	// it may be zero (the referenced amount), and is filled in by the ledger.
	Amount     Money             `json:"amount,omitzero"`
	PendingID  uuid.UUID         `json:"pending_id,omitzero"`  // the pending transfer a post or void resolves
	ReversesID uuid.UUID         `json:"reverses_id,omitzero"` // the transfer a reversal reverses
	Timeout    time.Duration     `json:"timeout_ns,omitzero"`  // pending only: void automatically after this long; 0 = never
	Code       uint16            `json:"code,omitzero"`        // what kind of transfer this is; its meaning is the bank's
	Reference  string            `json:"reference,omitempty"`  // the bank's reference, at most MaxReferenceLen bytes
	Metadata   map[string]string `json:"metadata,omitempty"`

	// Set by the ledger.
	Timestamp  time.Time      `json:"timestamp,omitzero"`
	ExpiresAt  time.Time      `json:"expires_at,omitzero"`  // pending with a timeout only
	Status     TransferStatus `json:"status"`               // current status (as of the read)
	ResolvedBy uuid.UUID      `json:"resolved_by,omitzero"` // pending only: the post or void that resolved it
	ReversedBy uuid.UUID      `json:"reversed_by,omitzero"` // the reversal of this transfer, if any
}

// targetID returns the transfer this one refers to (pending or reversed), or
// the zero UUID.
func (t *Transfer) targetID() uuid.UUID {
	switch t.Kind {
	case KindPostPending, KindVoidPending:
		return t.PendingID
	case KindReversal:
		return t.ReversesID
	}
	return uuid.Nil
}

// TargetID returns the ID of the transfer t refers to: the pending transfer
// of a post or void, the reversed transfer of a reversal, else uuid.Nil.
func (t *Transfer) TargetID() uuid.UUID { return t.targetID() }

// Result is the outcome of one transfer of a batch.
type Result struct {
	Transfer  Transfer // as stored (with Timestamp), when Err is nil
	Duplicate bool     // the ID was already applied with the same content; nothing moved now
	Err       error    // a *TransferError, or nil
}
