package redpacket

import (
	"github.com/google/uuid"

	"github.com/socialpay/socialpay/ledger"
)

// EditRecord changes a MemoryStore's record of a packet and its claims
// behind the store's back, as an insider or a restored backup would, for
// the tests of Check and Reconcile.
func EditRecord(s *MemoryStore, id uuid.UUID, edit func(p *Packet, claims *[]Claim)) error {
	mp, err := s.get(id)
	if err != nil {
		return err
	}
	mp.mu.Lock()
	defer mp.mu.Unlock()
	claims := mp.claims
	edit(&mp.p, &claims)
	mp.claims, mp.users = mp.claims[:0], mp.users[:0]
	if mp.byUser != nil {
		clear(mp.byUser)
	}
	for _, c := range claims {
		mp.add(c)
	}
	return nil
}

// PayOn makes a MemoryStore built before its ledger pay claims on l, as
// NewMemoryStore(l) would have: for tests whose ledger comes later.
func PayOn(s *MemoryStore, l *ledger.Ledger) { s.l = l }
