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
package campaign
