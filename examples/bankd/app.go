package main

import (
	"context"
	"embed"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/socialpay/socialpay/ledger"
	"github.com/socialpay/socialpay/postgres"
	"github.com/socialpay/socialpay/qr"
	"github.com/socialpay/socialpay/redpacket"
	"github.com/socialpay/socialpay/transfer"
	"github.com/socialpay/socialpay/transfer/qrdirectory"
)

// migrations are bankd's own tables (chat groups), applied with
// postgres.DB.MigrateApp under the library's migration lock.
//
//go:embed migrations/*.sql
var migrations embed.FS

// namespace is the UUIDv5 namespace of every ID bankd derives (users,
// wallets, groups, packets from idempotency keys). It never changes.
var namespace = uuid.NewSHA1(uuid.NameSpaceURL, []byte("https://github.com/socialpay/socialpay/examples/bankd"))

// App is bankd's wiring: the library's services on one ledger, and what
// bankd keeps itself (groups). It holds no business rules.
type App struct {
	cfg      Config
	cny      ledger.Currency
	db       *postgres.DB // nil on memory stores
	ledger   *ledger.Ledger
	packets  *redpacket.Service
	phones   *transfer.Service
	qr       *qr.Service
	paycodes *qr.PaymentCodes
	groups   *Groups
	prune    func(context.Context) (int64, error) // the lookup limiter's pruning
	funding  uuid.UUID                            // the bank's account that deposits come from
	now      func() time.Time
	clock    *demoClock // -demo: the clock the page moves; nil otherwise
	log      *slog.Logger
	// reg is the registry /metrics serves: bankd's own metrics, and the
	// library's, which reach it through the OpenTelemetry MeterProvider
	// meters (its Prometheus exporter).
	reg    *prometheus.Registry
	meters *sdkmetric.MeterProvider
}

