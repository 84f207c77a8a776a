// Package cell runs a bank on many ledgers, "cells", and pays between
// them. Each user's accounts live in exactly one cell; a cell is one
// ledger.Ledger with the features' records beside it (on PostgreSQL, one
// schema: postgres.DB.WithSchema; on Citus, a distributed schema placed on
// one node). Most payments stay within one cell and are one ledger
// transfer; the rest are settled between two cells by Cells.Pay.
//
// # Routing
//
// Router maps a user's ID to a cell by rendezvous hashing over the cells'
// names: derived from the ID and the names alone, the same in every
// process, and stable (adding a cell moves only the users it takes over).
// A bank fixes its cells up front, more of them than servers, and grows by
// moving whole cells to new servers: the routing never changes.
//
// # Payments between cells
//
// A payment between cells uses the ledger's own two-phase transfers under
// IDs derived from the payment's ID: it is recorded in the payer's cell
// (Store, the coordinator's log), a pending transfer holds the money in
// the payer's cell against a clearing account, a transfer from the payee
// cell's clearing account credits the payee, and the hold is posted; on
// PostgreSQL the record and the hold are one transaction, and so are the
// post and the outcome (three commits in all). A
// refused credit voids the hold. A refused or abandoned step is fenced by a
// tombstone under its ID, so that no copy of it in flight can land later;
// whoever writes a step's ID first decides it. Any number of duplicate
// calls, crashes at any step and Reconcile (safe on every instance at
// once; Maintain runs it for package maintain) drive each payment to one
// end: completed, failed or reversed.
//
// # Red packets across cells
//
// Packets puts a redpacket.Service in each cell: a packet lives in its
// sender's cell. A claimer of another cell is paid there by a normal
// claim, to an inbound account of the cell layer's, and the share is
// forwarded to the claimer's wallet by Pay under an ID derived from the
// packet and the claimer; a record written before the claim lets
// Packets.Reconcile forward a share a crash left behind.
//
// CheckClearing, beside each ledger's Verify, checks that the clearing
// accounts balance across cells: at every instant, without a snapshot
// across cells, no payee is credited what no payer's cell holds or
// posted, and no payer's cell posts before its payee is credited; once no
// payment is in flight the clearing accounts net to zero.
//
// celltest is the suite every pair of stores passes: MemoryStore with
// ledger.MemoryStore, postgres.CellStore with postgres.LedgerStore, on plain
// PostgreSQL and on Citus. docs/scaling.md has the measured costs.
package cell
