package postgres

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/socialpay/socialpay/campaign"
	"github.com/socialpay/socialpay/cell"
	"github.com/socialpay/socialpay/collect"
	"github.com/socialpay/socialpay/ledger"
	"github.com/socialpay/socialpay/points"
	"github.com/socialpay/socialpay/redpacket"
	"github.com/socialpay/socialpay/transfer"
)

// A status or kind compared with a number: status = 1, state in (0, 4),
// kind between 1 and 5, when 1 then.
var (
	sqlNumberInGo        = regexp.MustCompile(`(?i)\b(status|state|kind|arrival|side)\s*(=|<>|!=|<=|>=|<|>|(not\s+)?in\s*\(|between)\s*\d|\bwhen\s+\d+\s+then\b`)
	sqlNumberInMigration = regexp.MustCompile(
		`(?i)\b(status|state|kind|arrival|side)\s*(=|<>|!=|<=|>=|<|>|\b(NOT\s+)?IN\b|\bBETWEEN\b)\s*(\(\s*\d+(\s*,\s*\d+)*\s*\)|\d+(\s+AND\s+\d+)?)`)
)

// The statements of this package write statuses and kinds from their Go
// constants (sqlInts), never as numbers of their own.
func TestSQLNumbersAreConstants(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	checked := 0
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			lit, ok := n.(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				return true
			}
			s, err := strconv.Unquote(lit.Value)
			if err != nil {
				t.Fatalf("%v: %v", fset.Position(lit.Pos()), err)
			}
			checked++
			if m := sqlNumberInGo.FindString(s); m != "" {
				t.Errorf("%v: %q: a number written by hand; write the Go constant with sqlInts", fset.Position(lit.Pos()), m)
			}
			return true
		})
	}
	if checked < 100 {
		t.Fatalf("only %d string literals checked", checked)
	}
}

