package ledger

import (
	"time"

	"github.com/google/uuid"
)

// BatchView is the state a store has loaded and locked for a batch: the
// accounts and the transfers the batch touches. It answers false for what
// does not exist.
type BatchView interface {
	Account(id uuid.UUID) (AccountState, bool)
	Transfer(id uuid.UUID) (Transfer, bool)
}

// BatchOutcome is what a batch changed; the store persists exactly this.
type BatchOutcome struct {
	Results  []Result       // one per submitted transfer, in order
	Accounts []AccountState // final state of every account that changed, in first-touched order
	Created  []Transfer     // new transfer records, in order (with their final status)
	Updated  []Transfer     // existing records whose status changed (their final version)
	Entries  []Entry        // new entries, in order
	Failed   bool           // a linked batch failed: nothing above is set but Results
}

// ApplyBatch decides a batch of transfers against view, one Step after the
// other, each seeing the effects of those before it. Without linked every
// transfer stands alone and gets its own Result. With linked the batch is
// all or nothing: when one fails, Results says which and why (the others
// get ErrLinkedFailed) and the outcome changes nothing.
func ApplyBatch(view BatchView, ts []Transfer, linked bool, now time.Time) BatchOutcome {
	b := batchState{
		view:      view,
		accounts:  make(map[uuid.UUID]int, 2*len(ts)),
		transfers: make(map[uuid.UUID]int, len(ts)),
		// Capacities are final: pointers into these slices stay valid.
		accountSlots: make([]accountSlot, 0, 2*len(ts)),
		loaded:       make([]Transfer, 0, len(ts)),
		created:      make([]Transfer, 0, len(ts)),
		entries:      make([]Entry, 0, 2*len(ts)),
	}
	out := BatchOutcome{Results: make([]Result, len(ts))}
	for i := range ts {
		t := &ts[i]
		existing, _ := b.transfer(t.ID)
		var target *Transfer
		targetLoaded := -1
		if id := t.targetID(); id != uuid.Nil && existing == nil {
			target, targetLoaded = b.transfer(id)
		}
		var dr, cr *AccountState
		if existing == nil {
			if debit, credit, err := Accounts(t, target); err == nil {
				dr, cr = b.account(debit), b.account(credit)
			}
		}
		res, entries := Step(i, t, existing, target, dr, cr, now)
		out.Results[i] = res
		switch {
		case res.Err != nil && linked:
			return failLinked(ts, out.Results, i)
		case res.Err != nil || res.Duplicate:
			continue
		}
		// Step changed dr, cr and target in place.
		b.accountSlots[b.accounts[dr.Account.ID]].changed = true
		b.accountSlots[b.accounts[cr.Account.ID]].changed = true
		if targetLoaded >= 0 {
			b.markUpdated(targetLoaded)
		}
		b.created = append(b.created, res.Transfer)
		b.transfers[res.Transfer.ID] = -len(b.created)
		b.entries = append(b.entries, entries[0], entries[1])
	}
	for i := range b.accountSlots {
		if b.accountSlots[i].changed {
			out.Accounts = append(out.Accounts, b.accountSlots[i].st)
		}
	}
	for _, idx := range b.updated {
		out.Updated = append(out.Updated, b.loaded[idx])
	}
	// Results of transfers created and then resolved within the batch show
	// the status as of their own step; Created holds the final records.
	out.Created, out.Entries = b.created, b.entries
	return out
}

func failLinked(ts []Transfer, results []Result, failed int) BatchOutcome {
	for j := range results {
		if j != failed {
			results[j] = Result{Err: &TransferError{Index: j, ID: ts[j].ID, Err: ErrLinkedFailed}}
		}
	}
	return BatchOutcome{Results: results, Failed: true}
}

// batchState overlays the batch's own effects on the view.
type batchState struct {
	view         BatchView
	accounts     map[uuid.UUID]int // → index in accountSlots
	accountSlots []accountSlot
	transfers    map[uuid.UUID]int // > 0: index+1 in loaded; < 0: -(index+1) in created
	loaded       []Transfer
	updated      []int // indexes in loaded whose status changed
	created      []Transfer
	entries      []Entry
}

type accountSlot struct {
	st      AccountState
	changed bool
}

func (b *batchState) account(id uuid.UUID) *AccountState {
	idx, ok := b.accounts[id]
	if !ok {
		st, found := b.view.Account(id)
		if !found {
			return nil
		}
		idx = len(b.accountSlots)
		b.accountSlots = append(b.accountSlots, accountSlot{st: st})
		b.accounts[id] = idx
	}
	return &b.accountSlots[idx].st
}

// transfer returns the batch's current version of a transfer, and its index
// in loaded (-1 when created by this batch or not found).
func (b *batchState) transfer(id uuid.UUID) (*Transfer, int) {
	idx, ok := b.transfers[id]
	if !ok {
		tr, found := b.view.Transfer(id)
		if !found {
			return nil, -1
		}
		b.loaded = append(b.loaded, tr)
		idx = len(b.loaded)
		b.transfers[id] = idx
	}
	if idx < 0 {
		return &b.created[-idx-1], -1
	}
	return &b.loaded[idx-1], idx - 1
}

func (b *batchState) markUpdated(idx int) {
	for _, u := range b.updated {
		if u == idx {
			return
		}
	}
	b.updated = append(b.updated, idx)
}
