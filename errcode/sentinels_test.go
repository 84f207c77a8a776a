package errcode_test

import (
	"bytes"
	"flag"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode"

	"github.com/socialpay/socialpay/campaign"
	"github.com/socialpay/socialpay/collect"
	"github.com/socialpay/socialpay/errcode"
	"github.com/socialpay/socialpay/ledger"
	"github.com/socialpay/socialpay/points"
	"github.com/socialpay/socialpay/postgres"
	"github.com/socialpay/socialpay/qr"
	"github.com/socialpay/socialpay/redpacket"
	"github.com/socialpay/socialpay/transfer"
	"github.com/socialpay/socialpay/transfer/qrdirectory"
)

var update = flag.Bool("update", false, "rewrite docs/errors.md from the sentinels")

// sentinel is an exported package-level Err… variable of the module, or
// an unexported one declared with errcode.New, as its declaration reads.
type sentinel struct {
	pkg     string // import path relative to the module: "ledger", "transfer/qrdirectory"
	pkgName string // the package clause's name; a command's directory name
	name    string // "ErrSoldOut"
	pos     string // file:line
	alias   string // "ledger.ErrUnknownCurrency" for an alias, else ""
	code    string
	class   string // the errcode constant's name: "Conflict"
	message string
}

func (s *sentinel) String() string { return s.pkg + "." + s.name }

// classes maps the names of errcode's Class constants to their values.
var classes = map[string]errcode.Class{
	"Internal": errcode.Internal, "Invalid": errcode.Invalid, "NotFound": errcode.NotFound,
	"Forbidden": errcode.Forbidden, "Conflict": errcode.Conflict, "RateLimited": errcode.RateLimited,
	"Unavailable": errcode.Unavailable,
}

var snakeCase = regexp.MustCompile(`^[a-z][a-z0-9]*(_[a-z0-9]+)*$`)

// moduleRoot returns the directory holding go.mod and the module path.
func moduleRoot(t *testing.T) (dir, module string) {
	t.Helper()
	dir, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	for {
		b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil {
			for line := range strings.Lines(string(b)) {
				if m, ok := strings.CutPrefix(strings.TrimSpace(line), "module "); ok {
					return dir, strings.Trim(strings.TrimSpace(m), `"`)
				}
			}
			t.Fatalf("%s/go.mod names no module", dir)
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test's directory")
		}
		dir = parent
	}
}

