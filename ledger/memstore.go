package ledger

import (
	"bytes"
	"container/heap"
	"context"
	"encoding/binary"
	"maps"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/google/uuid"
)

// MemoryStore is the embedded Store: everything in memory, safe for
// concurrent use. It is the default for tests, simulations and single-node
// deployments that snapshot elsewhere; it keeps nothing across restarts.
//
// Concurrency: each account has its own lock, and transfer IDs are spread
// over 256 independently locked shards, so transfers between unrelated
// accounts never wait for each other. A transfer locks its two accounts (in
// ID order), then the shards of its ID and of the transfer it refers to (in
// shard order). Histories and transfer records live in chunked lists that
// never copy on growth and hold no pointers the garbage collector must
// scan, except transfer records' strings and maps.
type MemoryStore struct {
	accounts  [accountShardCount]accountShard
	transfers [transferShardCount]transferShard

	expiryMu sync.Mutex // leaf lock: taken last, held briefly
	expiry   expiryHeap
}

var _ Store = (*MemoryStore)(nil)

const (
	accountShardCount  = 64
	transferShardCount = 256
)

type accountShard struct {
	mu sync.RWMutex
	m  map[uuid.UUID]*memAccount
	_  [40]byte // keep shards on separate cache lines
}

type transferShard struct {
	mu     sync.Mutex
	order  int                  // position in the array: the lock order
	m      map[uuid.UUID]uint32 // ID → index in recs
	recs   chunkList[transferRec]
	extras chunkList[transferExtra]
}

// transferRec is a stored Transfer without pointers; its reference and
// metadata, when it has any, sit in the shard's extras.
type transferRec struct {
	id, debit, credit, pendingID, reversesID, resolvedBy, reversedBy uuid.UUID

	amount, timeout, unixNano, expires int64 // expires 0: no timeout
	code                               uint16
	currency                           Currency
	kind                               TransferKind
	status                             TransferStatus
	extra                              uint32 // index+1 in extras; 0: none
}

type transferExtra struct {
	reference string
	metadata  map[string]string
}

type memAccount struct {
	id      uuid.UUID // immutable copy of st.Account.ID, read without the lock
	mu      sync.Mutex
	st      AccountState
	entries chunkList[entryRec]
}

// entryRec is an Entry without what its account implies (account ID, Seq),
// and without pointers.
type entryRec struct {
	transferID uuid.UUID
	kind       EntryKind
	side       Side
	posted     int64
	pending    int64
	unixNano   int64
	balance    Balance
	hash       Hash
}

// NewMemoryStore returns an empty MemoryStore.
func NewMemoryStore() *MemoryStore {
	s := &MemoryStore{}
	for i := range s.accounts {
		s.accounts[i].m = make(map[uuid.UUID]*memAccount)
	}
	for i := range s.transfers {
		s.transfers[i].m = make(map[uuid.UUID]uint32)
		s.transfers[i].order = i
	}
	return s
}

func shardOf(id uuid.UUID) uint64 {
	h := binary.LittleEndian.Uint64(id[:8]) ^ binary.LittleEndian.Uint64(id[8:])
	return (h * 0x9E3779B97F4A7C15) >> 56 // top byte of a Fibonacci hash
}

func (s *MemoryStore) accountShard(id uuid.UUID) *accountShard {
	return &s.accounts[shardOf(id)%accountShardCount]
}

func (s *MemoryStore) transferShard(id uuid.UUID) *transferShard {
	return &s.transfers[shardOf(id)%transferShardCount]
}

// account returns the account with the given ID, or nil.
func (s *MemoryStore) account(id uuid.UUID) *memAccount {
	if id == uuid.Nil {
		return nil
	}
	sh := s.accountShard(id)
	sh.mu.RLock()
	a := sh.m[id]
	sh.mu.RUnlock()
	return a
}

func (sh *transferShard) get(id uuid.UUID) *transferRec {
	i, ok := sh.m[id]
	if !ok {
		return nil
	}
	return sh.recs.at(int(i))
}

func (sh *transferShard) insert(t *Transfer) {
	r := transferRec{
		id: t.ID, debit: t.DebitAccountID, credit: t.CreditAccountID, pendingID: t.PendingID, reversesID: t.ReversesID,
		resolvedBy: t.ResolvedBy, reversedBy: t.ReversedBy,
		amount: t.Amount.units, timeout: int64(t.Timeout), unixNano: t.Timestamp.UnixNano(),
		code: t.Code, currency: t.Amount.currency, kind: t.Kind, status: t.Status,
	}
	if !t.ExpiresAt.IsZero() {
		r.expires = t.ExpiresAt.UnixNano()
	}
	if t.Reference != "" || t.Metadata != nil {
		r.extra = uint32(sh.extras.push(transferExtra{reference: t.Reference, metadata: t.Metadata})) + 1
	}
	sh.m[t.ID] = uint32(sh.recs.push(r))
}

