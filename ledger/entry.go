package ledger

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"time"

	"github.com/google/uuid"
)

// Side is the side of an account an entry changes.
type Side uint8

const (
	SideNone   Side = iota // account events
	SideDebit              // the entry changes debits
	SideCredit             // the entry changes credits
)

func (s Side) String() string {
	switch s {
	case SideNone:
		return "none"
	case SideDebit:
		return "debit"
	case SideCredit:
		return "credit"
	}
	return "unknown"
}

// EntryKind says what produced an entry.
type EntryKind uint8

const (
	EntryPosted   EntryKind = iota + 1 // an immediate transfer or a reversal
	EntryPending                       // a pending transfer reserved funds
	EntryPost                          // a pending transfer was posted
	EntryVoid                          // a pending transfer was voided
	EntryExpire                        // a pending transfer timed out
	EntryFreeze                        // the account was frozen
	EntryUnfreeze                      // the account was unfrozen
	EntryClose                         // the account was closed
)

func (k EntryKind) String() string {
	switch k {
	case EntryPosted:
		return "posted"
	case EntryPending:
		return "pending"
	case EntryPost:
		return "post"
	case EntryVoid:
		return "void"
	case EntryExpire:
		return "expire"
	case EntryFreeze:
		return "freeze"
	case EntryUnfreeze:
		return "unfreeze"
	case EntryClose:
		return "close"
	}
	return "unknown"
}

// Hash is a SHA-256 digest in an account's hash chain.
type Hash [32]byte

// String returns the hash in lower-case hex.
func (h Hash) String() string { return hex.EncodeToString(h[:]) }

// Entry is one line of an account's history: what one transfer (or account
// event) did to this account, and the balance after it. Each account's
// entries are numbered 1, 2, 3… and hash-chained: Hash commits to the
// previous entry's Hash (the account's genesis hash for Seq 1) and to every
// field below except Balance, which Verify recomputes from the deltas.
type Entry struct {
	AccountID    uuid.UUID `json:"account_id"`
	Seq          uint64    `json:"seq"`
	TransferID   uuid.UUID `json:"transfer_id,omitzero"` // zero for account events
	Kind         EntryKind `json:"kind"`
	Side         Side      `json:"side"`
	PostedDelta  int64     `json:"posted_delta"`  // change of posted debits or credits (by Side)
	PendingDelta int64     `json:"pending_delta"` // change of pending debits or credits (by Side)
	Time         time.Time `json:"time"`
	Balance      Balance   `json:"balance"` // the account's balance after this entry (running balance)
	Hash         Hash      `json:"hash"`
}

// GenesisHash is the hash an account's chain starts from: it binds the chain
// to the account's ID.
func GenesisHash(accountID uuid.UUID) Hash {
	var buf [len("socialpay/ledger/v1") + 16]byte
	n := copy(buf[:], "socialpay/ledger/v1")
	copy(buf[n:], accountID[:])
	return sha256.Sum256(buf[:])
}

// entryHashLen is the size of an entry's hash input: 82 bytes, two SHA-256
// blocks.
const entryHashLen = 32 + 8 + 16 + 1 + 1 + 8 + 8 + 8

// ChainHash returns the hash of e following prev. Stores call it only
// through the rules in this package; Verify calls it to check chains.
func ChainHash(prev Hash, e *Entry) Hash {
	var buf [entryHashLen]byte
	copy(buf[0:32], prev[:])
	binary.BigEndian.PutUint64(buf[32:40], e.Seq)
	copy(buf[40:56], e.TransferID[:])
	buf[56] = byte(e.Kind)
	buf[57] = byte(e.Side)
	binary.BigEndian.PutUint64(buf[58:66], uint64(e.PostedDelta))
	binary.BigEndian.PutUint64(buf[66:74], uint64(e.PendingDelta))
	binary.BigEndian.PutUint64(buf[74:82], uint64(e.Time.UnixNano()))
	return sha256.Sum256(buf[:])
}
