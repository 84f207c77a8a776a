// Package ledger is socialpay's double-entry ledger: exact money, accounts,
// transfers (immediate, two-phase, reversals, linked batches), balances with
// history, and verification — the book every red packet, phone transfer and
// QR payment settles on.
//
// # Money
//
// Money is an exact integer count of a currency's minor unit (ISO 4217
// exponent: CNY 2, JPY 0, KWD 3). Decimals appear only at the edges:
// ParseMoney("88.88", "CNY") and Money.Amount. Parsing never rounds and
// arithmetic never wraps.
//
// # Transfers
//
// A Transfer debits one account and credits another of the same currency.
// The client chooses its ID, which is its idempotency key: the same ID and
// content again returns the original and moves nothing; the same ID with
// other content is ErrIdempotencyConflict. A pending transfer reserves funds
// until it is posted (in full or in part), voided, or voided by its timeout
// (ExpirePending); it resolves exactly once. A reversal moves a posted
// transfer's amount back as a new transfer, once. Linked applies transfers
// all or nothing; Batch applies many independent transfers in one unit of
// work, each with its own Result.
//
// # Rules and stores
//
// Every rule is a pure function in this package (ValidateTransfer, Step,
// ApplyBatch, ExpireStep, ApplyAccountEvent, Verifier). A Store only locks,
// loads and persists, and calls these functions with what it holds locked,
// so every store behaves the same; ledgertest.Run checks that. MemoryStore
// is the embedded default; package postgres provides the production store.
//
// # Verification
//
// Each account's entries form a SHA-256 hash chain (each entry commits to
// the account's previous entry), so chains of unrelated accounts never
// share a lock. Verify replays every chain and proves: every entry is in
// place and unedited, every running balance and account balance equals the
// sum of its entries and respects the account's flags, per currency debits
// equal credits, every resolved hold has the one post or void its status
// names, reversals and what they reverse name each other, and pending
// balances equal the open holds. A chain alone
// cannot stop someone who can write the store from rewriting an account's
// history and recomputing every hash; Anchors returns chain heads to keep
// outside the store, and CheckAnchors proves the history up to them
// unchanged.
//
// # Hot accounts
//
// GroupCommit wraps any Store and gathers concurrent transfers into one
// batch per store call: a database commits once per batch, and an account
// that every transfer touches is locked once per batch instead of once per
// transfer.
//
// # Errors
//
// Errors are sentinels (ErrInsufficientFunds, ErrIdempotencyConflict, …)
// wrapped with where they happened: a *TransferError names the transfer
// (index in the request and ID), an *AccountError the account. errors.Is
// sees through both, and errcode.Of reads each sentinel's stable code and
// class ("insufficient_funds", a conflict) through them.
package ledger
