package points_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/ledger"
	"github.com/socialpay/socialpay/points"
)

// A bank runs several instances on one ledger. Had each made up its own
// MemoryStore, each would keep its own lots and operations, and a retry
// reaching another instance would record the operation again. New
// refuses to make one up unless told it is the only instance.
func TestNewRefusesPerInstanceStore(t *testing.T) {
	w := newWorld(t) // w.cfg has a Store and no SingleProcess: accepted
	cfg := w.cfg
	cfg.Store = nil
	_, err := points.New(cfg)
	if !errors.Is(err, points.ErrInvalidConfig) {
		t.Fatalf("nil Store: %v, want ErrInvalidConfig", err)
	}
	for _, option := range []string{"Store", "Config.SingleProcess"} {
		if !strings.Contains(err.Error(), option) {
			t.Errorf("the error does not name %s: %v", option, err)
		}
	}
	// Said explicitly, one process may keep its own: a store of its own,
	// which the other instance's never sees.
	cfg.SingleProcess = true
	svc, err := points.New(cfg)
	if err != nil {
		t.Fatalf("single process: %v", err)
	}
	op, err := svc.Earn(w.ctx, points.EarnRequest{User: uuid.New(), Rule: "grant", Key: "k", Amount: ledger.NewMoney(5, cny)})
	if err != nil || op.Points != 5 {
		t.Fatalf("earn on the single process: %+v, %v", op, err)
	}
	if _, err := w.svc.Op(w.ctx, op.ID); !errors.Is(err, points.ErrOpNotFound) {
		t.Fatalf("the configured store has the single process's operation: %v", err)
	}
}
