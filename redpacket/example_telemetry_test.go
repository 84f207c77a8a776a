package redpacket_test

import (
	"context"
	"fmt"
	"sort"

	"github.com/google/uuid"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/socialpay/socialpay/ledger"
	"github.com/socialpay/socialpay/redpacket"
)

// A Service with a MeterProvider counts its claims by outcome and
// currency (socialpay.redpacket.claims). Here the OpenTelemetry SDK reads
// them by hand; a service would register a Prometheus or OTLP exporter.
func ExampleConfig_meterProvider() {
	ctx := context.Background()
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer func() { _ = mp.Shutdown(ctx) }()

	l := ledger.New(nil, ledger.Options{})
	members := &redpacket.MemoryMembers{}
	svc, err := redpacket.New(redpacket.Config{Ledger: l, Members: members, SingleProcess: true, MeterProvider: mp})
	if err != nil {
		panic(err)
	}
	cny := ledger.MustCurrency("CNY")
	bank, _ := l.CreateAccount(ctx, ledger.Account{ID: uuid.New(), Currency: cny})
	group, users, wallets := uuid.New(), make([]uuid.UUID, 4), make([]uuid.UUID, 4)
	for i := range users {
		w, _ := l.CreateAccount(ctx, ledger.Account{ID: uuid.New(), Currency: cny, Flags: ledger.DebitsMustNotExceedCredits})
		users[i], wallets[i] = uuid.New(), w.ID
		members.Add(group, users[i])
	}
	total := ledger.NewMoney(8_88, cny)
	if _, err := l.Transfer(ctx, ledger.Transfer{ID: uuid.New(), DebitAccountID: bank.ID, CreditAccountID: wallets[0], Amount: total}); err != nil {
		panic(err)
	}
	packet, err := svc.Send(ctx, redpacket.SendRequest{ID: uuid.New(), Kind: redpacket.Lucky, Sender: users[0],
		SenderAccount: wallets[0], Group: group, Amount: total, Count: 2})
	if err != nil {
		panic(err)
	}
	for _, u := range []int{1, 2, 3} { // the third is too late
		_, _ = svc.Claim(ctx, redpacket.ClaimRequest{Packet: packet.ID, User: users[u], Account: wallets[u]})
	}

	var rm metricdata.ResourceMetrics
	if err := reader.Collect(ctx, &rm); err != nil {
		panic(err)
	}
	var lines []string
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name != "socialpay.redpacket.claims" {
				continue
			}
			for _, dp := range m.Data.(metricdata.Sum[int64]).DataPoints {
				outcome, _ := dp.Attributes.Value("outcome")
				currency, _ := dp.Attributes.Value("currency")
				lines = append(lines, fmt.Sprintf("%s{outcome=%s,currency=%s} %d", m.Name, outcome.AsString(), currency.AsString(), dp.Value))
			}
		}
	}
	sort.Strings(lines)
	for _, l := range lines {
		fmt.Println(l)
	}
	// Output:
	// socialpay.redpacket.claims{outcome=ok,currency=CNY} 2
	// socialpay.redpacket.claims{outcome=sold_out,currency=CNY} 1
}
