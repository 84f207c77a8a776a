package collect_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/collect"
	"github.com/socialpay/socialpay/ledger"
)

// A bank runs several instances on one ledger. Had each made up its own
// MemoryStore, each would know only the requests and payments it
// recorded and keep its own reminder limit. New refuses to make one up
// unless told it is the only instance.
func TestNewRefusesPerInstanceStore(t *testing.T) {
	l := ledger.New(nil, ledger.Options{})
	quiet := collect.NotifierFunc(func(context.Context, collect.Request, []uuid.UUID) error { return nil })
	_, err := collect.New(collect.Config{Ledger: l, Members: everyone{}, Notifier: quiet})
	if !errors.Is(err, collect.ErrInvalidConfig) {
		t.Fatalf("nil Store: %v, want ErrInvalidConfig", err)
	}
	for _, option := range []string{"Store", "Config.SingleProcess"} {
		if !strings.Contains(err.Error(), option) {
			t.Errorf("the error does not name %s: %v", option, err)
		}
	}
	// A shared store needs no declaration.
	if _, err := collect.New(collect.Config{Ledger: l, Store: collect.NewMemoryStore(), Members: everyone{}, Notifier: quiet}); err != nil {
		t.Fatalf("with a store: %v", err)
	}
	// Said explicitly, one process may keep its own.
	svc, err := collect.New(collect.Config{Ledger: l, SingleProcess: true, Members: everyone{}, Notifier: quiet})
	if err != nil {
		t.Fatalf("single process: %v", err)
	}
	if _, err := svc.Request(context.Background(), uuid.New()); !errors.Is(err, collect.ErrRequestNotFound) {
		t.Fatalf("lookup on the single process's store: %v", err)
	}
}