// The numbers the migrations hold (checks, partial indexes, triggers) are
// the Go constants' values: a constant whose value changed would make the
// database refuse its rows, or index and freeze the wrong ones, and rows
// already stored hold the old value. Migrations are never edited, so each
// number is named here by file and line; a number in a new migration
// fails the test until it is named.
func TestMigrationNumbersAreConstants(t *testing.T) {
	want := map[string][]struct {
		format string
		args   []any
	}{}
	add := func(file string, line int, format string, args ...any) {
		k := fmt.Sprintf("%s:%d", file, line)
		want[k] = append(want[k], struct {
			format string
			args   []any
		}{format, args})
	}

	const l = "0001_ledger.sql"
	add(l, 19, "status BETWEEN %d AND %d", ledger.AccountOpen, ledger.AccountClosed)
	add(l, 29, "status = %d", ledger.AccountClosed)
	add(l, 37, "kind BETWEEN %d AND %d", ledger.KindImmediate, ledger.KindReversal)
	add(l, 52, "status BETWEEN %d AND %d", ledger.StatusCommitted, ledger.StatusExpired)
	add(l, 56, "kind IN (%d, %d)", ledger.KindPostPending, ledger.KindVoidPending)
	add(l, 57, "kind = %d", ledger.KindReversal)
	add(l, 58, "kind = %d", ledger.KindPending)
	add(l, 58, "status <> %d", ledger.StatusCommitted)
	add(l, 59, "kind = %d", ledger.KindPending)
	add(l, 66, "status = %d", ledger.StatusPending)
	add(l, 72, "kind BETWEEN %d AND %d", ledger.EntryPosted, ledger.EntryClose)
	add(l, 73, "side BETWEEN %d AND %d", ledger.SideNone, ledger.SideCredit)
	add(l, 84, "kind <= %d", ledger.EntryExpire) // the kinds of a transfer's entries
	add(l, 118, "status = %d", ledger.StatusPending)
	add(l, 118, "status IN (%d, %d, %d)", ledger.StatusPosted, ledger.StatusVoided, ledger.StatusExpired)
	add(l, 133, "status = %d", ledger.AccountClosed)
	add(l, 133, "status <> %d", ledger.AccountClosed)

	const rp, rpHash, rpReason = "0100_redpacket.sql", "0102_redpacket_password_hash.sql", "0103_redpacket_cancel_reason.sql"
	add(rp, 12, "kind BETWEEN %d AND %d", redpacket.Lucky, redpacket.Password)
	add(rp, 28, "status BETWEEN %d AND %d", redpacket.StatusFunding, redpacket.StatusCancelled)
	add(rp, 36, "status IN (%d, %d)", redpacket.StatusSoldOut, redpacket.StatusRefunded)
	add(rp, 40, "status IN (%d, %d)", redpacket.StatusOpen, redpacket.StatusRefunding)
	add(rp, 42, "status <> %d", redpacket.StatusCancelled)
	add(rpHash, 24, "kind = %d", redpacket.Password)
	add(rpHash, 26, "kind = %d", redpacket.Password)
	add(rpReason, 12, "status = %d", redpacket.StatusCancelled)

	const tr, trFailing, trUUID = "0200_transfer.sql", "0201_transfer_failing.sql", "0202_transfer_users_uuid.sql"
	add(tr, 38, "arrival BETWEEN %d AND %d", transfer.ArriveNow, transfer.ArriveOnAccept)
	add(tr, 45, "state BETWEEN %d AND %d", transfer.StatePending, transfer.StateFailed) // replaced by 0201's
	add(tr, 51, "state = %d", transfer.StatePending)
	add(tr, 52, "state IN (%d, %d)", transfer.StateCancelled, transfer.StateFailed) // replaced by 0201's
	add(tr, 58, "state = %d", transfer.StatePending)                                // replaced by 0201's
	add(tr, 59, "state = %d", transfer.StatePending)
	add(tr, 59, "arrival IN (%d, %d)", transfer.Arrive2h, transfer.Arrive24h)
	add(tr, 60, "state = %d", transfer.StatePending)
	add(tr, 60, "arrival = %d", transfer.ArriveOnAccept)
	add(tr, 104, "state <> %d", transfer.StatePending) // replaced by 0201's
	add(trFailing, 14, "state BETWEEN %d AND %d", transfer.StatePending, transfer.StateFailing)
	add(trFailing, 16, "state IN (%d, %d, %d)", transfer.StateCancelled, transfer.StateFailed, transfer.StateFailing)
	add(trFailing, 19, "state IN (%d, %d)", transfer.StatePending, transfer.StateFailing)
	for _, f := range []struct {
		file string
		line int
	}{{trFailing, 35}, {trUUID, 68}} { // 0202 replaces 0201's trigger with the same rule
		add(f.file, f.line, "state = %d", transfer.StatePending)
		add(f.file, f.line+1, "state = %d", transfer.StateFailing)
		add(f.file, f.line+1, "state IN (%d, %d)", transfer.StateFailed, transfer.StateFailing)
	}

	const cp = "0400_campaign.sql"
	add(cp, 32, "status BETWEEN %d AND %d", campaign.StatusFunding, campaign.StatusCancelled)
	add(cp, 42, "status = %d", campaign.StatusSwept)
	add(cp, 46, "status <> %d", campaign.StatusCancelled)

	const pt = "0500_points.sql"
	add(pt, 39, "kind BETWEEN %d AND %d", points.KindEarn, points.KindExpire)
	add(pt, 60, "status BETWEEN %d AND %d", points.StatusPending, points.StatusFailed)
	add(pt, 66, "status = %d", points.StatusPending)

	const co = "0600_collect.sql"
	add(co, 22, "status BETWEEN %d AND %d", collect.StatusOpen, collect.StatusExpired)
	add(co, 45, "status = %d", collect.StatusOpen)
	add(co, 49, "status = %d", collect.StatusOpen)
	add(co, 51, "status <> %d", collect.StatusOpen)

	const ce = "0800_cell_payments.sql"
	add(ce, 17, "state BETWEEN %d AND %d", cell.StateOpen, cell.StateReversed)
	add(ce, 21, "state = %d", cell.StateOpen)
	add(ce, 25, "state = %d", cell.StateOpen)
	add(ce, 46, "state <> %d", cell.StateOpen)

	files, err := filepath.Glob("migrations/*.sql")
	if err != nil || len(files) == 0 {
		t.Fatalf("migrations: %v, %v", files, err)
	}
	seen := map[string]bool{}
	for _, path := range files {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.Split(string(b), "\n") {
			line, _, _ = strings.Cut(line, "--")
			k := fmt.Sprintf("%s:%d", filepath.Base(path), i+1)
			var got, exp []string
			for _, m := range sqlNumberInMigration.FindAllString(line, -1) {
				got = append(got, strings.Join(strings.Fields(m), " "))
			}
			for _, w := range want[k] {
				exp = append(exp, fmt.Sprintf(w.format, w.args...))
			}
			seen[k] = true
			if strings.Join(got, "; ") != strings.Join(exp, "; ") {
				t.Errorf("%s: the migration has %q, the Go constants make %q", k, got, exp)
			}
		}
	}
	for k := range want {
		if !seen[k] {
			t.Errorf("%s: no such migration line", k)
		}
	}
}

