package redpackettest

import (
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/redpacket"
)

// future is far after every other packet of the suite, so that a listing
// test's own packets come after any other test's in a shared store.
var future = start.Add(1000 * 24 * time.Hour)

// listFunc is Store.Expired or Store.Unsettled with its time bound bound.
type listFunc func(after redpacket.Cursor, limit int) ([]redpacket.Packet, error)

// pageAll pages through a listing with limit, checking each page's size,
// the order across pages, and that no packet appears twice; it returns the
// IDs of the packets of mine in the order listed.
func pageAll(t *testing.T, list listFunc, limit int, mine map[uuid.UUID]bool) []uuid.UUID {
	t.Helper()
	var out []uuid.UUID
	seen := map[uuid.UUID]bool{}
	cur := redpacket.Cursor{}
	var last *redpacket.Packet
	for pages := 0; ; pages++ {
		if pages > 10000 {
			t.Fatalf("limit %d: listing never ends", limit)
		}
		ps, err := list(cur, limit)
		if err != nil {
			t.Fatalf("limit %d: %v", limit, err)
		}
		if len(ps) > limit {
			t.Fatalf("limit %d: page of %d", limit, len(ps))
		}
		for i := range ps {
			p := &ps[i]
			if seen[p.ID] {
				t.Fatalf("limit %d: packet %s listed twice", limit, p.ID)
			}
			seen[p.ID] = true
			if last != nil && !redpacket.CursorOf(last).After(p) {
				t.Fatalf("limit %d: %s (%v) listed after %s (%v): out of order", limit, p.ID, p.ExpiresAt, last.ID, last.ExpiresAt)
			}
			if !cur.After(p) {
				t.Fatalf("limit %d: %s is not after the cursor", limit, p.ID)
			}
			last = p
			if mine[p.ID] {
				out = append(out, p.ID)
			}
		}
		if len(ps) < limit {
			return out
		}
		cur = redpacket.CursorOf(&ps[len(ps)-1])
	}
}

// ordered returns the IDs of ps sorted as a listing orders them.
func ordered(ps []redpacket.Packet) []uuid.UUID {
	ps = slices.Clone(ps)
	slices.SortFunc(ps, func(a, b redpacket.Packet) int {
		switch {
		case redpacket.CursorOf(&a).After(&b): // b comes after a
			return -1
		case redpacket.CursorOf(&b).After(&a):
			return 1
		}
		return 0
	})
	ids := make([]uuid.UUID, len(ps))
	for i := range ps {
		ids[i] = ps[i].ID
	}
	return ids
}

// testExpiredPaging: Expired lists exactly the open and refunding packets
// expired by now, in (expiry, ID) order, paged by cursor with any limit;
// packets with equal expiry times are told apart by ID.
func testExpiredPaging(t *testing.T, e *env) {
	const n = 40
	var want []redpacket.Packet
	mine := map[uuid.UUID]bool{}
	now := future.Add(10 * time.Minute)
	for i := range n {
		p := NewPacket(10, 20)
		p.CreatedAt = future.Add(-24 * time.Hour)
		p.ExpiresAt = future.Add(time.Duration(i/3) * time.Minute) // three packets per instant
		mine[p.ID] = true
		switch i % 5 {
		case 0: // funding: not listed
			e.create(p)
		case 1: // cancelled: not listed
			e.create(p)
			if _, err := e.s.Cancel(e.ctx, p.ID, ""); err != nil {
				t.Fatal(err)
			}
		case 2: // sold out: not listed
			e.open(p)
			e.mustClaim(&p, uuid.New())
			e.mustClaim(&p, uuid.New())
		case 3: // refunding: listed
			e.open(p)
			e.mustClaim(&p, uuid.New())
			if _, err := e.s.BeginRefund(e.ctx, p.ID, p.ExpiresAt); err != nil {
				t.Fatal(err)
			}
		case 4: // open: listed
			e.open(p)
		}
		if i%5 >= 3 && !p.ExpiresAt.After(now) {
			want = append(want, p)
		}
	}
	wantIDs := ordered(want)
	list := func(after redpacket.Cursor, limit int) ([]redpacket.Packet, error) {
		return e.s.Expired(e.ctx, now, after, limit)
	}
	for _, limit := range []int{1, 2, 3, 7, 100} {
		if got := pageAll(t, list, limit, mine); !slices.Equal(got, wantIDs) {
			t.Fatalf("limit %d: listed %d of my packets %v, want %d %v", limit, len(got), got, len(wantIDs), wantIDs)
		}
	}
	// A packet is listed from the instant it expires.
	edge := future.Add(2 * time.Minute) // packets 6, 7, 8; 8 is refunding
	got := pageAll(t, func(after redpacket.Cursor, limit int) ([]redpacket.Packet, error) {
		return e.s.Expired(e.ctx, edge, after, limit)
	}, 5, mine)
	var wantEdge []redpacket.Packet
	for _, p := range want {
		if !p.ExpiresAt.After(edge) {
			wantEdge = append(wantEdge, p)
		}
	}
	if !slices.Equal(got, ordered(wantEdge)) {
		t.Fatalf("expired by %v: %v, want %v", edge, got, ordered(wantEdge))
	}
	// Refunded packets leave the listing.
	r := want[0]
	if _, err := e.s.BeginRefund(e.ctx, r.ID, now); err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.FinishRefund(e.ctx, r.ID); err != nil {
		t.Fatal(err)
	}
	got = pageAll(t, list, 4, mine)
	if slices.Contains(got, r.ID) || len(got) != len(wantIDs)-1 {
		t.Fatalf("after refunding %s: listed %v", r.ID, got)
	}
}

