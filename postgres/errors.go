package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/socialpay/socialpay/errcode"
)

// Errors of this package. Business outcomes are the ledger's own errors
// (ledger.ErrInsufficientFunds…, in ledger.Result.Err); these say that the
// database could not do its part.
var (
	// ErrInvalidConfig: a Config or connection string that cannot work.
	ErrInvalidConfig = errcode.New("invalid_config", errcode.Internal, "postgres: invalid configuration")
	// ErrMigration: the schema could not be brought up to date, or an
	// applied migration differs from the embedded one of the same version.
	ErrMigration = errcode.New("migration_failed", errcode.Internal, "postgres: migration failed")
	// ErrRetriesExhausted: an operation kept failing in a retryable way
	// (serialization failure, deadlock, lost connection) up to
	// Config.MaxAttempts; it wraps the last failure. Whether the last
	// attempt committed is unknown: retry with the same IDs.
	ErrRetriesExhausted = errcode.New("retries_exhausted", errcode.Unavailable, "postgres: retries exhausted")
	// ErrUnavailable: the connection failed or the server is shutting down
	// or starting. The operation may or may not have committed: retry with
	// the same IDs, which is always safe.
	ErrUnavailable = errcode.New("unavailable", errcode.Unavailable, "postgres: database unavailable")
	// ErrIntegrity: the database refused a write the ledger's rules allowed
	// (a constraint or an append-only trigger), or holds a row the ledger
	// cannot read. It means a bug or tampering, never a business outcome.
	ErrIntegrity = errcode.New("integrity_violation", errcode.Internal, "postgres: integrity violation")
)

// errRerun says that state moved between reading and locking (a transfer
// ID or a referenced transfer appeared concurrently): the operation rolls
// back and decides again, so the rules give the idempotent answer.
var errRerun = errors.New("postgres: state changed, decide again")

// SQLSTATEs this package acts on.
const (
	codeSerializationFailure = "40001"
	codeDeadlock             = "40P01"
	codeUniqueViolation      = "23505"
	codeInternal             = "XX000" // how Citus may relay a worker's error
	codeAppendOnly           = "SP001" // raised by the append-only triggers
)

// retryable reports whether err leaves the operation safe to run again.
func retryable(err error) bool {
	if errors.Is(err, errRerun) {
		return true
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case codeSerializationFailure, codeDeadlock:
			return true
		case codeUniqueViolation, codeInternal:
			// Another transaction inserted the same transfer ID after this
			// one looked: decide again, and the rules report it as a
			// duplicate or a conflict.
			return isUniqueViolation(err, "transfers_pkey")
		}
		return connectionLost(pe.Code)
	}
	return isConnectionError(err)
}

// isUniqueViolation reports whether err is a unique violation of the
// named constraint, in the forms PostgreSQL and Citus give it: 23505
// naming the constraint, and on Citus the constraint of a shard, its name
// followed by the shard's number (transfers_pkey_102008), which a
// worker's error relayed by the coordinator may carry in its message
// only, under XX000.
func isUniqueViolation(err error, constraint string) bool {
	name, ok := uniqueViolation(err)
	if !ok {
		return false
	}
	if name == constraint {
		return true
	}
	shard, ok := strings.CutPrefix(name, constraint+"_")
	if !ok || shard == "" {
		return false
	}
	for _, c := range shard {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// uniqueViolation returns the name of the unique constraint err violated,
// if it is a unique violation.
func uniqueViolation(err error) (constraint string, ok bool) {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return "", false
	}
	switch pe.Code {
	case codeUniqueViolation:
		return pe.ConstraintName, true
	case codeInternal:
		const says = `violates unique constraint "`
		_, rest, found := strings.Cut(pe.Message, says)
		if !found {
			return "", false
		}
		name, _, closed := strings.Cut(rest, `"`)
		return name, closed && name != ""
	}
	return "", false
}

// connectionLost reports SQLSTATEs of a server that went away: connection
// exceptions (08), admin/crash shutdown and "cannot connect now" (57P01-3),
// and too many connections (53300).
func connectionLost(code string) bool {
	if len(code) == 5 && code[:2] == "08" {
		return true
	}
	switch code {
	case "57P01", "57P02", "57P03", "53300":
		return true
	}
	return false
}

// isConnectionError reports whether err came from the connection rather
// than from a statement: anything that is not a server error, such as a
// refused dial or a connection closed mid-query.
func isConnectionError(err error) bool {
	var pe *pgconn.PgError
	switch {
	case errors.As(err, &pe):
		return connectionLost(pe.Code)
	case err == nil, errors.Is(err, ErrIntegrity), errors.Is(err, ErrMigration), errors.Is(err, ErrInvalidConfig),
		errors.Is(err, errPoolClosed), errors.Is(err, pgx.ErrNoRows),
		errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return false
	}
	return true
}

// translate maps an error at the package boundary to this package's
// sentinels, keeping the original (and its SQLSTATE) wrapped, and says
// which operation failed.
func translate(op string, err error) error {
	return fmt.Errorf("postgres: %s: %w", op, classify(err))
}

// classify wraps err with the sentinel of its kind, if it has one.
func classify(err error) error {
	var pe *pgconn.PgError
	switch {
	case errors.As(err, &pe) && (pe.Code == codeAppendOnly || (len(pe.Code) == 5 && pe.Code[:2] == "23")),
		isUniqueViolationAny(err):
		return fmt.Errorf("%w: %w", ErrIntegrity, err)
	case errors.Is(err, ErrIntegrity), errors.Is(err, ErrMigration), errors.Is(err, ErrInvalidConfig):
		return err
	case isConnectionError(err):
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	return err
}

// isUniqueViolationAny reports a unique violation of any constraint.
func isUniqueViolationAny(err error) bool {
	_, ok := uniqueViolation(err)
	return ok
}
