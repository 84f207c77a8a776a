// Package campaign implements prize campaigns (抢快乐): the bank pays out
// prizes, at one instant, to many users who tap — settled on socialpay's
// ledger.
//
// A campaign has a budget, moved from a marketing account into the
// campaign's own escrow account, and a prize schedule fixed at creation
// (10 × 88.88, 1,000 × 8.88, the rest 0.88; tiers of prize 0 make the
// chance of winning exact). It opens at a set instant and takes tries
// until its end time or until every prize is won. Each accepted try takes
// the next slot of the draw and wins that slot's prize.
//
// # The pure core
//
//   - Rules.Check: the schedule's limits and its budget, overflow checked.
//   - NewDraw: the draw, a Fisher–Yates shuffle of the slots driven by a
//     SHA-256 stream of a 32-byte Seed. Commit(seed) is published when the
//     campaign opens, the seed once it is swept; Audit recomputes the draw
//     and checks the published try log against it.
//   - Campaign.Take: the rule of a try (status, window, sold out, the
//     user's try number and Caps per campaign, per day and per wins), and
//     the transitions Open, Cancel, MarkPaid, BeginSweep, FinishSweep and
//     Settle, which every Store calls under its lock.
//   - Rate.Allow: the token bucket (as one instant, GCRA) every Limiter
//     applies per user and per device.
//
// # The service
//
// Service creates, tries, sweeps and reconciles campaigns on a
// ledger.Ledger, with the bank's Eligibility, and a Store and a Limiter
// shared by every instance (package postgres). New refuses to start
// without them unless Config.SingleProcess says there is only one, which
// may keep a MemoryStore and MemoryLimiter of its own. Amounts at its
// edge are ledger.Money.
//
// A user's tries are numbered 1, 2, 3…: (campaign, user, number) is a
// try's idempotency key, and the prize's ledger transfer ID is derived
// from it (PrizeTransferID), so a retry from any instance gets the same
// try and pays once. Create funds the escrow (FundTransferID), Sweep
// closes an ended or sold-out campaign and returns exactly the unclaimed
// budget (one atomic store step fixes it; SweepTransferID moves it once),
// a prize whose wallet is closed goes back to marketing
// (ForfeitTransferID), and Reconcile finishes what a crash left half done.
// The escrow pays out exactly the budget: prizes of the slots taken plus
// the sweep's refund.
//
// The storm. A try locks only what it must: on a MemoryStore its user's
// shard and, for Campaign.Take, the campaign; on a store that shares the
// ledger's database, the try and its payment are one transaction shared by
// concurrent tries. Before opening, and once the store has said a campaign
// is sold out, swept or cancelled, new tries are refused from the
// service's memory (facts that never change), with no limiter, store or
// ledger call; retries of recorded tries still get them.
package campaign