// transfer rebuilds the Transfer a record holds. Its metadata map is the
// stored one: copy it before it leaves the store.
func (sh *transferShard) transfer(r *transferRec) Transfer {
	t := Transfer{
		ID: r.id, Kind: r.kind, DebitAccountID: r.debit, CreditAccountID: r.credit,
		Amount: Money{units: r.amount, currency: r.currency}, PendingID: r.pendingID, ReversesID: r.reversesID,
		Timeout: time.Duration(r.timeout), Code: r.code, Timestamp: time.Unix(0, r.unixNano).UTC(),
		Status: r.status, ResolvedBy: r.resolvedBy, ReversedBy: r.reversedBy,
	}
	if r.expires != 0 {
		t.ExpiresAt = time.Unix(0, r.expires).UTC()
	}
	if r.extra != 0 {
		x := sh.extras.at(int(r.extra) - 1)
		t.Reference, t.Metadata = x.reference, x.metadata
	}
	return t
}

// setStatus writes back what Step may change on a referenced transfer.
func (r *transferRec) setStatus(t *Transfer) {
	r.status, r.resolvedBy, r.reversedBy = t.Status, t.ResolvedBy, t.ReversedBy
}

// lookupTransfer returns a copy of a stored transfer.
func (s *MemoryStore) lookupTransfer(id uuid.UUID) (Transfer, bool) {
	sh := s.transferShard(id)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if r := sh.get(id); r != nil {
		return sh.transfer(r), true
	}
	return Transfer{}, false
}

// CreateAccount implements Store.
func (s *MemoryStore) CreateAccount(ctx context.Context, a Account, now time.Time) (Account, error) {
	if err := ctx.Err(); err != nil {
		return Account{}, err
	}
	sh := s.accountShard(a.ID)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if existing := sh.m[a.ID]; existing != nil {
		existing.mu.Lock()
		defer existing.mu.Unlock()
		if err := SameAccount(&a, &existing.st.Account); err != nil {
			return Account{}, err
		}
		return copyAccount(&existing.st.Account), nil
	}
	ma := &memAccount{id: a.ID, st: NewAccountState(a, now)}
	sh.m[a.ID] = ma
	return copyAccount(&ma.st.Account), nil
}

func copyAccount(a *Account) Account {
	out := *a
	out.Metadata = maps.Clone(a.Metadata)
	return out
}

