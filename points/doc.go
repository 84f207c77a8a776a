// Package points implements loyalty points (积分): points earned for what
// the bank rewards, kept on socialpay's ledger in a unit of their own,
// spent oldest first, expiring in monthly lots, redeemed into money and
// exchanged with partners' schemes (credit-card points) at versioned rates.
//
// Points are ledger money of the unit XPS (exponent 0; see UnitCode),
// which the ledger never mixes with a currency. Each user has a points
// account (Service.AccountOf, derived from the user); the bank has an
// Issuance account that earned points come from, and Redeemed and Expired
// accounts that spent and expired points go to, so the ledger's trial
// balance always accounts for every point. Config.Shards splits these
// (and the Conversion accounts) so that users do not queue on one row.
//
// # The pure core
//
//   - EarnRule: Fixed (sign-up, a campaign's reward) or PerAmount (points
//     per whole step of a payment), with an optional cap per earn.
//   - Lots: points earned in one Month form a Lot that expires at the end
//     of the ExpiryMonths-th month after it (ExpiryOf). Allocate spends
//     from the lots that expire first, of lots not expired at the instant
//     of the spend; Holder.Record, Post, Fail and Expire are the only code
//     that changes a user's lots and totals, and every Store calls them
//     with the user locked.
//   - Rate: From units given are worth To received. Rate.Convert rounds
//     the payout down (never more than the rate allows) and spends only
//     the fewest units worth it, in 128-bit integer arithmetic. Rates are
//     versioned (CheckNewRate: each version is the latest plus one), and
//     every operation records the version it used.
//
// # The service
//
// Service.Earn, Redeem, ExchangeOut and ExchangeIn record an operation in
// the Store first (a credit as pending points of this month's lot, not
// yet spendable; a debit takes its points from the lots at once), then
// apply its ledger transfers, whose IDs derive from the operation's ID,
// which derives from the request's user and idempotency key; then they
// mark it posted. A redemption's points and money move in one linked
// ledger batch (points to Redeemed, money from the bank's Conversion
// account to the user's wallet). A retry of a request returns the
// original operation and moves nothing twice; K identical requests at
// once record one operation. If the ledger refuses for now (an account
// frozen, the conversion account short) the operation stays pending
// (ErrPending) and Reconcile, or a retry, completes it; if it refuses for
// good (an account closed) the operation fails and its points go back to
// their lots (ErrFailed). The ledger can never be short of a debit's
// points: only confirmed points are spendable.
//
// Every instance shares the Store (package postgres's PointsStore): New
// refuses a nil one unless Config.SingleProcess says there is only one
// instance, which may keep a MemoryStore of its own.
//
// On a PostingStore whose database holds the ledger too (package
// postgres's PointsStore beside its ledger Store), recording, the ledger
// transfers and the posted mark are one transaction, one commit (shared
// by concurrent requests); there a ledger refusal records nothing and is
// returned as the ledger's *ledger.TransferError (ledger.Refused).
//
// Service.Sweep expires due lots by cursor: each lot's remainder moves to
// a new expiry operation in one store step, so concurrent sweepers, and a
// redemption racing the expiry of its lot, each take a point at most
// once. Service.Statement shows earned, spent, expired and the lots left.
//
// Amounts are int64 units inside (points, minor units of money), never
// floats; every sum is checked for overflow.
package points
