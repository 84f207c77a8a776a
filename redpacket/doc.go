// Package redpacket implements red packets (红包): a user sends an amount to a
// friend or a group, members grab shares of it, and whatever is left when the
// packet expires goes back to the sender — settled on socialpay's ledger.
//
// There are four kinds: Lucky (拼手气, the total split at random), Normal
// (普通, the sender gives the per-share amount and the count), Exclusive
// (专属, one share for one named member of a group) and Password (口令,
// split like Lucky, claimed with a phrase checked against its keyed hash,
// see PasswordKey).
//
// The rules are pure code: Rules (one per currency; DefaultRules are
// WeChat's) checks a packet when it is sent, a Splitter (DoubleMean,
// LineSegment, Equal) computes and shuffles all its shares then, so that a
// claim takes the next one, BestLuck picks 手气最佳, and the transitions of
// Packet alone decide what a packet may do next; every Store calls them
// under its lock.
//
// Service sends, claims, refunds and reconciles packets on a ledger.Ledger
// and a Store every instance shares (postgres.RedPacketStore; a
// MemoryStore for a single process), with a Members the bank implements
// for its groups. Each packet holds its money
// in an escrow account of its own: Send funds it, each claim pays a share
// out of it, RefundExpired returns the remainder, and a finished packet's
// escrow, at zero, is closed. On a PayingStore that shares a transaction
// (or, in memory, a lock) with the ledger's store, each send, claim and
// refund records its change and moves its money in one atomic step; on
// other stores each records its intent, writes to the ledger under an ID
// derived from its business key, and records the outcome, and a retry or
// Reconcile finishes what a crash interrupted. Check audits every record
// against the ledger. A
// request's identity is its meaning: a Send's sender and key, a Claim's
// packet and user.
//
// Once a packet sells out, later taps are answered from memory, without
// the store or the ledger. Shares stay secret until claimed, and no store
// holds a password packet's phrase, only its hash under Config.PasswordKey,
// a key kept outside the database.
//
// docs/redpacket.md has the details: the money flow and how each step
// recovers, how each kind of store records and pays claims, idempotency,
// the audit, and what each security protection assumes.
package redpacket
