// Package redpacket implements red packets (红包): a user sends an amount to a
// friend or a group, members grab shares of it, and whatever is left when the
// packet expires goes back to the sender.
//
// There are four kinds: Lucky (拼手气, the total split at random), Normal
// (普通, the sender gives the per-share amount and the count), Exclusive
// (专属, one share for one named recipient) and Password (口令, split like
// Lucky, claimed with a phrase compared by PasswordMatches).
//
// The pure core, which needs neither storage nor the ledger:
//
//   - Rules, with WeChat-like DefaultRules (shares 0.01–200.00 CNY, at most
//     100 shares, 24 h expiry), and Rules.Check, the creation check with one
//     sentinel error per rule, in a fixed order.
//   - Splitter and its implementations DoubleMean (WeChat's double-mean with
//     bounds that keep every share, the last included, within the limits),
//     LineSegment (stars and bars, every position identically distributed)
//     and Equal. Rules.Shares computes all shares when a packet is sent (a
//     claim then just takes the next share: O(1) and auditable), shuffles
//     them, and verifies every share is within the limits and the sum is the
//     total.
//   - BestLuck (手气最佳): the largest share, ties to the earliest claim.
//
// Amounts are int64 minor units of the packet's currency (fen for CNY); no
// floats anywhere. Randomness comes from an io.Reader (crypto/rand by
// default): each packet reads a 32-byte seed from it for its own ChaCha8
// stream, so a packet costs one read of the reader, not one per draw.
package redpacket
