package transfer

import (
	"crypto/sha256"
	"encoding/binary"
	"testing"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/ledger"
)

// A bank whose text customer IDs were UUIDs keeps its records' meaning
// across the change to uuid.UUID users: a request hashes as it did when
// Payer and To.Holder were their canonical text, so a retry of a record
// made before still replays it.
func TestRequestHashOfTextUsers(t *testing.T) {
	for range 100 {
		payer, holder := uuid.New(), uuid.New()
		if got := string(appendUUIDText(nil, payer)); got != payer.String() {
			t.Fatalf("appendUUIDText = %s, want %s", got, payer)
		}
		for _, req := range []Request{
			{Key: "k", Payer: payer, From: uuid.New(), Amount: ledger.NewMoney(1_00, ledger.MustCurrency("CNY")), Memo: "饭钱"},
			{Key: "c", Payer: payer, From: uuid.New(), To: Recipient{Holder: holder, Account: uuid.New()},
				Amount: ledger.NewMoney(2_00, ledger.MustCurrency("CNY")), Arrival: ArriveOnAccept},
		} {
			phone := Phone("")
			if req.To.Holder == uuid.Nil {
				phone = "+8613800138000"
			}
			// The encoding before users were UUIDs, with their text.
			var b []byte
			str := func(s string) {
				b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
				b = append(b, s...)
			}
			str(req.Key)
			str(req.Payer.String())
			b = append(b, req.From[:]...)
			if phone != "" {
				b = append(b, 'p')
				str(string(phone))
			} else {
				b = append(b, 'c')
				str(req.To.Holder.String())
				b = append(b, req.To.Account[:]...)
			}
			b = binary.BigEndian.AppendUint64(b, uint64(req.Amount.Units()))
			str(req.Amount.Currency().Code())
			b = append(b, byte(req.Arrival))
			str(req.Memo)
			if requestHash(&req, phone) != sha256.Sum256(b) {
				t.Fatalf("request %+v hashes otherwise than with text users", req)
			}
		}
	}
}
