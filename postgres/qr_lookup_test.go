package postgres

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/ledger"
	"github.com/socialpay/socialpay/ledger/ledgertest"
	"github.com/socialpay/socialpay/qr"
	"github.com/socialpay/socialpay/transfer"
	"github.com/socialpay/socialpay/transfer/qrdirectory"
)

// A prober quotes receive codes naming 40 random numbers, alternating
// between two instances of the service. Each instance meters QR lookups
// with its own LookupLimiter on the shared database: the payer has one
// budget in all (five misses), not one per instance, and the phone
// lookups of transfer on a third instance are refused too.
func TestQRLookupLimiterSharedAcrossInstances(t *testing.T) {
	ctx := context.Background()
	db := freshDB(t)
	clock := ledgertest.NewClock(time.Date(2026, 2, 16, 12, 0, 0, 0, time.UTC))
	cfg := transfer.DefaultRateConfig()
	cfg.Now = clock.Now
	secret := []byte("postgres test HMAC secret 32 b..")
	signer, _ := qr.NewHMACSigner("k", secret)
	keys, _ := qr.NewKeys(qr.Key{ID: "k", HMAC: secret})
	receive, err := qr.NewReceiveCodes(qr.ReceiveConfig{Signer: signer, Keys: keys, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	parser, _ := transfer.NewPhoneParser("CN")
	phones := transfer.NewMemoryDirectory()
	prober := uuid.New()
	var services []*qr.Service
	for range 2 {
		lim := newLookupLimiter(t, instance(t, db), cfg)
		dir := &qrdirectory.Directory{Parser: parser, Phones: phones, Limiter: lim}
		svc, err := qr.New(qr.Config{Ledger: ledger.New(nil, ledger.Options{Now: clock.Now}), Directory: dir, Receive: receive, SingleProcess: true})
		if err != nil {
			t.Fatal(err)
		}
		services = append(services, svc)
	}
	cny := ledger.MustCurrency("CNY")
	misses, refused := 0, 0
	for i := range 40 {
		code, err := receive.Issue(ctx, qr.ReceiveCode{Payee: fmt.Sprintf("+86139%08d", 1000+i*7919), Initiation: qr.Static, Currency: cny, Name: "SHOP", City: "Shanghai"})
		if err != nil {
			t.Fatal(err)
		}
		_, err = services[i%2].Preview(ctx, prober, code)
		var rl *transfer.RateLimitError
		switch {
		case errors.Is(err, qr.ErrUnknownPayee) && refused == 0:
			misses++
		case errors.Is(err, qr.ErrLookupLimited) && errors.As(err, &rl):
			refused++
		default:
			t.Fatalf("quote %d: %v", i, err)
		}
	}
	if misses != 5 || refused != 35 {
		t.Fatalf("%d misses, %d refused over two instances; want 5 and 35", misses, refused)
	}
	xfer, err := transfer.New(transfer.Config{Ledger: ledger.New(nil, ledger.Options{Now: clock.Now}), Limiter: newLookupLimiter(t, instance(t, db), cfg),
		SingleProcess: true, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := xfer.Resolve(ctx, prober, "13800138000"); !errors.Is(err, transfer.ErrRateLimited) {
		t.Fatalf("Resolve on a third instance: %v", err)
	}
}
