package qrdirectory_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/socialpay/socialpay/qr"
	"github.com/socialpay/socialpay/transfer"
	"github.com/socialpay/socialpay/transfer/qrdirectory"
)

func newDirectory(t testing.TB) (*qrdirectory.Directory, uuid.UUID) {
	t.Helper()
	p, err := transfer.NewPhoneParser("CN")
	if err != nil {
		t.Fatal(err)
	}
	phones := transfer.NewMemoryDirectory()
	acct := uuid.New()
	now := time.Date(2026, 2, 16, 12, 0, 0, 0, time.UTC)
	if _, err := phones.Bind(context.Background(), transfer.Binding{Phone: "+8613800138000", Holder: uid("bob"), Account: acct, Name: "王小明", VerifiedAt: now, UpdatedAt: now}, false); err != nil {
		t.Fatal(err)
	}
	return &qrdirectory.Directory{Parser: p, Phones: phones}, acct
}

func TestPayee(t *testing.T) {
	d, acct := newDirectory(t)
	ctx := context.Background()
	for _, alias := range []string{"+8613800138000", "13800138000", "008613800138000"} {
		p, err := d.Payee(ctx, qr.Lookup{Alias: alias})
		if err != nil || p.Account != acct || p.Name != "**明" || p.Alias != alias {
			t.Fatalf("%q: %v %+v", alias, err, p)
		}
	}
	for alias, also := range map[string]error{
		"13900139000":  transfer.ErrNotBound,     // valid, not bound
		"+86 190 0000": transfer.ErrInvalidPhone, // not a number
		"merchant-42":  transfer.ErrNotPhoneNumber,
	} {
		_, err := d.Payee(ctx, qr.Lookup{Alias: alias})
		if !errors.Is(err, qr.ErrUnknownPayee) || !errors.Is(err, also) {
			t.Fatalf("%q: %v, want qr.ErrUnknownPayee and %v", alias, err, also)
		}
	}
}

// failing is a phone directory whose lookups fail, as a database gone away.
type failing struct{ transfer.Directory }

var errDown = errors.New("directory down")

func (failing) Lookup(context.Context, transfer.Phone) (transfer.Binding, bool, error) {
	return transfer.Binding{}, false, errDown
}

// A directory that fails is not an unknown payee: its error comes back,
// saying which alias.
func TestPayeeDirectoryFails(t *testing.T) {
	d, _ := newDirectory(t)
	d.Phones = failing{d.Phones}
	_, err := d.Payee(context.Background(), qr.Lookup{Alias: "13800138000"})
	if !errors.Is(err, errDown) || errors.Is(err, qr.ErrUnknownPayee) || !strings.Contains(err.Error(), "13800138000") {
		t.Fatalf("directory down: %v", err)
	}
}

// A receive code naming a mobile number pays the account bound to it; the
// payer's app shows the masked name.
func ExampleDirectory() {
	p, _ := transfer.NewPhoneParser("CN")
	phones := transfer.NewMemoryDirectory()
	now := time.Date(2026, 2, 16, 12, 0, 0, 0, time.UTC)
	_, _ = phones.Bind(context.Background(), transfer.Binding{Phone: "+8613800138000", Holder: uid("bob"), Account: uuid.New(), Name: "王小明", VerifiedAt: now, UpdatedAt: now}, false)

	var dir qr.Directory = &qrdirectory.Directory{Parser: p, Phones: phones}
	payee, err := dir.Payee(context.Background(), qr.Lookup{Alias: "13800138000"})
	fmt.Println(payee.Name, err)
	_, err = dir.Payee(context.Background(), qr.Lookup{Alias: "13900139000"})
	fmt.Println(errors.Is(err, qr.ErrUnknownPayee))
	// Output:
	// **明 <nil>
	// true
}

// A printed code naming a number whose binding transfer treats as too old
// to trust (the number may have been recycled) is no longer payable
// through the QR directory either.
func TestMaxVerificationAge(t *testing.T) {
	d, acct := newDirectory(t)
	verified := time.Date(2026, 2, 16, 12, 0, 0, 0, time.UTC)
	now := verified.Add(90 * 24 * time.Hour)
	d.MaxVerificationAge, d.Now = 90*24*time.Hour, func() time.Time { return now }
	if p, err := d.Payee(context.Background(), qr.Lookup{Alias: "13800138000"}); err != nil || p.Account != acct {
		t.Fatalf("at the limit: %v %+v", err, p)
	}
	now = now.Add(time.Second)
	_, err := d.Payee(context.Background(), qr.Lookup{Alias: "13800138000"})
	if !errors.Is(err, qr.ErrUnknownPayee) || !errors.Is(err, transfer.ErrNotBound) {
		t.Fatalf("past the limit: %v", err)
	}
}
