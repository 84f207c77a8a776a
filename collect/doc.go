// Package collect splits a bill (群收款 / AA收款): a requester asks the
// members of a group for their shares of a shared bill, and each member
// pays their share straight into the requester's account, on socialpay's
// ledger.
//
// Shares are an equal split or amounts per member. EqualSplit gives every
// member the same number of minor units, and the remainder to the first
// members in the stated order: 100.00 / 3 = 33.34 + 33.33 + 33.33. The
// requester may take part: their own share is part of the split (and
// takes the remainder first if they are listed first) but is never
// collected.
//
// # The pure core
//
// Rules (DefaultRules: at most 100 members, a share of 0.01–50,000.00, open
// 24 hours) with Rules.Check, and Request with its transitions CheckPay,
// RecordPaid, Decline, Close, Expire, Remind and MarkReconciled: the only
// code that decides what a request may do next. Every Store calls them
// with the request locked.
//
// # The service
//
// Service creates requests (membership by the bank's Members), takes
// payments, declines and the requester's close, sends rate-limited
// reminders through the bank's Notifier, expires requests (Sweep) and
// repairs lost records (Reconcile), on a ledger.Ledger and a Store every
// instance shares (package postgres). New refuses a nil Store unless
// Config.SingleProcess says there is only one instance, which may keep a
// MemoryStore of its own.
//
// No escrow. Each payment moves the member's share straight from their
// wallet to the requester's, with ledger ID TransferID (UUIDv5 of request
// and member): a member pays once, however often they retry. Escrow would
// only be needed to give money back, and nothing is ever given back: the
// requester already paid the whole bill, so every share paid is owed to
// them and final on its own, whether the others pay, decline, or the
// request is closed or expires. Closing only stops further payments.
// (Refunding a partial collection — a group purchase that falls through —
// would be another product, with each payment held in escrow.)
//
// Exactly once. A payment is one step of the store: with the request
// locked, CheckPay decides, the transfer is made, and the share is
// recorded paid only if the ledger made it (a PostgreSQL store on the
// ledger's database makes both in one transaction). So a payment racing
// the requester's close or the expiry sweep either lands while the
// request is open and is counted, or finds it ended and moves nothing;
// concurrent identical payments queue on the lock and all get the one
// payment. A payment whose outcome the ledger could not report
// (ErrPaymentUnknown) is recorded by the member's retry, or by Reconcile,
// which looks up the derived transfer IDs of the shares still pending on
// requests that ended.
//
// Reminders: at most one per request per Config.RemindEvery, its time
// kept in the store, so N instances of the service keep one limit.
//
// Amounts are int64 minor units inside, ledger.Money at the edge; no
// floats anywhere. Every text that enters (the title) is bounded.
package collect