// newApp builds the services: on PostgreSQL when cfg.DSN is set (every
// store on one schema, shared limiter, keys from the shared secret),
// else on memory stores in this process alone.
func newApp(ctx context.Context, cfg Config, log *slog.Logger) (*App, error) {
	a := &App{cfg: cfg, cny: ledger.MustCurrency("CNY"), now: cfg.Now, log: log}
	if a.now == nil {
		a.now = time.Now
	}
	if cfg.Demo {
		if err := cfg.checkDemo(); err != nil {
			return nil, err
		}
		a.clock = &demoClock{base: a.now}
		a.now = a.clock.Now
	}
	// Every part of the library logs to bankd's logger and meters to
	// /metrics. A bank adds its TracerProvider to the same Configs.
	a.reg = prometheus.NewRegistry()
	exporter, err := otelprom.New(otelprom.WithRegisterer(a.reg))
	if err != nil {
		return nil, err
	}
	a.meters = sdkmetric.NewMeterProvider(sdkmetric.WithReader(exporter))
	single := cfg.DSN == ""
	var (
		ledgerStore ledger.Store
		packetStore redpacket.Store
		recordStore transfer.Store
		phoneDir    transfer.Directory
		qrStore     qr.Store
		limiter     transfer.Limiter
		members     *Groups
	)
	rate := transfer.DefaultRateConfig()
	rate.Now = a.now
	if single {
		l, err := transfer.NewMemoryLimiter(rate)
		if err != nil {
			return nil, err
		}
		limiter, a.prune = l, func(context.Context) (int64, error) { return int64(l.Prune()), nil }
		ledgerStore = ledger.NewMemoryStore()
		phoneDir, members = transfer.NewMemoryDirectory(), newMemoryGroups()
	} else {
		pc, err := postgres.ParseConfig(cfg.DSN)
		if err != nil {
			return nil, err
		}
		pc.Schema, pc.Logger, pc.MeterProvider = cfg.Schema, log, a.meters
		if pc.Sealer, err = postgres.NewHMACSealer(postgres.SealKey{ID: 1, Secret: cfg.key("ledger-seal")}); err != nil {
			return nil, err
		}
		if a.db, err = postgres.OpenConfig(ctx, pc); err != nil {
			return nil, err
		}
		if err := a.db.MigrateApp(ctx, "bankd", mustSub(migrations, "migrations")); err != nil {
			a.db.Close()
			return nil, err
		}
		l, err := postgres.NewLookupLimiter(a.db, rate)
		if err != nil {
			a.db.Close()
			return nil, err
		}
		limiter, a.prune = l, l.Prune
		ledgerStore, packetStore = postgres.NewLedgerStore(a.db), postgres.NewRedPacketStore(a.db)
		recordStore, phoneDir = postgres.NewPhoneTransferStore(a.db), postgres.NewPhoneDirectory(a.db)
		qrStore, members = postgres.NewQRStore(a.db), newPGGroups(a.db)
	}
	a.groups = members
	a.ledger = ledger.New(ledgerStore, ledger.Options{Now: a.now, Logger: log, MeterProvider: a.meters})
	if single {
		// Each pays on the ledger in its own step, under its record's lock.
		packetStore, recordStore = redpacket.NewMemoryStore(a.ledger), transfer.NewMemoryStore(a.ledger)
		qrStore = qr.NewMemoryStore(a.ledger)
	}

	fail := func(err error) (*App, error) {
		a.Close()
		return nil, err
	}
	passwords, err := redpacket.NewPasswordKey(cfg.key("packet-password"))
	if err != nil {
		return fail(err)
	}
	// On PostgreSQL a claim answers once its share is paid, and the claim
	// is marked paid in the background (one transaction less on the
	// claim's path; marks of concurrent claims share batches). A mark a
	// crash loses is made by the claim's retry or by Reconcile; Close
	// waits for those in flight.
	if a.packets, err = redpacket.New(redpacket.Config{Ledger: a.ledger, Store: packetStore, Members: members,
		Now: a.now, PasswordKey: passwords, SingleProcess: single, AsyncMarks: !single, Logger: log, MeterProvider: a.meters}); err != nil {
		return fail(err)
	}
	parser, err := transfer.NewPhoneParser(transfer.DefaultRegion)
	if err != nil {
		return fail(err)
	}
	if a.phones, err = transfer.New(transfer.Config{Ledger: a.ledger, Store: recordStore, Directory: phoneDir,
		Limiter: limiter, Parser: parser, TokenKey: cfg.key("lookup-token"), SingleProcess: single, Now: a.now,
		ReconcileAfter: ReconcileGrace, Logger: log, MeterProvider: a.meters}); err != nil {
		return fail(err)
	}
	signer, err := qr.NewHMACSigner("k1", cfg.key("qr-sign"))
	if err != nil {
		return fail(err)
	}
	keys, err := qr.NewKeys(qr.Key{ID: "k1", HMAC: cfg.key("qr-sign")})
	if err != nil {
		return fail(err)
	}
	receive, err := qr.NewReceiveCodes(qr.ReceiveConfig{Signer: signer, Keys: keys, Now: a.now})
	if err != nil {
		return fail(err)
	}
	if a.paycodes, err = qr.NewPaymentCodes(qr.PaymentCodeConfig{Prefix: "28", Key: cfg.key("payment-code")}); err != nil {
		return fail(err)
	}
	kek, err := qr.NewLocalKeyWrapper(cfg.key("device-kek"), nil)
	if err != nil {
		return fail(err)
	}
	directory := &qrdirectory.Directory{Parser: parser, Phones: phoneDir, Limiter: limiter, Now: a.now}
	if a.qr, err = qr.New(qr.Config{Ledger: a.ledger, Store: qrStore, Directory: directory, Receive: receive,
		PaymentCodes: a.paycodes, DeviceKeys: kek, Now: a.now, SingleProcess: single, Logger: log, MeterProvider: a.meters,
		Refused: func(ctx context.Context, r qr.CodeRefusal) {
			log.LogAttrs(ctx, slog.LevelWarn, "payment code refused", slog.String("device", r.Device), slog.Any("reason", r.Reason))
		}}); err != nil {
		return fail(err)
	}
	a.funding = ledger.DeriveID(namespace, "bank", "funding", a.cny.Code())
	if _, err := a.ledger.CreateAccount(ctx, ledger.Account{ID: a.funding, Currency: a.cny}); err != nil {
		return fail(fmt.Errorf("the bank's funding account: %w", err))
	}
	return a, nil
}

// Close waits for the claims' paid marks in flight, then releases the
// database pool.
func (a *App) Close() {
	if a.packets != nil {
		a.packets.Close()
	}
	if a.db != nil {
		a.db.Close()
	}
	a.meters.Shutdown(context.Background())
}

// userID is the ID of the user a handle names: derived, so every instance
// agrees without a table. A bank maps its own customer IDs instead.
func userID(handle string) uuid.UUID { return ledger.DeriveID(namespace, "user", handle) }

// walletID is the ledger account of a user's wallet in currency c,
// derived from both: the owner of a wallet is known from its ID.
func walletID(user uuid.UUID, c ledger.Currency) uuid.UUID {
	return ledger.DeriveID(namespace, "wallet", user.String(), c.Code())
}