// testUnsettledPaging: Packets lists every packet; Unsettled lists exactly the packets with work left
// (State.NeedsReconcile), in (expiry, ID) order, paged by cursor.
func testUnsettledPaging(t *testing.T, e *env) {
	mine := map[uuid.UUID]bool{}
	var want, every []redpacket.Packet
	add := func(p redpacket.Packet, listed bool) {
		mine[p.ID] = true
		every = append(every, p)
		if listed {
			want = append(want, p)
		}
	}
	at := func(i int) redpacket.Packet {
		p := NewPacket(10, 20)
		p.CreatedAt = future.Add(-24 * time.Hour)
		p.ExpiresAt = future.Add(time.Duration(i%4) * time.Hour)
		return p
	}
	for i := range 3 {
		base := i * 10
		// Funding: listed.
		p := at(base)
		e.create(p)
		add(p, true)
		// Cancelled: not listed.
		p = at(base + 1)
		e.create(p)
		if _, err := e.s.Cancel(e.ctx, p.ID, ""); err != nil {
			t.Fatal(err)
		}
		add(p, false)
		// Open, nothing claimed: not listed.
		p = e.open(at(base + 2))
		add(p, false)
		// Open with an unpaid claim: listed.
		p = e.open(at(base + 3))
		e.mustClaim(&p, uuid.New())
		add(p, true)
		// Open with a paid claim: not listed.
		p = e.open(at(base + 4))
		u := uuid.New()
		e.mustClaim(&p, u)
		if _, err := e.s.MarkPosted(e.ctx, p.ID, u); err != nil {
			t.Fatal(err)
		}
		add(p, false)
		// Sold out and paid, not settled: listed.
		p = e.open(at(base + 5))
		users := []uuid.UUID{uuid.New(), uuid.New()}
		for _, u := range users {
			e.mustClaim(&p, u)
			if _, err := e.s.MarkPosted(e.ctx, p.ID, u); err != nil {
				t.Fatal(err)
			}
		}
		add(p, true)
		// The same, settled: not listed.
		p = e.open(at(base + 6))
		for _, u := range users {
			e.mustClaim(&p, u)
			if _, err := e.s.MarkPosted(e.ctx, p.ID, u); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := e.s.Settle(e.ctx, p.ID); err != nil {
			t.Fatal(err)
		}
		add(p, false)
		// Refunding: listed.
		p = e.open(at(base + 7))
		if _, err := e.s.BeginRefund(e.ctx, p.ID, p.ExpiresAt); err != nil {
			t.Fatal(err)
		}
		add(p, true)
		// Refunded, not settled: listed.
		p = e.open(at(base + 8))
		if _, err := e.s.BeginRefund(e.ctx, p.ID, p.ExpiresAt); err != nil {
			t.Fatal(err)
		}
		if _, err := e.s.FinishRefund(e.ctx, p.ID); err != nil {
			t.Fatal(err)
		}
		add(p, true)
	}
	list := func(after redpacket.Cursor, limit int) ([]redpacket.Packet, error) {
		return e.s.Unsettled(e.ctx, after, limit)
	}
	wantIDs := ordered(want)
	for _, limit := range []int{1, 4, 5, 1000} {
		if got := pageAll(t, list, limit, mine); !slices.Equal(got, wantIDs) {
			t.Fatalf("limit %d: listed %d of my packets, want %d", limit, len(got), len(wantIDs))
		}
	}
	// Packets lists them all, whatever their status.
	all := func(after redpacket.Cursor, limit int) ([]redpacket.Packet, error) {
		return e.s.Packets(e.ctx, after, limit)
	}
	wantIDs = ordered(every)
	for _, limit := range []int{7, 1000} {
		if got := pageAll(t, all, limit, mine); !slices.Equal(got, wantIDs) {
			t.Fatalf("Packets, limit %d: listed %d of my packets, want %d", limit, len(got), len(wantIDs))
		}
	}
}