// The ranges the migrations' checks allow end at the last constant of
// each type: a constant added after it would be refused by the database.
func TestMigrationRangesEndAtLastConstant(t *testing.T) {
	for _, tc := range []struct {
		name       string
		next, far  fmt.Stringer // the value after the last constant, and one far beyond
		nextNumber int
	}{
		{"ledger.AccountStatus", ledger.AccountClosed + 1, ledger.AccountStatus(200), int(ledger.AccountClosed + 1)},
		{"ledger.TransferKind", ledger.KindReversal + 1, ledger.TransferKind(200), int(ledger.KindReversal + 1)},
		{"ledger.TransferStatus", ledger.StatusExpired + 1, ledger.TransferStatus(200), int(ledger.StatusExpired + 1)},
		{"ledger.EntryKind", ledger.EntryClose + 1, ledger.EntryKind(200), int(ledger.EntryClose + 1)},
		{"ledger.Side", ledger.SideCredit + 1, ledger.Side(200), int(ledger.SideCredit + 1)},
		{"redpacket.Kind", redpacket.Password + 1, redpacket.Kind(200), int(redpacket.Password + 1)},
		{"redpacket.Status", redpacket.StatusCancelled + 1, redpacket.Status(200), int(redpacket.StatusCancelled + 1)},
		{"transfer.Arrival", transfer.ArriveOnAccept + 1, transfer.Arrival(200), int(transfer.ArriveOnAccept + 1)},
		{"transfer.State", transfer.StateFailing + 1, transfer.State(200), int(transfer.StateFailing + 1)},
		{"campaign.Status", campaign.StatusCancelled + 1, campaign.Status(200), int(campaign.StatusCancelled + 1)},
		{"points.Kind", points.KindExpire + 1, points.Kind(200), int(points.KindExpire + 1)},
		{"points.Status", points.StatusFailed + 1, points.Status(200), int(points.StatusFailed + 1)},
		{"collect.Status", collect.StatusExpired + 1, collect.Status(200), int(collect.StatusExpired + 1)},
		{"cell.State", cell.StateReversed + 1, cell.State(200), int(cell.StateReversed + 1)},
	} {
		// An unknown value's name is the far one's, with its number.
		if got, unknown := tc.next.String(), strings.ReplaceAll(tc.far.String(), "200", strconv.Itoa(tc.nextNumber)); got != unknown {
			t.Errorf("%s %d is %q: a constant after the migration's range", tc.name, tc.nextNumber, got)
		}
	}
}