// sentinels parses every non-test Go file of the module and returns its
// exported package-level Err… variables, and the problems of the ones not
// declared with errcode.New (with a literal code, a Class constant and a
// literal message) or as an alias of another sentinel.
func sentinels(t *testing.T) (all []*sentinel, problems []string) {
	t.Helper()
	root, module := moduleRoot(t)
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if p != root && (strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") || name == "testdata" || name == "vendor") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, p, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, filepath.Dir(p))
		if err != nil {
			return err
		}
		pkg := filepath.ToSlash(rel)
		found, bad := fileSentinels(fset, f, module, pkg)
		all, problems = append(all, found...), append(problems, bad...)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return all, problems
}

// fileSentinels reads the sentinels f declares.
func fileSentinels(fset *token.FileSet, f *ast.File, module, pkg string) (found []*sentinel, problems []string) {
	imports := map[string]string{} // local name → path relative to the module, for the module's packages
	for _, spec := range f.Imports {
		p, _ := strconv.Unquote(spec.Path.Value)
		rel, ok := strings.CutPrefix(p, module+"/")
		if !ok {
			continue
		}
		local := path.Base(p)
		if spec.Name != nil {
			local = spec.Name.Name
		}
		imports[local] = rel
	}
	isErrcode := func(x ast.Expr, sel string) (string, bool) {
		s, ok := x.(*ast.SelectorExpr)
		if !ok {
			return "", false
		}
		id, ok := s.X.(*ast.Ident)
		if !ok || imports[id.Name] != "errcode" || (sel != "" && s.Sel.Name != sel) {
			return "", false
		}
		return s.Sel.Name, true
	}
	isErrcodeNew := func(x ast.Expr) bool { _, ok := isErrcode(x, "New"); return ok }
	str := func(x ast.Expr) (string, bool) {
		lit, ok := x.(*ast.BasicLit)
		if !ok || lit.Kind != token.STRING {
			return "", false
		}
		s, err := strconv.Unquote(lit.Value)
		return s, err == nil
	}
	for _, decl := range f.Decls {
		gd, ok := decl.(*ast.GenDecl)
		if !ok || gd.Tok != token.VAR {
			continue
		}
		for _, spec := range gd.Specs {
			vs := spec.(*ast.ValueSpec)
			for i, id := range vs.Names {
				if !isSentinelName(id.Name) {
					// An unexported sentinel with a code reaches callers
					// too (postgres's closed pool): it goes in the table.
					if i >= len(vs.Values) || len(vs.Names) != len(vs.Values) {
						continue
					}
					if call, ok := vs.Values[i].(*ast.CallExpr); !ok || !isErrcodeNew(call.Fun) {
						continue
					}
				}
				p := fset.Position(id.Pos())
				s := &sentinel{pkg: pkg, pkgName: messagePrefix(pkg, f.Name.Name), name: id.Name, pos: fmt.Sprintf("%s:%d", path.Join(pkg, filepath.Base(p.Filename)), p.Line)}
				bad := func(why string) {
					problems = append(problems, fmt.Sprintf("%s: %s: %s", s.pos, s, why))
				}
				if len(vs.Values) != len(vs.Names) {
					bad("no value: declare it with errcode.New(code, class, message)")
					continue
				}
				switch v := vs.Values[i].(type) {
				case *ast.CallExpr:
					if _, ok := isErrcode(v.Fun, "New"); !ok {
						bad("not declared with errcode.New(code, class, message): give it a code and a class")
						continue
					}
					if len(v.Args) != 3 {
						bad("errcode.New needs a code, a class and a message")
						continue
					}
					code, ok1 := str(v.Args[0])
					class, ok2 := isErrcode(v.Args[1], "")
					msg, ok3 := str(v.Args[2])
					if !ok1 || !ok2 || !ok3 {
						bad("errcode.New with other than a literal code, an errcode class constant and a literal message")
						continue
					}
					s.code, s.class, s.message = code, class, msg
				case *ast.Ident: // an alias in the same package
					s.alias = pkg + "." + v.Name
				case *ast.SelectorExpr: // an alias of another package's sentinel
					x, ok := v.X.(*ast.Ident)
					if !ok || imports[x.Name] == "" || !isSentinelName(v.Sel.Name) {
						bad("neither errcode.New nor an alias of a sentinel of the module")
						continue
					}
					s.alias = imports[x.Name] + "." + v.Sel.Name
				default:
					bad("not declared with errcode.New(code, class, message): give it a code and a class")
					continue
				}
				found = append(found, s)
			}
		}
	}
	return found, problems
}

// isSentinelName reports whether name is an exported error variable's
// name by the module's convention: Err followed by an upper-case letter.
func isSentinelName(name string) bool {
	rest, ok := strings.CutPrefix(name, "Err")
	return ok && rest != "" && unicode.IsUpper(rune(rest[0]))
}

// TestEverySentinelHasACode: every exported Err… variable of the module is
// an errcode.New with a snake_case code and a class, or an alias of one;
// its message starts with its package's name; one code has one class
// everywhere; and in one package, two sentinels have two codes. A new
// errors.New sentinel fails here with its file and line.
func TestEverySentinelHasACode(t *testing.T) {
	all, problems := sentinels(t)
	byKey := map[string]*sentinel{}
	for _, s := range all {
		byKey[s.String()] = s
	}
	for _, s := range all {
		if s.alias == "" {
			continue
		}
		target := byKey[s.alias]
		for target != nil && target.alias != "" {
			target = byKey[target.alias]
		}
		if target == nil {
			problems = append(problems, fmt.Sprintf("%s: %s: alias of %s, which is no sentinel of the module", s.pos, s, s.alias))
			continue
		}
		s.code, s.class, s.message = target.code, target.class, target.message
	}
	classOf := map[string]*sentinel{}   // code → first sentinel with it
	inPackage := map[string]*sentinel{} // pkg + code → first own sentinel with it
	for _, s := range all {
		if s.code == "" {
			continue // reported above
		}
		if !snakeCase.MatchString(s.code) {
			problems = append(problems, fmt.Sprintf("%s: %s: code %q is not snake_case", s.pos, s, s.code))
		}
		if _, ok := classes[s.class]; !ok {
			problems = append(problems, fmt.Sprintf("%s: %s: errcode.%s is not a class", s.pos, s, s.class))
		}
		if s.alias != "" {
			continue
		}
		if !strings.HasPrefix(s.message, s.pkgName+": ") {
			problems = append(problems, fmt.Sprintf("%s: %s: message %q does not start with %q", s.pos, s, s.message, s.pkgName+": "))
		}
		if first, ok := classOf[s.code]; ok && first.class != s.class {
			problems = append(problems, fmt.Sprintf("%s: %s: code %q is %s here, %s for %s", s.pos, s, s.code, s.class, first.class, first))
		} else if !ok {
			classOf[s.code] = s
		}
		if first, ok := inPackage[s.pkg+" "+s.code]; ok {
			problems = append(problems, fmt.Sprintf("%s: %s: code %q is %s's already; give each sentinel of a package its own code", s.pos, s, s.code, first))
		} else {
			inPackage[s.pkg+" "+s.code] = s
		}
	}
	for _, p := range problems {
		t.Error(p)
	}
	if len(all) == 0 {
		t.Fatal("no sentinel found")
	}

	// The declarations read from the source are the values the program
	// has, for a sample of the packages, aliases included.
	for key, err := range map[string]error{
		"ledger.ErrInsufficientFunds":       ledger.ErrInsufficientFunds,
		"ledger.ErrInvalidValue":            ledger.ErrInvalidValue,
		"postgres.ErrRetriesExhausted":      postgres.ErrRetriesExhausted,
		"redpacket.ErrSoldOut":              redpacket.ErrSoldOut,
		"campaign.ErrRateLimited":           campaign.ErrRateLimited,
		"collect.ErrRemindTooSoon":          collect.ErrRemindTooSoon,
		"points.ErrPending":                 points.ErrPending,
		"qr.ErrUnknownCurrency":             qr.ErrUnknownCurrency,
		"qr.ErrAmountPrecision":             qr.ErrAmountPrecision,
		"transfer.ErrRateLimited":           transfer.ErrRateLimited,
		"transfer/qrdirectory.ErrNoLimiter": qrdirectory.ErrNoLimiter,
	} {
		s := byKey[key]
		if s == nil {
			t.Errorf("%s not found in the source", key)
			continue
		}
		code, class := errcode.Of(err)
		if code != s.code || class != classes[s.class] || err.Error() != s.message {
			t.Errorf("%s: the program says %s, %v, %q; the source %s, %s, %q", key, code, class, err, s.code, s.class, s.message)
		}
	}

	want := errorsDoc(all)
	root, _ := moduleRoot(t)
	file := filepath.Join(root, "docs", "errors.md")
	if *update {
		if err := os.WriteFile(file, want, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(file)
	if err != nil || !bytes.Equal(got, want) {
		t.Errorf("docs/errors.md is not the table of the sentinels (%v): run go test ./errcode -run TestEverySentinelHasACode -update", err)
	}
}

// errorsDoc returns docs/errors.md: every code, its class, and its
// sentinels.
func errorsDoc(all []*sentinel) []byte {
	type row struct {
		code, class string
		sentinels   []string
	}
	rows := map[string]*row{}
	for _, s := range all {
		if s.code == "" {
			continue
		}
		r := rows[s.code]
		if r == nil {
			r = &row{code: s.code, class: s.class}
			rows[s.code] = r
		}
		name := "`" + s.String() + "`"
		if s.alias != "" {
			name += " (= `" + s.alias + "`)"
		}
		r.sentinels = append(r.sentinels, name)
	}
	codes := make([]string, 0, len(rows))
	for c := range rows {
		codes = append(codes, c)
	}
	slices.Sort(codes)
	var b bytes.Buffer
	b.WriteString(`# Error codes

Every sentinel error of socialpay is an ` + "`*errcode.Error`" + ` with a stable code and a
class. A service answers any error with ` + "`code, class := errcode.Of(err)`" + `: the code
and class of the first sentinel in the error's chain (the outermost, or the
reason an outcome was wrapped around with ` + "`errcode.Because`" + `), or for an error
without one: ` + "`timeout`" + ` (a deadline or a timeout), ` + "`canceled`" + ` (a cancelled
context) or ` + "`unavailable`" + ` (a transient SQLSTATE), all Unavailable, else ` + "`internal`" + `.

| Class | HTTP | Meaning |
|---|---|---|
| Internal | 500 | not the caller's fault, not known to be retryable |
| Invalid | 400 | the request is malformed or out of bounds, whatever the state |
| NotFound | 404 | what the request names does not exist |
| Forbidden | 403 | the caller may not do this |
| Conflict | 409 | the state refuses it (another state may accept it) |
| RateLimited | 429 | try later |
| Unavailable | 503 | transient: retry the same request with the same key |

Generated from the source by ` + "`go test ./errcode -run TestEverySentinelHasACode -update`" + `;
the test fails when this table is out of date or a sentinel has no code.

| Code | Class | Sentinels |
|---|---|---|
`)
	for _, c := range codes {
		r := rows[c]
		fmt.Fprintf(&b, "| `%s` | %s | %s |\n", r.code, r.class, strings.Join(r.sentinels, ", "))
	}
	return b.Bytes()
}

// messagePrefix is the name a package's messages start with: its package
// clause's, or for a command (package main) its directory's.
func messagePrefix(dir, name string) string {
	if name == "main" {
		return path.Base(dir)
	}
	return name
}
