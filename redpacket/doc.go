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
// # The pure core
//
//   - Rules, with WeChat-like DefaultRules (shares 0.01–200.00 CNY, at most
//     100 shares, 24 h expiry), one Rules per currency, and Rules.Check,
//     the creation check with one sentinel error per rule, in a fixed order.
//   - Splitter and its implementations DoubleMean (WeChat's double-mean with
//     bounds that keep every share, the last included, within the limits),
//     LineSegment (stars and bars, every position identically distributed)
//     and Equal. Rules.Shares computes all shares when a packet is sent (a
//     claim then just takes the next share: O(1) and auditable), shuffles
//     them, and verifies every share is within the limits and the sum is the
//     total.
//   - BestLuck (手气最佳): the largest share, ties to the earliest claim.
//   - Packet and its transitions (Open, Cancel, Take, MarkPosted,
//     BeginRefund, FinishRefund, Settle): the only code that decides what a
//     packet may do next; every Store calls them under its lock.
//
// # The service
//
// Service sends, claims, refunds and reconciles packets on a ledger.Ledger
// and a Store (MemoryStore here; package postgres for production), with a
// Members the bank implements for its groups. Amounts at its edge are
// ledger.Money; inside, minor units.
//
// Money flow. Send moves the total from the sender's wallet into the
// packet's own escrow account (no shared escrow row: packets never contend
// with each other), each claim moves its share from escrow to the claimer,
// and the refund moves exactly the unclaimed remainder back. When a packet
// is finished (sold out, or refunded) and every claim is paid, its escrow
// account holds exactly zero and is closed.
//
// Exactly once without a shared transaction. Store and ledger commit
// separately (but for the claims of a PayingStore, below), so every
// operation records its intent in the store first, then writes to the
// ledger with an ID derived from the business key (ledger.DeriveID of
// packet + "fund", packet + user, packet + "refund"), then records the
// outcome:
//
//   - Send records the packet as funding, funds escrow, opens the packet.
//     A retry with the same key finishes the same packet and pays
//     once. Reconcile opens a funding packet whose transfer is on the
//     ledger and cancels one whose transfer is not — after closing the
//     empty escrow account, which fences out a funding transfer still in
//     flight (the ledger refuses it on a closed account).
//   - Claim takes the next pre-split share in one atomic store step ((packet,
//     user) unique), pays it, marks it paid. A second grab returns the same
//     claim and pays it if the first payment was interrupted; Reconcile pays
//     claims recorded but unpaid. On a MemoryStore the claim and its
//     payment are one step, under the packet's lock, and so they are on a
//     PayingStore that pays on the ledger's store (package postgres's
//     RedPacketStore with the ledger on the same database: one
//     transaction, one commit): a payment the ledger refuses (a missing,
//     closed or frozen wallet) records nothing, and a claim is recorded
//     paid at once. On other stores the wallet is checked first, and
//     Config.AsyncMarks takes the paid mark off the claim's path (a mark
//     lost in a crash is Reconcile's to record; paying again moves
//     nothing). A claim recorded but unpaid whose wallet has closed, which
//     it does for good, gives its share back to the sender (ID
//     ReturnTransferID) so that the packet still settles.
//   - RefundExpired closes an expired packet for claims and fixes the refund
//     in the same atomic store step (Store.BeginRefund), so the refund is
//     computed from exactly the claims recorded before it; a claim recorded
//     just before expiry whose payment lands after the refund still finds
//     its share in escrow. Two sweepers agree on one amount and the ledger
//     applies the refund's ID once.
//
// # Idempotency
//
// A request's identity is its meaning, not its bytes:
//
//   - Send: the key is the sender's SendRequest.Key, and the packet's ID
//     is derived from the two (Service.PacketID); the meaning is the
//     kind, the sender and the wallet paying, the group and the recipient,
//     the currency and the total (for a Normal packet, the per-share
//     amount times the count), the count, and a Password packet's phrase
//     after NormalizePassword (so "恭喜  发财" and "恭喜 发财" are one
//     phrase). A retry meaning the same gets the packet as it stands
//     (shares drawn once, funded once); another meaning under the same
//     key is a *ConflictError (ErrPacketConflict, also
//     ledger.ErrIdempotencyConflict) naming what differs.
//   - Claim: the key and the meaning are the packet and the user. The
//     wallet and the phrase are not part of it: a retry, with any wallet,
//     gets the user's one claim, paid to the wallet of the call that
//     recorded it (a phrase still has to match for a Password packet).
//   - RefundExpired and Reconcile have no request: each packet's refund,
//     and each repair, is keyed by the packet (and user).
//
// A record never contradicts the ledger for long. Service.Check audits
// every packet against the ledger, as ledger.Verify audits the ledger: each
// claim recorded paid has its payment on the ledger and each payment its
// claim, a refund recorded has moved and a refund moved is recorded, every
// transfer on an escrow account is explained by a record; it reports each
// disagreement as a *Problem (ErrCheck). Reconcile audits every packet it
// visits the same way and repairs what the ledger can tell it — pays a
// claim recorded paid and never paid, records a payment or a refund the
// ledger shows, moves a refund recorded and never moved — and reports the
// rest.
//
// Config.GroupPayments batches the payments of concurrent claims into
// shared ledger commits (a ledger.GroupCommit of the service's own), on
// stores that do not pay a claim in its own step; a PayingStore shares
// its transactions among concurrent claims itself.
//
// The storm. A packet's claims are serialized by that packet alone; once
// it sells out (or is refunded), the service remembers so in memory, with
// its final claims, and answers later taps — ErrSoldOut, or the tapper's own
// claim — without the store or the ledger. Only facts that never change are
// cached, so several service processes can share one store.
//
// # Security
//
// What each protection assumes:
//
//   - Nobody learns the shares before they are claimed. Each packet's
//     split comes from a 32-byte seed read from Config.Rand (crypto/rand
//     unless a test sets it) and is shuffled. Send and View return the
//     packet without its pre-split shares and password hash, and a Packet
//     printed with fmt (any verb) or encoded as JSON leaves both out. This
//     assumes Config.Rand is crypto/rand in production, and that whoever
//     holds the Store (Service.Store, the database) is trusted as the
//     database is: a store's records carry the shares, which claims need.
//   - No store holds a password packet's phrase. The Service keeps
//     HMAC-SHA256 over the packet ID and the normalized phrase, under
//     Config.PasswordKey, and compares a guess's hash in constant time.
//     Someone who reads the store (a dump, a replica, a backup) learns no
//     phrase and cannot test guesses, and two packets with one phrase have
//     unrelated hashes. This assumes the key stays outside the database
//     (the bank's KMS or secret store) and is the same in every instance:
//     New refuses to start without one unless Config.SingleProcess says
//     the Service is alone with its store (it then makes up a key of its
//     own). Phrases are short, so the database and the key together allow
//     guessing offline: rotate the key (NewPasswordKey with the previous
//     ones) if it may have leaked. The phrase is not a secret from the
//     group it is typed in (the way 口令 packets are played, it is
//     usually shown in the chat): it gates claims, not membership, and
//     wrong guesses are not rate-limited here.
//   - Text has a bound before costly work. The only text a request
//     carries is a phrase: one over MaxPasswordInputBytes is refused
//     (ErrBadPassword) before the store is read or Members asked, and
//     normalized phrases are at most MaxPasswordBytes. Every other input
//     is an ID or a ledger.Money, which package ledger bounds.
//
// Amounts are int64 minor units of the packet's currency inside; no floats
// anywhere. Randomness comes from an io.Reader (crypto/rand by default):
// each packet reads a 32-byte seed from it for its own ChaCha8 stream.
package redpacket