// ChangeAccount implements Store.
func (s *MemoryStore) ChangeAccount(ctx context.Context, id uuid.UUID, ev AccountEvent, now time.Time) (Account, error) {
	if err := ctx.Err(); err != nil {
		return Account{}, err
	}
	a := s.account(id)
	if a == nil {
		return Account{}, &AccountError{ID: id, Err: ErrAccountNotFound}
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	e, ok, err := ApplyAccountEvent(&a.st, ev, now)
	if err != nil {
		return Account{}, err
	}
	if ok {
		a.append(&e)
	}
	return copyAccount(&a.st.Account), nil
}

// Account implements Store.
func (s *MemoryStore) Account(ctx context.Context, id uuid.UUID) (AccountState, error) {
	if err := ctx.Err(); err != nil {
		return AccountState{}, err
	}
	a := s.account(id)
	if a == nil {
		return AccountState{}, &AccountError{ID: id, Err: ErrAccountNotFound}
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	st := a.st
	st.Account = copyAccount(&a.st.Account)
	return st, nil
}

func (a *memAccount) append(e *Entry) {
	a.entries.push(entryRec{
		transferID: e.TransferID, kind: e.Kind, side: e.Side,
		posted: e.PostedDelta, pending: e.PendingDelta, unixNano: e.Time.UnixNano(),
		balance: e.Balance, hash: e.Hash,
	})
}

func (a *memAccount) entry(i int) Entry {
	r := a.entries.at(i)
	return Entry{
		AccountID: a.id, Seq: uint64(i) + 1, TransferID: r.transferID, Kind: r.kind, Side: r.side,
		PostedDelta: r.posted, PendingDelta: r.pending, Time: time.Unix(0, r.unixNano).UTC(),
		Balance: r.balance, Hash: r.hash,
	}
}

// lockPair locks two accounts (either may be nil, or both the same) in ID
// order.
func lockPair(a, b *memAccount) {
	if a != nil && b != nil && a != b && bytes.Compare(b.id[:], a.id[:]) < 0 {
		a, b = b, a
	}
	if a != nil {
		a.mu.Lock()
	}
	if b != nil && b != a {
		b.mu.Lock()
	}
}

func unlockPair(a, b *memAccount) {
	if a != nil {
		a.mu.Unlock()
	}
	if b != nil && b != a {
		b.mu.Unlock()
	}
}

func lockShards(a, b *transferShard) {
	if b != nil && b.order < a.order {
		a, b = b, a
	}
	a.mu.Lock()
	if b != nil && b != a {
		b.mu.Lock()
	}
}

func unlockShards(a, b *transferShard) {
	a.mu.Unlock()
	if b != nil && b != a {
		b.mu.Unlock()
	}
}

// CreateTransfer implements Store.
func (s *MemoryStore) CreateTransfer(ctx context.Context, t Transfer, now time.Time) (Result, error) {
	if err := ctx.Err(); err != nil {
		return Result{}, err
	}
	return s.createOne(0, &t, now), nil
}

func (s *MemoryStore) createOne(index int, t *Transfer, now time.Time) Result {
	// The referenced transfer's accounts never change, so reading them before
	// locking is safe; its status is read again under the locks.
	targetID := t.targetID()
	var target *Transfer
	if targetID != uuid.Nil {
		if tr, ok := s.lookupTransfer(targetID); ok {
			target = &tr
		}
	}
	var dr, cr *memAccount
	if debit, credit, err := Accounts(t, target); err == nil {
		dr, cr = s.account(debit), s.account(credit)
	}
	lockPair(dr, cr)
	defer unlockPair(dr, cr)

	sh := s.transferShard(t.ID)
	var th *transferShard
	if target != nil {
		th = s.transferShard(targetID)
	}
	lockShards(sh, th)
	defer unlockShards(sh, th)

	var existing *Transfer
	if r := sh.get(t.ID); r != nil {
		e := sh.transfer(r)
		existing = &e
	}
	var targetRec *transferRec
	if th != nil {
		// Read the target again under its shard lock: its status may have
		// changed since the lookup above.
		target = nil
		if targetRec = th.get(targetID); targetRec != nil {
			tr := th.transfer(targetRec)
			target = &tr
		}
	}
	res, entries := Step(index, t, existing, target, stateOf(dr), stateOf(cr), now)
	if res.Err != nil || res.Duplicate {
		res.Transfer.Metadata = maps.Clone(res.Transfer.Metadata)
		return res
	}
	dr.append(&entries[0])
	cr.append(&entries[1])
	if targetRec != nil {
		targetRec.setStatus(target)
	}
	sh.insert(&res.Transfer)
	if !res.Transfer.ExpiresAt.IsZero() {
		s.scheduleExpiry(&res.Transfer)
	}
	res.Transfer.Metadata = maps.Clone(res.Transfer.Metadata)
	return res
}

func stateOf(a *memAccount) *AccountState {
	if a == nil {
		return nil
	}
	return &a.st
}

// CreateTransfers implements Store. Independent transfers are applied one
// after the other; a linked batch locks every account and transfer shard it
// touches, decides with ApplyBatch and applies all or nothing.
func (s *MemoryStore) CreateTransfers(ctx context.Context, ts []Transfer, linked bool, now time.Time) ([]Result, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if len(ts) == 0 {
		return nil, ErrEmptyBatch
	}
	if !linked {
		results := make([]Result, len(ts))
		for i := range ts {
			results[i] = s.createOne(i, &ts[i], now)
		}
		return results, nil
	}
	for {
		if results, ok := s.tryLinked(ts, now); ok {
			return results, nil
		}
	}
}

// tryLinked applies a linked batch; ok is false when a transfer it refers to
// appeared between reading and locking, so its accounts are not locked: the
// caller tries again.
func (s *MemoryStore) tryLinked(ts []Transfer, now time.Time) ([]Result, bool) {
	inBatch := make(map[uuid.UUID]bool, len(ts))
	for i := range ts {
		inBatch[ts[i].ID] = true
	}
	accountIDs := make([]uuid.UUID, 0, 2*len(ts))
	shardSet := make(map[*transferShard]bool, 2*len(ts))
	missing := make(map[uuid.UUID]bool)
	for i := range ts {
		t := &ts[i]
		accountIDs = append(accountIDs, t.DebitAccountID, t.CreditAccountID)
		shardSet[s.transferShard(t.ID)] = true
		if id := t.targetID(); id != uuid.Nil {
			shardSet[s.transferShard(id)] = true
			if !inBatch[id] {
				if tr, ok := s.lookupTransfer(id); ok {
					accountIDs = append(accountIDs, tr.DebitAccountID, tr.CreditAccountID)
				} else {
					missing[id] = true
				}
			}
		}
	}
	locked := make(map[uuid.UUID]*memAccount, len(accountIDs))
	order := make([]*memAccount, 0, len(accountIDs))
	for _, id := range accountIDs {
		if _, seen := locked[id]; seen || id == uuid.Nil {
			continue
		}
		a := s.account(id)
		locked[id] = a
		if a != nil {
			order = append(order, a)
		}
	}
	slices.SortFunc(order, func(a, b *memAccount) int { return bytes.Compare(a.id[:], b.id[:]) })
	shards := make([]*transferShard, 0, len(shardSet))
	for sh := range shardSet {
		shards = append(shards, sh)
	}
	sort.Slice(shards, func(i, j int) bool { return shards[i].order < shards[j].order })
	for _, a := range order {
		a.mu.Lock()
	}
	for _, sh := range shards {
		sh.mu.Lock()
	}
	defer func() {
		for _, sh := range shards {
			sh.mu.Unlock()
		}
		for _, a := range order {
			a.mu.Unlock()
		}
	}()
	for id := range missing {
		if s.transferShard(id).get(id) != nil {
			return nil, false
		}
	}
	out := ApplyBatch(memView{s: s, locked: locked}, ts, true, now)
	if !out.Failed {
		for i := range out.Accounts {
			locked[out.Accounts[i].Account.ID].st = out.Accounts[i]
		}
		for i := range out.Entries {
			locked[out.Entries[i].AccountID].append(&out.Entries[i])
		}
		for i := range out.Created {
			s.transferShard(out.Created[i].ID).insert(&out.Created[i])
			if out.Created[i].Status == StatusPending && !out.Created[i].ExpiresAt.IsZero() {
				s.scheduleExpiry(&out.Created[i])
			}
		}
		for i := range out.Updated {
			u := &out.Updated[i]
			s.transferShard(u.ID).get(u.ID).setStatus(u)
		}
	}
	for i := range out.Results {
		out.Results[i].Transfer.Metadata = maps.Clone(out.Results[i].Transfer.Metadata)
	}
	return out.Results, true
}

// memView serves ApplyBatch from locked memory state. It hands out copies;
// the store writes the outcome back.
type memView struct {
	s      *MemoryStore
	locked map[uuid.UUID]*memAccount
}

func (v memView) Account(id uuid.UUID) (AccountState, bool) {
	a := v.locked[id]
	if a == nil {
		return AccountState{}, false
	}
	return a.st, true
}

func (v memView) Transfer(id uuid.UUID) (Transfer, bool) {
	sh := v.s.transferShard(id)
	r := sh.get(id)
	if r == nil {
		return Transfer{}, false
	}
	return sh.transfer(r), true
}

// Transfer implements Store.
func (s *MemoryStore) Transfer(ctx context.Context, id uuid.UUID) (Transfer, error) {
	if err := ctx.Err(); err != nil {
		return Transfer{}, err
	}
	t, ok := s.lookupTransfer(id)
	if !ok {
		return Transfer{}, &TransferError{ID: id, Err: ErrTransferNotFound}
	}
	t.Metadata = maps.Clone(t.Metadata)
	return t, nil
}

// Entries implements Store.
func (s *MemoryStore) Entries(ctx context.Context, account uuid.UUID, after uint64, limit int) ([]Entry, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	a := s.account(account)
	if a == nil {
		return nil, &AccountError{ID: account, Err: ErrAccountNotFound}
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	n := uint64(a.entries.len())
	if after >= n || limit <= 0 {
		return []Entry{}, nil
	}
	end := min(n, after+uint64(limit))
	out := make([]Entry, 0, end-after)
	for i := after; i < end; i++ {
		out = append(out, a.entry(int(i)))
	}
	return out, nil
}

// BalanceAt implements Store.
func (s *MemoryStore) BalanceAt(ctx context.Context, account uuid.UUID, at time.Time) (Balance, error) {
	if err := ctx.Err(); err != nil {
		return Balance{}, err
	}
	a := s.account(account)
	if a == nil {
		return Balance{}, &AccountError{ID: account, Err: ErrAccountNotFound}
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	ns := at.UnixNano()
	// Entry times never go back, so the entries after at form a suffix.
	i := sort.Search(a.entries.len(), func(i int) bool { return a.entries.at(i).unixNano > ns })
	if i == 0 {
		return Balance{}, nil
	}
	return a.entries.at(i - 1).balance, nil
}

// ExpirePending implements Store. It keeps popping due timeouts until it
// has expired limit transfers or none are due: timeouts of transfers that
// were resolved meanwhile do not count.
func (s *MemoryStore) ExpirePending(ctx context.Context, now time.Time, limit int) ([]uuid.UUID, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	ns := Timestamp(now).UnixNano()
	var expired []uuid.UUID
	for len(expired) < limit {
		due := s.popDue(ns, limit-len(expired))
		if len(due) == 0 {
			break
		}
		for _, id := range due {
			tr, ok := s.lookupTransfer(id)
			if !ok {
				continue
			}
			dr, cr := s.account(tr.DebitAccountID), s.account(tr.CreditAccountID)
			ok, err := s.expireOne(id, dr, cr, now)
			if err != nil {
				return expired, err
			}
			if ok {
				expired = append(expired, id)
			}
		}
	}
	return expired, nil
}

func (s *MemoryStore) expireOne(id uuid.UUID, dr, cr *memAccount, now time.Time) (bool, error) {
	lockPair(dr, cr)
	defer unlockPair(dr, cr)
	sh := s.transferShard(id)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	r := sh.get(id)
	p := sh.transfer(r)
	entries, ok, err := ExpireStep(&p, stateOf(dr), stateOf(cr), now)
	if ok {
		dr.append(&entries[0])
		cr.append(&entries[1])
		r.setStatus(&p)
	}
	return ok, err
}

type expiryItem struct {
	at int64
	id uuid.UUID
}

type expiryHeap []expiryItem

func (h expiryHeap) Len() int           { return len(h) }
func (h expiryHeap) Less(i, j int) bool { return h[i].at < h[j].at }
func (h expiryHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *expiryHeap) Push(x any)        { *h = append(*h, x.(expiryItem)) }
func (h *expiryHeap) Pop() any {
	old := *h
	it := old[len(old)-1]
	*h = old[:len(old)-1]
	return it
}

func (s *MemoryStore) scheduleExpiry(t *Transfer) {
	s.expiryMu.Lock()
	heap.Push(&s.expiry, expiryItem{at: t.ExpiresAt.UnixNano(), id: t.ID})
	s.expiryMu.Unlock()
}

// popDue removes and returns up to limit IDs due at or before ns. A popped
// transfer that was resolved meanwhile is skipped by ExpireStep.
func (s *MemoryStore) popDue(ns int64, limit int) []uuid.UUID {
	s.expiryMu.Lock()
	defer s.expiryMu.Unlock()
	var out []uuid.UUID
	for len(s.expiry) > 0 && s.expiry[0].at <= ns && len(out) < limit {
		out = append(out, heap.Pop(&s.expiry).(expiryItem).id)
	}
	return out
}

// Verify implements Store. It holds every account's lock while it reads, so
// it sees one consistent snapshot; transfers wait meanwhile.
func (s *MemoryStore) Verify(ctx context.Context) (VerifyReport, error) {
	if err := ctx.Err(); err != nil {
		return VerifyReport{}, err
	}
	var all []*memAccount
	for i := range s.accounts {
		sh := &s.accounts[i]
		sh.mu.RLock()
		for _, a := range sh.m {
			all = append(all, a)
		}
		sh.mu.RUnlock()
	}
	slices.SortFunc(all, func(a, b *memAccount) int { return bytes.Compare(a.id[:], b.id[:]) })
	for _, a := range all {
		a.mu.Lock()
	}
	defer func() {
		for _, a := range all {
			a.mu.Unlock()
		}
	}()
	v := NewVerifier()
	for _, a := range all {
		c := v.Account(a.st)
		for i := range a.entries.len() {
			c.Entry(a.entry(i))
		}
		c.Done()
	}
	// Every writer holds the locks of the accounts it touches, all held
	// here: the transfers are as still as the accounts.
	for i := range s.transfers {
		sh := &s.transfers[i]
		sh.mu.Lock()
		for j := range sh.recs.len() {
			if r := sh.recs.at(j); r.kind != KindImmediate || r.reversedBy != uuid.Nil { // what Transfer keeps
				t := sh.transfer(r)
				v.Transfer(&t)
			}
		}
		sh.mu.Unlock()
	}
	return v.Finish()
}
